// The request flow: listen → key → look up → decide → (serve | revalidate | forward) → store → respond.
// Upstream responses are handled by the Exchange sink (exchange.ts); this file decides.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { BlockList } from 'node:net'
import { randomUUID } from 'node:crypto'
import type { Config } from '../config/schema.ts'
import { parseCacheControl, pragmaNoCache, type CacheControl } from '../http/cache-control.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { appendMember } from '../http/fields.ts'
import { shouldAnswer304, ifRangeMatches } from '../http/conditional.ts'
import { evaluateRange } from '../http/range.ts'
import { decide, currentAge, staleIfErrorAllowed, staleForbidden } from '../cache/policy.ts'
import { primaryKey } from '../cache/key.ts'
import type { HttpCache, Lookup } from '../cache/cache.ts'
import type { StoredResponse, EntryOptions } from '../cache/entry.ts'
import { Router, keyPath, type ResolvedRoute } from './router.ts'
import { Collapser, type Flight } from './collapse.ts'
import { cacheStatus, sendError, type Forward } from './respond.ts'
import { Exchange } from './exchange.ts'
import type { ErrorCode } from '../errors.ts'

/** One access-log record. */
export interface AccessRecord {
  /** the client's X-Request-Id, or a new random id */
  id: string
  method: string
  url: string
  host: string
  status: number
  /** our Cache-Status member */
  cache: string
  /** body bytes sent to the client */
  bytes: number
  /** ms from arrival to the last byte handed to the socket */
  ms: number
  /** ms until the upstream response head arrived, when the request went upstream */
  upstreamMs?: number
}

/** Where access-log records go. */
export type AccessLog = (r: AccessRecord) => void

/** How a request was answered, for metrics. */
export type ServedKind =
  /** a fresh (or client-accepted stale) stored response */
  | 'hit'
  /** a stale stored response: stale-while-revalidate or stale-if-error */
  | 'stale'
  /** a stored response validated by the origin (304 folded) */
  | 'revalidated'
  /** fetched from the origin for the cache (stored or not) */
  | 'miss'
  /** passed through without the cache (unsafe method, bypass, Range) */
  | 'pass'
  /** answered from another request's upstream exchange */
  | 'collapsed'
  /** answered with an error of freshgate's own (502/504/400) */
  | 'error'

/** Receives measurements; the metrics module implements it. Calls are cheap and synchronous. */
export interface Observer {
  /** a response was sent to a client */
  served (kind: ServedKind, status: number): void
  /** an upstream response head arrived after `seconds` */
  upstream (status: number, seconds: number): void
  /** an upstream exchange failed */
  upstreamError (code: ErrorCode): void
}

/** Everything a request needs to know about itself; one allocation per request. */
export interface Ctx {
  req: IncomingMessage
  /** undefined for background revalidations, which have no client */
  res: ServerResponse | undefined
  method: string
  /** path with query, as sent upstream */
  path: string
  host: string
  key: string
  /** the route taken (undefined only while answering FG_NO_ROUTE / FG_BAD_REQUEST) */
  route: ResolvedRoute
  /** performance.now() at arrival */
  start: number
  /** body bytes sent to the client (for the access log) */
  bytes: number
  /** ms until the upstream head arrived, when the request went upstream */
  upstreamMs: number | undefined
  /** the request was logged and counted (once only) */
  logged: boolean
  reqCC: CacheControl
  pragma: boolean
}

/** If-Range absent, or present and matching (RFC 9110 §13.1.5); a repeated field never matches. */
function ifRangeAllows (ifRange: string | string[] | undefined, entry: StoredResponse): boolean {
  return ifRange === undefined || (typeof ifRange === 'string' && ifRangeMatches(ifRange, entry))
}

/** Adds an address or CIDR range ("10.0.0.0/8", "::1") to a BlockList. */
export function addToBlockList (list: BlockList, entry: string): void {
  const [addr, bits] = entry.split('/')
  const family = addr!.includes(':') ? 'ipv6' : 'ipv4'
  if (bits === undefined) list.addAddress(addr!, family)
  else list.addSubnet(addr!, Number(bits), family)
}

/** Cache-Status parts of a plain hit. */
const HIT: CacheStatusParts = Object.freeze({ hit: true })

/** Classifies a stored response being served. */
function servedKind (cs: CacheStatusParts, ttl: number): ServedKind {
  if (cs.collapsed === true) return 'collapsed'
  if (cs.fwdStatus === 304) return 'revalidated'
  if (cs.detail !== undefined || ttl <= 0) return 'stale'
  return cs.hit === true ? 'hit' : 'miss'
}


/** Conditional fields a cache replaces with its own when it fills or revalidates (RFC 9111 §4.3.1). */
const CLIENT_CONDITIONALS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'])

const EMPTY_CC = parseCacheControl(undefined)

/** Services the exchange needs from the handler. */
export interface Services {
  readonly config: Config
  readonly cache: HttpCache | undefined
  readonly collapser: Collapser | undefined
  readonly clock: () => number
  readonly entryOptions: EntryOptions
  serveStored (ctx: Ctx, entry: StoredResponse, now: number, cs: CacheStatusParts): void
  fail (ctx: Ctx, code: ErrorCode, entry: StoredResponse | undefined, fwd: Forward, detail?: string): void
  readonly observer: Observer | undefined
  logDone (ctx: Ctx, status: number, cache: string, kind: ServedKind): void
  exchange (ctx: Ctx, entry: StoredResponse | undefined, fwd: Forward, flight: Flight | undefined, fill?: boolean): void
}

/** Cache-Status parameters for a stored response being served. */
export interface CacheStatusParts {
  hit?: boolean
  fwd?: Forward
  fwdStatus?: number
  stored?: boolean
  collapsed?: boolean
  detail?: string
}

/** The proxy's request handler. */
export class ProxyHandler implements Services {
  // Set by #apply (constructor and reload).
  config!: Config
  readonly cache: HttpCache | undefined
  readonly collapser: Collapser | undefined
  readonly clock: () => number
  entryOptions!: EntryOptions
  readonly observer: Observer | undefined
  readonly #accessLog: AccessLog | undefined
  #router: Router
  #defaultHost!: string
  #purgeAllow!: BlockList
  /** "<name>; hit; ttl=" */
  #hitStatus = ''

  constructor (config: Config, cache: HttpCache | undefined, clock: () => number, accessLog: AccessLog | undefined, observer?: Observer) {
    this.cache = cache
    this.clock = clock
    this.#accessLog = accessLog
    this.observer = observer
    this.collapser = config.collapse.enabled ? new Collapser(config.collapse.waitTimeout, config.collapse.hitForMiss) : undefined
    this.#router = new Router(config)
    this.#apply(config)
  }

  /** Takes over a config and the settings derived from it. */
  #apply (config: Config): void {
    this.config = config
    this.#defaultHost = config.origin === undefined ? 'localhost' : new URL(config.origin).host
    this.#hitStatus = `${config.cacheName}; hit; ttl=`
    this.entryOptions = {
      heuristicFraction: config.cache.heuristicFraction,
      heuristicMaxAge: config.cache.heuristicMaxAge,
      setCookie: config.cache.setCookie,
      stripFields: config.tags.strip ? [...config.cache.stripTargets, ...config.tags.headers] : config.cache.stripTargets,
      via: `1.1 ${config.cacheName}`
    }
    this.#purgeAllow = new BlockList()
    for (const a of config.purge.allow) addToBlockList(this.#purgeAllow, a)
  }

  /**
   * Applies a reloaded config: routes, cache rules, timeouts and purge settings take effect for
   * new requests; in-flight requests finish with the settings they started with. Settings that
   * shape the listener, the store or the pools need a restart (see cli.ts).
   */
  async reconfigure (config: Config): Promise<void> {
    const old = this.#router
    this.#router = new Router(config, old.pools())
    this.#apply(config)
    await old.close(this.#router)
  }

  /** Closes every upstream pool. */
  async close (): Promise<void> {
    await this.#router.close()
  }

  /** node:http 'request' listener. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now()
    const method = req.method ?? 'GET'
    let path = req.url ?? '/'
    let host = req.headers.host
    if (path.charCodeAt(0) !== 0x2f /* / */ && path !== '*') {
      // absolute-form request target (RFC 9112 §3.2.2): the authority replaces Host.
      try {
        const u = new URL(path)
        path = u.pathname + u.search
        host = u.host
      } catch {
        path = ''
      }
    }
    if (host === undefined || host === '') host = this.#defaultHost
    const route = path === '' || path === '*' ? undefined : this.#router.match(host, path)
    const ctx = this.#ctx(req, res, method, path, host, start, route)
    if (path === '*') {
      // OPTIONS * asks about the server itself (RFC 9110 §9.3.7): freshgate answers it.
      res.writeHead(method === 'OPTIONS' ? 204 : 400, { allow: 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS', 'content-length': '0' })
      res.end()
    } else if (route === undefined) {
      this.fail(ctx, path === '' ? 'FG_BAD_REQUEST' : 'FG_NO_ROUTE', undefined, 'bypass')
    } else if (method === 'PURGE') {
      this.#purge(ctx).catch(err => this.#crash(ctx, err))
    } else if ((method === 'GET' || method === 'HEAD') && this.cache !== undefined && route.route.cache.enabled) {
      this.#cached(ctx)
    } else {
      this.exchange(ctx, undefined, this.cache === undefined || !route.route.cache.enabled ? 'bypass' : 'method', undefined)
    }
  }

  #ctx (req: IncomingMessage, res: ServerResponse | undefined, method: string, path: string, host: string, start: number, route: ResolvedRoute | undefined): Ctx {
    const cc = req.headers['cache-control']
    return {
      req,
      res,
      method,
      path,
      host,
      route: route!,
      key: route === undefined ? '' : primaryKey('http', host, keyPath(path, route.route.cache)),
      start,
      bytes: 0,
      upstreamMs: undefined,
      logged: false,
      reqCC: cc === undefined ? EMPTY_CC : parseCacheControl(cc, 'ignore'),
      pragma: pragmaNoCache(req.headers.pragma, cc)
    }
  }

  /**
   * PURGE <url> (the Squid/Varnish convention): removes every variant of the URL. Refused with 405
   * unless enabled and the client address is allowed.
   */
  async #purge (ctx: Ctx): Promise<void> {
    const res = ctx.res!
    const ip = ctx.req.socket.remoteAddress ?? ''
    const family = ip.includes(':') ? 'ipv6' : 'ipv4'
    if (!this.config.purge.method || this.cache === undefined || !this.#purgeAllow.check(ip.replace(/^::ffff:/, ''), ip.startsWith('::ffff:') ? 'ipv4' : family)) {
      const body = 'PURGE is not allowed\n'
      res.writeHead(405, { allow: 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS', 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) })
      res.end(body)
      return this.logDone(ctx, 405, '', 'error')
    }
    const n = await this.cache.purge(ctx.key, this.config.purge.soft, this.clock())
    const body = JSON.stringify({ purged: n, url: ctx.key, soft: this.config.purge.soft }) + '\n'
    res.writeHead(n > 0 ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
    res.end(body)
    this.logDone(ctx, n > 0 ? 200 : 404, '', 'pass')
  }

  /** GET and HEAD: look up, decide, serve or go upstream. */
  #cached (ctx: Ctx): void {
    const h = ctx.req.headers
    // "A cache MUST NOT evaluate conditional header fields that only apply to an origin server"
    // (RFC 9111 §4.3.2): such requests go to the origin as they are.
    if (h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined) {
      this.exchange(ctx, undefined, 'request', undefined, false)
      return
    }
    // The memory store answers synchronously: the hit path allocates no promise.
    const found = this.cache!.lookup(ctx.key, h)
    if (found instanceof Promise) {
      found.then(f => this.#decide(ctx, f)).catch(err => this.#crash(ctx, err))
      return
    }
    try {
      this.#decide(ctx, found)
    } catch (err) {
      this.#crash(ctx, err)
    }
  }

  /** Decides what to do with the lookup result (RFC 9111 §4). */
  #decide (ctx: Ctx, found: Lookup): void {
    const h = ctx.req.headers
    const entry = found.entry
    const now = this.clock()
    // RFC 9111 §3.5: a request with Authorization is answered from the cache only by a response
    // that explicitly allowed shared caching.
    if (entry !== undefined && h.authorization !== undefined && !(entry.cc.public || entry.cc.sMaxAge !== undefined || entry.cc.mustRevalidate)) {
      this.#forward(ctx, entry, 'request').catch(err => this.#crash(ctx, err))
      return
    }
    if (entry !== undefined) {
      const d = decide(entry, ctx.reqCC, ctx.pragma, now)
      if (d === 'fresh' || d === 'stale-ok') return this.serveStored(ctx, entry, now, HIT)
      // §5.2.1.7: only-if-cached never goes forward.
      if (ctx.reqCC.onlyIfCached) return this.fail(ctx, 'FG_ONLY_IF_CACHED', undefined, 'stale')
      if (d === 'stale-while-revalidate') {
        this.serveStored(ctx, entry, now, { hit: true, detail: 'stale-while-revalidate' })
        this.#background(ctx, entry, 'stale')
        return
      }
      const fwd: Forward = ctx.reqCC.noCache || ctx.pragma || ctx.reqCC.maxAge !== undefined || ctx.reqCC.minFresh !== undefined ? 'request' : 'stale'
      this.#forward(ctx, entry, fwd).catch(err => this.#crash(ctx, err))
      return
    }
    const fwd: Forward = found.hasVariants ? 'vary-miss' : 'uri-miss'
    if (ctx.reqCC.onlyIfCached) return this.fail(ctx, 'FG_ONLY_IF_CACHED', undefined, fwd)
    if (h.range !== undefined && ctx.method === 'GET') {
      // A Range miss goes to the origin as it is, so the origin answers the range; when configured,
      // the whole representation is fetched in the background to fill the cache.
      this.exchange(ctx, undefined, fwd, undefined, false)
      if (this.config.cache.rangeFill) this.#background(ctx, undefined, fwd)
      return
    }
    this.#forward(ctx, undefined, fwd).catch(err => this.#crash(ctx, err))
  }

  /** Goes upstream for a GET/HEAD, joining or leading a collapsed flight where allowed. */
  async #forward (ctx: Ctx, entry: StoredResponse | undefined, fwd: Forward): Promise<void> {
    const collapser = this.collapser
    // HEAD is forwarded as HEAD (it can freshen, never fill); requests with Authorization or
    // directives demanding an end-to-end answer neither wait for nor lead a collapsed flight.
    if (collapser === undefined || ctx.method !== 'GET' || fwd === 'request' || ctx.req.headers.authorization !== undefined || ctx.reqCC.noStore) {
      this.exchange(ctx, entry, fwd, undefined)
      return
    }
    const now = this.clock()
    const running = collapser.joinable(ctx.key, now)
    if (running === undefined) {
      this.exchange(ctx, entry, fwd, collapser.lead(ctx.key, now))
      return
    }
    // A waiter whose client goes away stops waiting at once (the flight goes on for the others).
    const gone = new AbortController()
    const onClose = (): void => gone.abort()
    ctx.res?.once('close', onClose)
    const outcome = await collapser.wait(running, gone.signal)
    ctx.res?.off('close', onClose)
    if (ctx.res?.destroyed === true) return
    if (outcome.kind === 'stored') {
      let again = this.cache!.lookup(ctx.key, ctx.req.headers)
      if (again instanceof Promise) again = await again
      const later = this.clock()
      if (again.entry !== undefined) {
        // A response received after this request arrived answers it as a forwarded request
        // would have been answered, even when it is stale on arrival (max-age=0, no-cache):
        // that is what lets concurrent revalidations collapse.
        const d = again.entry.responseTime >= now ? 'fresh' : decide(again.entry, ctx.reqCC, ctx.pragma, later)
        if (d === 'fresh' || d === 'stale-ok') {
          return this.serveStored(ctx, again.entry, later, { fwd, fwdStatus: again.entry.status, collapsed: true })
        }
      }
    } else if (outcome.kind === 'failed') {
      return this.fail(ctx, outcome.code, entry, fwd, 'collapsed')
    }
    // Released (not storable, timed out) or not usable for this request: go upstream alone.
    this.exchange(ctx, entry, fwd, undefined)
  }

  /** A background fetch with no client: stale-while-revalidate (RFC 5861 §3) or a Range fill; one per key. */
  #background (ctx: Ctx, entry: StoredResponse | undefined, fwd: Forward): void {
    // Like #forward: requests whose own headers rule out storing do not fetch for everyone.
    if (ctx.req.headers.authorization !== undefined || ctx.reqCC.noStore) return
    const now = this.clock()
    const flight = this.collapser?.lead(ctx.key, now)
    if (this.collapser !== undefined && flight === undefined) return
    const bg: Ctx = { ...ctx, res: undefined, method: 'GET' }
    this.exchange(bg, entry, fwd, flight)
  }

  /** Starts one upstream exchange and streams its response (exchange.ts). */
  exchange (ctx: Ctx, entry: StoredResponse | undefined, fwd: Forward, flight: Flight | undefined, fill = true): void {
    const cacheable = fill && ctx.method === 'GET' && this.cache !== undefined && fwd !== 'method' && fwd !== 'bypass'
    new Exchange(this, ctx, entry, fwd, flight, cacheable).start(this.upstreamHeaders(ctx, cacheable))
  }

  /**
   * Request fields sent upstream: the client's without hop-by-hop fields (RFC 9110 §7.6.1), with
   * Via and X-Forwarded-* added. When the cache fills or revalidates, the client's conditionals
   * and Range are replaced by the cache's own (RFC 9111 §4.3.1).
   */
  upstreamHeaders (ctx: Ctx, fill: boolean): Record<string, string | string[]> {
    const src = ctx.req.headers
    const drop = hopByHopFor(src.connection)
    const out: Record<string, string | string[]> = {}
    for (const name in src) {
      const v = src[name]
      if (v === undefined || drop.has(name) || name === 'expect' || name === 'via' || name === 'x-forwarded-for' || name === 'host') continue
      if (fill && CLIENT_CONDITIONALS.has(name)) continue
      out[name] = v
    }
    out.host = this.config.hostHeader === 'origin' ? ctx.route.originHost : ctx.host
    const ip = ctx.req.socket.remoteAddress ?? ''
    out['x-forwarded-for'] = appendMember(src['x-forwarded-for'], ip)
    out['x-forwarded-proto'] = 'http'
    out['x-forwarded-host'] = ctx.host
    const via = `${ctx.req.httpVersion} ${this.config.cacheName}`
    out.via = appendMember(src.via, via)
    return out
  }

  /**
   * Serves a stored response: a 304 when the client's validators match (RFC 9110 §13.2.2; only
   * for 2xx, §13.2.1), else the stored status, headers and body (none for HEAD), with Age.
   */
  serveStored (ctx: Ctx, entry: StoredResponse, now: number, cs: CacheStatusParts): void {
    const res = ctx.res
    if (res === undefined || res.destroyed) return
    const age = currentAge(entry, now)
    // The plain hit builds its Cache-Status without the general formatter.
    const status = cs === HIT && !this.config.debug
      ? this.#hitStatus + Math.floor((entry.lifetime - age) / 1000)
      : cacheStatus(this.config.cacheName, { ...cs, ttl: entry.lifetime - age, key: this.config.debug ? ctx.key : undefined })
    const h = ctx.req.headers
    const inm = h['if-none-match']
    const ims = h['if-modified-since']
    let code = entry.status
    if ((inm !== undefined || ims !== undefined) && code >= 200 && code < 300 &&
        shouldAnswer304({ ifNoneMatch: inm, ifModifiedSince: ims }, entry)) {
      code = 304
      const head = entry.head304.slice()
      head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
      res.writeHead(304, head)
      res.end()
    } else if (h.range !== undefined && code === 200 && ctx.method === 'GET' && ifRangeAllows(h['if-range'], entry)) {
      code = this.#serveRange(ctx, res, entry, h.range, age, status)
    } else {
      const head = entry.head.slice()
      head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
      res.writeHead(code, entry.statusMessage, head)
      if (ctx.method === 'HEAD') res.end()
      else {
        res.end(entry.body)
        ctx.bytes = entry.body.length
      }
    }
    this.logDone(ctx, code, status, servedKind(cs, entry.lifetime - age))
  }

  /**
   * Answers a single byte range from a complete stored 200 (RFC 9110 §14.2): 206 with
   * Content-Range, 416 when unsatisfiable, the whole response for anything else.
   */
  #serveRange (ctx: Ctx, res: ServerResponse, entry: StoredResponse, range: string, age: number, status: string): number {
    const len = entry.body.length
    const r = evaluateRange(range, len)
    const head: string[] = []
    for (let i = 0; i < entry.head.length; i += 2) {
      if (entry.head[i] !== 'content-length') head.push(entry.head[i]!, entry.head[i + 1]!)
    }
    head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
    if (r.kind === 'full') {
      head.push('content-length', String(len))
      res.writeHead(200, entry.statusMessage, head)
      res.end(entry.body)
      ctx.bytes = len
      return 200
    }
    if (r.kind === 'unsatisfiable') {
      head.push('content-range', `bytes */${len}`, 'content-length', '0')
      res.writeHead(416, head)
      res.end()
      return 416
    }
    head.push('content-range', `bytes ${r.start}-${r.end}/${len}`, 'content-length', String(r.end - r.start + 1))
    res.writeHead(206, head)
    res.end(entry.body.subarray(r.start, r.end + 1))
    ctx.bytes = r.end - r.start + 1
    return 206
  }

  /** Answers an upstream failure: stale-if-error when allowed, else a coded error response. */
  fail (ctx: Ctx, code: ErrorCode, entry: StoredResponse | undefined, fwd: Forward, detail?: string): void {
    if (ctx.res === undefined) return
    const now = this.clock()
    if (entry !== undefined && code !== 'FG_ONLY_IF_CACHED' && code !== 'FG_BAD_REQUEST') {
      if (staleIfErrorAllowed(entry, ctx.reqCC, this.config.cache.staleIfErrorGrace, now)) {
        return this.serveStored(ctx, entry, now, { fwd, detail: 'stale-if-error' })
      }
      // RFC 9111 §4.3.3 / §5.2.2.2: a stale response that must be revalidated is never served
      // when the origin cannot be reached; the cache answers 504.
      if (staleForbidden(entry.cc)) code = 'FG_REVALIDATION_FAILED'
    }
    const status = cacheStatus(this.config.cacheName, { fwd, detail: detail === undefined ? code : `${code}-${detail}` })
    const sent = sendError(ctx.res, code, status)
    this.logDone(ctx, sent, status, 'error')
  }

  logDone (ctx: Ctx, status: number, cache: string, kind: ServedKind): void {
    if (ctx.res === undefined || ctx.logged) return
    ctx.logged = true
    this.observer?.served(kind, status)
    if (this.#accessLog === undefined) return
    const id = ctx.req.headers['x-request-id']
    this.#accessLog({
      id: typeof id === 'string' ? id : randomUUID(),
      method: ctx.method,
      url: ctx.path,
      host: ctx.host,
      status,
      cache,
      bytes: ctx.bytes,
      ms: Math.round((performance.now() - ctx.start) * 1000) / 1000,
      ...(ctx.upstreamMs === undefined ? {} : { upstreamMs: Math.round(ctx.upstreamMs * 1000) / 1000 })
    })
  }

  #crash (ctx: Ctx, err: unknown): void {
    // A bug, not an upstream failure: answer 502 rather than leave the client hanging.
    process.emitWarning(err instanceof Error ? err : new Error(String(err)))
    if (ctx.res !== undefined && !ctx.res.headersSent) this.fail(ctx, 'FG_UPSTREAM_ERROR', undefined, 'bypass', 'internal')
    else ctx.res?.destroy()
  }
}
