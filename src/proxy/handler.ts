// The request flow: listen → key → look up → plan → (serve | revalidate | forward) → store → respond.
// The listener hands over a normalised request (request.ts); cache/plan.ts decides what to do with
// it; this file carries the plan out, and forward.ts what the upstream response calls for.

import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { BlockList } from 'node:net'
import type { Config } from '../config/schema.ts'
import { parseCacheControl, pragmaNoCache } from '../http/cache-control.ts'
import { decide } from '../cache/policy.ts'
import { planRequest, type RequestPlan, type ForwardPlan, type Forward } from '../cache/plan.ts'
import { keyOnRoute, secondaryKey } from '../cache/key.ts'
import { clientDirectives } from '../cache/overrides.ts'
import type { HttpCache, Lookup } from '../cache/cache.ts'
import type { Variant } from '../cache/entry.ts'
import { ERROR_CODES } from '../errors.ts'
import { Router } from './router.ts'
import { Collapser, LiveBody, RELEASED, STORED, type Flight } from './collapse.ts'
import { serveStored, serveShared, followLive, fail, failPlain, logDone, HIT } from './respond.ts'
import { forward } from './forward.ts'
import { rewriteResponses } from './rewrite.ts'
import type { Ctx, Runtime, AccessLog, Observer, ProxyLog } from './context.ts'
import { BufferBudget } from './exchange.ts'
import { isPartial, partsOf, planPartial } from '../cache/partial.ts'
import { ifRangeMatches } from '../http/conditional.ts'
import { servePart } from './parts.ts'
import { fillHeaders } from '../cache/fill.ts'
import type { ProxyRequest } from './request.ts'

const EMPTY_CC = parseCacheControl(undefined)
const NOTHING: Lookup = Object.freeze({ variants: Object.freeze([]) as readonly Variant[] })
const ALLOW = 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS'

/** Adds an address or CIDR range ("10.0.0.0/8", "::1") to a BlockList. */
export function addToBlockList (list: BlockList, entry: string): void {
  const [addr, bits] = entry.split('/')
  const family = addr!.includes(':') ? 'ipv6' : 'ipv4'
  if (bits === undefined) list.addAddress(addr!, family)
  else list.addSubnet(addr!, Number(bits), family)
}

/** True when `ip` (IPv4-mapped IPv6 addresses included) is in the list. */
export function addressAllowed (list: BlockList, ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip
  return list.check(v4, v4.includes(':') ? 'ipv6' : 'ipv4')
}

/** What a handler is given besides its config and cache. */
export interface HandlerOptions {
  /** the policy clock, ms since the epoch */
  clock: () => number
  accessLog?: AccessLog | undefined
  observer?: Observer | undefined
  log?: ProxyLog | undefined
}

/** Builds the runtime the flow shares for a config; what outlives a reload is carried over from `prev`. */
function runtimeFor (config: Config, cache: HttpCache | undefined, o: HandlerOptions, prev: Runtime | undefined): Runtime {
  return {
    config,
    cache,
    collapser: prev?.collapser ?? (config.collapse.enabled ? new Collapser(config.collapse.waitTimeout, config.collapse.hitForMiss) : undefined),
    clock: o.clock,
    accessLog: o.accessLog,
    observer: o.observer,
    log: o.log === undefined ? undefined : rateLimited(o.log),
    // the total is restart-only; the per-response bound applies to new exchanges at once
    buffers: new BufferBudget(config.upstream.responseBuffer, prev?.buffers.total ?? config.upstream.responseBufferTotal, prev?.buffers),
    hitStatus: `${config.cacheName}; hit; ttl=`,
    entryOptions: {
      heuristicFraction: config.cache.heuristicFraction,
      heuristicMaxAge: config.cache.heuristicMaxAge,
      setCookie: config.cache.setCookie,
      keepStale: config.cache.keepStale,
      staleIfErrorGrace: config.cache.staleIfErrorGrace,
      stripFields: config.tags.strip ? [...config.cache.stripTargets, ...config.tags.headers] : config.cache.stripTargets,
      via: `1.1 ${config.cacheName}`
    }
  }
}

/**
 * A log that writes each kind of warning (message plus code and origin) at most once every 10 s,
 * counting what it suppressed, so a failing origin cannot flood the log.
 */
function rateLimited (log: ProxyLog): ProxyLog {
  const last = new Map<string, { at: number, suppressed: number }>()
  return {
    debug: (fields, msg) => log.debug(fields, msg),
    warn (fields, msg) {
      const kind = `${msg}|${String(fields.code)}|${String(fields.origin)}`
      const now = Date.now()
      const seen = last.get(kind)
      if (seen !== undefined && now - seen.at < 10_000) { seen.suppressed++; return }
      if (last.size >= 1000) last.clear()
      last.set(kind, { at: now, suppressed: 0 })
      log.warn(seen === undefined || seen.suppressed === 0 ? fields : { ...fields, suppressed: seen.suppressed }, msg)
    }
  }
}

/** The proxy's request handler. */
export class ProxyHandler {
  #rt: Runtime
  readonly #opts: HandlerOptions
  #router: Router
  #purgeAllow!: BlockList

  constructor (config: Config, cache: HttpCache | undefined, opts: HandlerOptions) {
    this.#opts = opts
    this.#rt = runtimeFor(config, cache, opts, undefined)
    this.#router = new Router(config)
    this.#apply(config)
  }

  /** The runtime in force (config, cache, clock): what the admin API and metrics read. */
  get runtime (): Runtime {
    return this.#rt
  }

  get config (): Config {
    return this.#rt.config
  }

  #apply (config: Config): void {
    this.#rt = runtimeFor(config, this.#rt.cache, this.#opts, this.#rt)
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

  /** Handles one normalised request; `body` is the client's request body stream. */
  handle (preq: ProxyRequest, body: Readable | undefined, res: ServerResponse): void {
    const start = performance.now()
    const rt = this.#rt
    if (preq.target === '*') {
      // OPTIONS * asks about the server itself (RFC 9110 §9.3.7): freshgate answers it.
      res.writeHead(preq.method === 'OPTIONS' ? 204 : 400, { allow: ALLOW, 'content-length': '0' })
      res.end()
      return
    }
    const route = this.#router.match(preq.authority, preq.target)
    const ctx = this.#ctx(preq, body, res, start, route === undefined ? '' : keyOnRoute(preq, route.route.cache, rt.config))
    if (route === undefined) return failPlain(rt, ctx, 'FG_NO_ROUTE', 'bypass')
    ctx.route = route
    // The operator's rules: response header rewriting, and reloads answered from the cache.
    rewriteResponses(res, route.responseRules)
    if (route.settings.ignoreClientNoCache) Object.assign(ctx, clientDirectives(ctx.reqCC, ctx.pragma, true))
    try {
      if (preq.method === 'PURGE') {
        this.#purge(ctx).catch(err => this.#crash(ctx, err))
        return
      }
      const cacheable = rt.cache !== undefined && route.route.cache.enabled
      // Only GET and HEAD can be answered from the cache; other methods are planned without a lookup.
      if (!cacheable || (preq.method !== 'GET' && preq.method !== 'HEAD')) return this.#carryOut(ctx, NOTHING, rt.clock())
      // Hit-for-pass (collapse.ts): a key whose last response was not storable, with nothing
      // stored, goes straight upstream; its response is still planned and stored when it may be.
      // Nothing this replica stores escapes it (a store clears the mark); what another replica
      // stores in a shared tier is found once the mark ends (collapse.hitForMiss), as in Varnish.
      // A hit costs one size check while no key is marked.
      if (rt.collapser !== undefined && rt.collapser.marked > 0) {
        const now = rt.clock()
        if (rt.collapser.passes(ctx.key, now)) return this.#carryOut(ctx, NOTHING, now, true)
      }
      // The memory tier answers synchronously: the hit path allocates no promise.
      const found = rt.cache!.lookup(ctx.key, preq.headers)
      if (found instanceof Promise) {
        found.then(f => this.#loaded(ctx, f)).catch(err => this.#crash(ctx, err))
        return
      }
      this.#loaded(ctx, found)
    } catch (err) {
      this.#crash(ctx, err)
    }
  }

  #ctx (preq: ProxyRequest, body: Readable | undefined, res: ServerResponse | undefined, start: number, key: string): Ctx {
    const cc = preq.headers['cache-control']
    return {
      preq,
      body,
      res,
      method: preq.method,
      key,
      route: undefined!,
      start,
      bytes: 0,
      upstreamMs: undefined,
      upstreamStatus: undefined,
      logged: false,
      reqCC: cc === undefined ? EMPTY_CC : parseCacheControl(cc, 'ignore'),
      pragma: pragmaNoCache(preq.headers.pragma, cc)
    }
  }

  /** Makes sure the selected variant's body is at hand (tiers that do not keep bodies in memory), then plans. */
  #loaded (ctx: Ctx, found: Lookup): void {
    const entry = found.entry
    if (entry === undefined || entry.body !== undefined) return this.#carryOut(ctx, found, this.#rt.clock())
    Promise.resolve(this.#rt.cache!.body(entry)).then(body => {
      // A body gone between the lookup and the read: the variant is treated as not stored.
      const next = body === undefined ? { variants: found.variants } : { entry: { record: entry.record, body }, variants: found.variants }
      this.#carryOut(ctx, next, this.#rt.clock())
    }).catch(err => this.#crash(ctx, err))
  }

  /** Plans the request (cache/plan.ts) and carries the plan out; `pass`: the key is hit-for-pass, so it does not collapse. */
  #carryOut (ctx: Ctx, found: Lookup, now: number, pass = false): void {
    const rt = this.#rt
    const h = ctx.preq.headers
    // A partial variant (cache/partial.ts) is not a response to serve: it only answers ranges.
    const partial = found.entry !== undefined && isPartial(found.entry.record) ? found.entry : undefined
    const entry = partial === undefined ? found.entry : undefined
    const plan: RequestPlan = planRequest({
      method: ctx.method,
      cacheable: rt.cache !== undefined && ctx.route.route.cache.enabled,
      cookiePass: h.cookie !== undefined && ctx.route.settings.requestCookies === 'pass',
      reqCC: ctx.reqCC,
      pragma: ctx.pragma,
      authorization: h.authorization !== undefined,
      originConditional: h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined,
      range: h.range !== undefined,
      collapse: rt.collapser !== undefined && !pass,
      rangeFill: rt.config.cache.rangeFill
    }, { entry: entry?.record, hasVariants: found.variants.length > 0 }, now)
    switch (plan.kind) {
      case 'serve':
        return serveStored(rt, ctx, entry!, now, HIT)
      case 'serve-stale-while-revalidate':
        serveStored(rt, ctx, entry!, now, { hit: true, detail: 'stale-while-revalidate' })
        if (plan.revalidate) this.#background(ctx, entry, 'stale', found.variants)
        return
      case 'fail':
        return failPlain(rt, ctx, plan.code, plan.fwd)
      case 'forward':
        // A Range miss (not a bypass, nor a request only the origin may answer) may use parts.
        if (h.range !== undefined && ctx.method === 'GET' && (plan.fwd === 'uri-miss' || plan.fwd === 'vary-miss') && !plan.fill) return this.#ranged(ctx, plan, partial, found.variants, now)
        if (plan.collapse) {
          this.#collapse(ctx, entry, plan, found.variants, now).catch(err => this.#crash(ctx, err))
          return
        }
        forward(rt, ctx, entry, plan, undefined, found.variants)
        if (plan.backgroundFill) this.#background(ctx, undefined, plan.fwd, found.variants)
    }
  }

  /**
   * A Range request with no complete stored response: answered from stored parts when they cover
   * it, else its range alone is fetched and the 206 merged into the parts (cache/partial.ts), or
   * the request goes as it is. The background fill of the whole response stays an option.
   */
  #ranged (ctx: Ctx, plan: ForwardPlan, partial: Variant | undefined, variants: readonly Variant[], now: number): void {
    const rt = this.#rt
    const h = ctx.preq.headers
    const parts = partial === undefined ? undefined : partsOf(partial.record, partial.body!)
    const d = partial === undefined ? undefined : decide(partial.record, ctx.reqCC, ctx.pragma, now)
    const ifRange = h['if-range']
    const pp = planPartial({
      range: h.range!,
      ifRange: ifRange === undefined ? 'absent' : partial !== undefined && typeof ifRange === 'string' && ifRangeMatches(ifRange, partial.record) ? 'match' : 'mismatch',
      conditional: h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined,
      shareable: h.authorization === undefined && !ctx.reqCC.noStore,
      usable: d === 'fresh' || d === 'stale-ok',
      parts
    })
    if (pp.kind === 'serve' || pp.kind === 'unsatisfiable') return servePart(rt, ctx, partial!, parts!, pp, now)
    const fwd: Forward = parts === undefined ? plan.fwd : 'partial'
    if (pp.kind === 'fetch') forward(rt, ctx, undefined, { fwd, fill: true, validate: false, partial: true }, undefined, variants)
    else forward(rt, ctx, undefined, { ...plan, fwd }, undefined, variants)
    if (plan.backgroundFill) this.#background(ctx, undefined, plan.fwd, variants)
  }

  /** Leads or joins the collapsed flight for the key; a waiter re-reads the cache when the leader is done. */
  async #collapse (ctx: Ctx, entry: Variant | undefined, plan: ForwardPlan, variants: readonly Variant[], now: number): Promise<void> {
    const rt = this.#rt
    const collapser = rt.collapser!
    const running = collapser.joinable(ctx.key, now)
    if (running === undefined) return await this.#lead(ctx, entry, plan, variants, now)
    // A waiter whose client goes away stops waiting at once (the flight goes on for the others).
    const gone = new AbortController()
    const onClose = (): void => gone.abort()
    ctx.res?.once('close', onClose)
    const waiting = collapser.wait(running, gone.signal)
    // A plain GET follows the leader's body as it arrives when it is being stored for this very
    // variant; conditional requests wait for the stored result, which answers them with a 304.
    const h = ctx.preq.headers
    const first = h['if-none-match'] === undefined && h['if-modified-since'] === undefined && h.range === undefined
      ? await Promise.race([waiting, running.live])
      : await waiting
    // Like a stored result (#serveCollapsed): a response that began arriving before this request
    // did must still be fresh for it.
    const usable = (l: LiveBody): boolean => (l.at >= now || l.ttl - (rt.clock() - l.at) > 0) && secondaryKey(l.varyFields, h) === l.varyKey
    if (first instanceof LiveBody && ctx.res !== undefined && usable(first) && followLive(rt, ctx, first, plan.fwd)) {
      ctx.res.off('close', onClose)
      return
    }
    const outcome = first instanceof LiveBody ? await waiting : first
    ctx.res?.off('close', onClose)
    if (ctx.res?.destroyed === true) return
    if (outcome.kind === 'stored') {
      if (await this.#serveCollapsed(ctx, plan, now)) return
    } else if (outcome.kind === 'failed') {
      return fail(rt, ctx, outcome.code, entry, plan.fwd, 'collapsed')
    } else if (outcome.kind === 'response') {
      return serveShared(rt, ctx, outcome.response, plan.fwd)
    }
    // Released (not storable, timed out) or not usable for this request: go upstream alone.
    forward(rt, ctx, entry, plan, undefined, variants)
  }

  /**
   * Leads the key's flight here; with a shared tier, also across replicas, best effort: when
   * another replica holds the key's fill lock, waits for it (at most collapse.waitTimeout) and
   * answers from what it stored, else fetches as usual.
   */
  async #lead (ctx: Ctx, entry: Variant | undefined, plan: ForwardPlan, variants: readonly Variant[], now: number): Promise<void> {
    const rt = this.#rt
    const collapser = rt.collapser!
    const flight = collapser.lead(ctx.key, now)
    const locks = rt.cache!.locks
    if (flight !== undefined && locks !== undefined) {
      const wait = rt.config.collapse.waitTimeout
      if (await locks.tryLock(ctx.key, wait)) {
        void flight.promise.finally(() => locks.unlock(ctx.key))
      } else {
        await locks.waitUnlock(ctx.key, wait)
        if (ctx.res?.destroyed === true) return collapser.finish(ctx.key, flight, RELEASED)
        if (await this.#serveCollapsed(ctx, plan, now)) return collapser.finish(ctx.key, flight, STORED)
      }
    }
    forward(rt, ctx, entry, plan, flight, variants)
  }

  /** Looks the key up again after another request's fetch and serves what it stored, when usable; false otherwise. */
  async #serveCollapsed (ctx: Ctx, plan: ForwardPlan, now: number): Promise<boolean> {
    const rt = this.#rt
    let again = rt.cache!.lookup(ctx.key, ctx.preq.headers)
    if (again instanceof Promise) again = await again
    const later = rt.clock()
    const v = again.entry
    if (v === undefined || isPartial(v.record)) return false
    // A response received after this request arrived answers it as a forwarded request
    // would have been answered, even when it is stale on arrival (max-age=0, no-cache):
    // that is what lets concurrent revalidations collapse.
    const d = v.record.responseTime >= now ? 'fresh' : decide(v.record, ctx.reqCC, ctx.pragma, later)
    const body = v.body ?? await rt.cache!.body(v)
    if ((d !== 'fresh' && d !== 'stale-ok') || body === undefined) return false
    serveStored(rt, ctx, { record: v.record, body, prepared: v.prepared }, later, { fwd: plan.fwd, fwdStatus: v.record.status, collapsed: true })
    return true
  }

  /** A background fetch with no client: stale-while-revalidate (RFC 5861 §3) or a Range fill; one per key. */
  #background (ctx: Ctx, entry: Variant | undefined, fwd: Forward, variants: readonly Variant[]): void {
    const rt = this.#rt
    const flight: Flight | undefined = rt.collapser?.lead(ctx.key, rt.clock())
    if (rt.collapser !== undefined && flight === undefined) return
    // freshgate's own request: it carries the client's fields only as far as the key needs them
    // (cache/fill.ts), and none of the client's directives.
    const headers = fillHeaders(ctx.preq.headers, variants.map(v => v.record.varyFields))
    const bg: Ctx = { ...ctx, preq: { ...ctx.preq, headers }, res: undefined, method: 'GET', body: undefined, reqCC: EMPTY_CC, pragma: false }
    forward(rt, bg, entry, { fwd, fill: true, validate: entry !== undefined }, flight, variants)
  }

  /**
   * PURGE <url> (the Squid/Varnish convention): removes every variant of the URL. Refused with 405
   * FG_PURGE_FORBIDDEN unless enabled and the client address is allowed.
   */
  async #purge (ctx: Ctx): Promise<void> {
    const rt = this.#rt
    const res = ctx.res!
    if (!rt.config.purge.method || rt.cache === undefined || !addressAllowed(this.#purgeAllow, ctx.preq.clientAddress)) {
      const body = `405 FG_PURGE_FORBIDDEN: ${ERROR_CODES.FG_PURGE_FORBIDDEN.text}\n`
      res.writeHead(405, { allow: ALLOW, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-freshgate-error': 'FG_PURGE_FORBIDDEN' })
      res.end(body)
      ctx.bytes = Buffer.byteLength(body)
      return logDone(rt, ctx, 405, '', 'error')
    }
    const n = await rt.cache.purge(ctx.key, rt.config.purge.soft, rt.clock())
    const body = JSON.stringify({ purged: n, url: ctx.key, soft: rt.config.purge.soft }) + '\n'
    res.writeHead(n > 0 ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
    res.end(body)
    ctx.bytes = Buffer.byteLength(body)
    logDone(rt, ctx, n > 0 ? 200 : 404, '', 'pass')
  }

  #crash (ctx: Ctx, err: unknown): void {
    // A bug, not an upstream failure: answer 500 FG_INTERNAL rather than leave the client hanging.
    process.emitWarning(err instanceof Error ? err : new Error(String(err)))
    if (ctx.res !== undefined && !ctx.res.headersSent) failPlain(this.#rt, ctx, 'FG_INTERNAL', 'bypass')
    else ctx.res?.destroy()
  }
}
