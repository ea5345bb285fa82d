// Writing to the client: Cache-Status values (RFC 9211), forwarded heads without hop-by-hop
// fields, stored responses with Age (a 304 or a range of them where the request asks), error
// responses with stable codes, and the one place a request is logged and counted.

import type { ServerResponse } from 'node:http'
import { STATUS_CODES } from '../node-http.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { appendMember } from '../http/fields.ts'
import { formatHttpDate } from '../http/dates.ts'
import { shouldAnswer304, ifRangeMatches } from '../http/conditional.ts'
import { evaluateRange } from '../http/range.ts'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'
import { currentAge } from '../cache/policy.ts'
import { planFailure } from '../cache/plan.ts'
import { prepared, type Headers, type Variant, type StoredRecord } from '../cache/entry.ts'
import type { Ctx, Runtime, ServedKind, CacheStatusParts, Forward } from './context.ts'
import type { SharedResponse, LiveBody } from './collapse.ts'
import { compressible, codingFor, codedVariant, identityIdOf } from './compress.ts'

/** Builds a Cache-Status member for this cache (RFC 9211 §2). Parameters in the RFC's order. */
export function cacheStatus (name: string, p: {
  hit?: boolean
  fwd?: Forward
  fwdStatus?: number
  ttl?: number
  stored?: boolean
  collapsed?: boolean
  key?: string
  detail?: string
}): string {
  let s = name
  if (p.hit === true) s += '; hit'
  if (p.fwd !== undefined) s += '; fwd=' + p.fwd
  if (p.fwdStatus !== undefined) s += '; fwd-status=' + p.fwdStatus
  if (p.stored === true) s += '; stored'
  if (p.collapsed === true) s += '; collapsed'
  if (p.ttl !== undefined) s += '; ttl=' + Math.floor(p.ttl / 1000)
  if (p.key !== undefined) s += '; key=' + JSON.stringify(p.key)
  if (p.detail !== undefined) s += '; detail=' + p.detail
  return s
}


/**
 * The head of a forwarded response: upstream fields without hop-by-hop ones and fields we were
 * told to strip, Via appended, Date added when missing, our Cache-Status last.
 */
export function forwardedHead (headers: Headers, strip: readonly string[], via: string, status: string, now: number): string[] {
  const drop = hopByHopFor(headers.connection)
  const head: string[] = []
  for (const name in headers) {
    const v = headers[name]
    if (v === undefined || drop.has(name) || name === 'via' || name === 'cache-status' || strip.includes(name)) continue
    if (Array.isArray(v)) for (const x of v) head.push(name, x)
    else head.push(name, v)
  }
  if (headers.date === undefined) head.push('date', formatHttpDate(now))
  head.push('via', appendMember(headers.via, via))
  // RFC 9211 §2: our member goes after those of caches nearer the origin.
  head.push('cache-status', appendMember(headers['cache-status'], status))
  return head
}

/** Sends a short plain-text error naming its stable code; returns the status and the body bytes sent. */
export function sendError (res: ServerResponse, code: ErrorCode, status: string | undefined, detail?: string, head = false): { status: number, bytes: number } {
  const { status: httpStatus, text } = ERROR_CODES[code]
  if (res.headersSent) {
    res.destroy()
    return { status: httpStatus, bytes: 0 }
  }
  const body = `${httpStatus} ${code}: ${text}${detail === undefined ? '' : ` (${detail})`}\n`
  const fields = [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store',
    'x-freshgate-error', code
  ]
  if (status !== undefined) fields.push('cache-status', status)
  res.writeHead(httpStatus, STATUS_CODES[httpStatus], fields)
  res.end(head ? undefined : body)
  return { status: httpStatus, bytes: head ? 0 : Buffer.byteLength(body) }
}

/** Logs and counts a request once: the access log and the observer hear of it here only. */
export function logDone (rt: Runtime, ctx: Ctx, status: number, cache: string, kind: ServedKind): void {
  if (ctx.res === undefined || ctx.logged) return
  ctx.logged = true
  const ms = performance.now() - ctx.start
  if (rt.observer !== undefined) {
    rt.observer.served(kind, status, { seconds: ms / 1000, bytes: ctx.bytes, cache, key: ctx.key, method: ctx.preq.method, route: ctx.route?.configured })
  }
  if (rt.accessLog === undefined) return
  const h = ctx.preq.headers
  const id = h['x-request-id']
  rt.accessLog({
    id: typeof id === 'string' ? id : crypto.randomUUID(),
    method: ctx.preq.method,
    url: ctx.preq.target,
    host: ctx.preq.authority,
    status,
    cache,
    bytes: ctx.bytes,
    ms: Math.round(ms * 1000) / 1000,
    ...(ctx.upstreamMs === undefined ? {} : { upstreamMs: Math.round(ctx.upstreamMs * 1000) / 1000 }),
    ...(ctx.upstreamStatus === undefined ? {} : { upstreamStatus: ctx.upstreamStatus }),
    client: ctx.preq.clientAddress,
    protocol: `HTTP/${ctx.preq.httpVersion}`,
    ...(typeof h['user-agent'] === 'string' ? { userAgent: h['user-agent'] } : {}),
    ...(typeof h.referer === 'string' ? { referer: h.referer } : {})
  })
}

/** Answers a request with an error of our own (no stored response involved). */
export function failPlain (rt: Runtime, ctx: Ctx, code: ErrorCode, fwd: Forward | undefined, detail?: string): void {
  if (ctx.res === undefined) return
  const status = fwd === undefined ? undefined : cacheStatus(rt.config.cacheName, { fwd, detail: detail === undefined ? code : `${code}-${detail}` })
  const sent = sendError(ctx.res, code, status, undefined, ctx.preq.method === 'HEAD')
  ctx.bytes = sent.bytes
  logDone(rt, ctx, sent.status, status ?? '', 'error')
}

/** Answers an upstream failure: stale-if-error when allowed, else a coded error response (plan.ts planFailure). */
export function fail (rt: Runtime, ctx: Ctx, code: ErrorCode, entry: Variant | undefined, fwd: Forward, detail?: string): void {
  if (ctx.res === undefined) return
  const now = rt.clock()
  const plan = planFailure(code, entry?.record, ctx.reqCC, ctx.pragma, rt.config.cache.staleIfErrorGrace, now)
  if (plan.kind === 'serve-stale' && entry !== undefined) return serveStored(rt, ctx, entry, now, { fwd, detail: 'stale-if-error' })
  failPlain(rt, ctx, plan.kind === 'fail' ? plan.code : code, fwd, detail)
}

/** Cache-Status parts of a plain hit. */
export const HIT: CacheStatusParts = Object.freeze({ hit: true })

/** Classifies a stored response being served. */
function servedKind (cs: CacheStatusParts, ttl: number): ServedKind {
  if (cs.collapsed === true) return 'collapsed'
  if (cs.fwdStatus === 304) return 'revalidated'
  if (cs.detail !== undefined || ttl <= 0) return 'stale'
  return cs.hit === true ? 'hit' : 'miss'
}

/** If-Range absent, or present and matching (RFC 9110 §13.1.5); a repeated field never matches. */
function ifRangeAllows (ifRange: string | string[] | undefined, r: StoredRecord): boolean {
  return ifRange === undefined || (typeof ifRange === 'string' && ifRangeMatches(ifRange, r))
}

/**
 * Serves a stored response: a 304 when the client's validators match (RFC 9110 §13.2.2; only
 * for 2xx, §13.2.1), a range of it when asked (§14.2), else the stored status, headers and body
 * (none for HEAD), with Age. The variant's body must be loaded.
 */
export function serveStored (rt: Runtime, ctx: Ctx, v: Variant, now: number, cs: CacheStatusParts): void {
  const res = ctx.res
  if (res === undefined || res.destroyed) return
  const other = rt.config.compress && rt.cache !== undefined ? variantToServe(rt, ctx, v) : undefined
  if (other !== undefined) {
    other.then(w => serveAsStored(rt, ctx, w, rt.clock(), cs), err => {
      // The coded body could not be made (the stored one is gone): the identity one still answers.
      process.emitWarning(err as Error)
      serveAsStored(rt, ctx, v, rt.clock(), cs)
    })
    return
  }
  serveAsStored(rt, ctx, v, now, cs)
}

/**
 * The variant to serve instead of `v`, when there is one (compress.ts): the coded variant of an
 * identity response for a client that accepts a coding, made and stored once; or, for a Range
 * request that selected a coded variant, the identity one it was made from (ranges are served from
 * identity bodies). Undefined: serve `v` itself.
 */
function variantToServe (rt: Runtime, ctx: Ctx, v: Variant): Promise<Variant> | undefined {
  const r = v.record
  const h = ctx.preq.headers
  const identityId = identityIdOf(r.id)
  const cache = rt.cache!
  if (identityId !== undefined) {
    if (h.range === undefined || ctx.preq.method !== 'GET') return undefined
    return Promise.resolve(cache.variants(r.key)).then(async all => {
      const identity = all.find(w => w.record.id === identityId)
      const body = identity === undefined ? undefined : identity.body ?? await cache.body(identity)
      // Gone since: the coded body is served whole (a 200 answers any Range request).
      return identity === undefined || body === undefined ? v : { record: identity.record, body }
    })
  }
  if (h.range !== undefined && ctx.preq.method === 'GET') return undefined
  // The client's choice first: a hit for a client that accepts no coding costs one comparison.
  const coding = codingFor(h['accept-encoding'])
  if (coding === undefined) return undefined
  if (r.varyFields[0] === '*' || !compressible(r.status, r.headers, r.bodySize, r.cc, ctx.reqCC)) return undefined
  return codedVariant(cache, v, coding, h, rt.config.cache.maxVariants)
}

/** Serves `v` as it is stored (see serveStored). */
function serveAsStored (rt: Runtime, ctx: Ctx, v: Variant, now: number, cs: CacheStatusParts): void {
  const res = ctx.res
  if (res === undefined || res.destroyed) return
  const r = v.record
  const age = currentAge(r, now)
  const debug = rt.config.debug
  // The plain hit builds its Cache-Status without the general formatter.
  const status = cs === HIT && !debug
    ? rt.hitStatus + Math.floor((r.lifetime - age) / 1000)
    : cacheStatus(rt.config.cacheName, { ...cs, ttl: r.lifetime - age, key: debug ? ctx.key : undefined })
  const heads = prepared(v, rt.entryOptions.via)
  const h = ctx.preq.headers
  const inm = h['if-none-match']
  const ims = h['if-modified-since']
  let code = r.status
  if ((inm !== undefined || ims !== undefined) && code >= 200 && code < 300 &&
      shouldAnswer304({ ifNoneMatch: inm, ifModifiedSince: ims }, r)) {
    code = 304
    const head = heads.head304.slice()
    head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
    res.writeHead(304, head)
    res.end()
  } else if (h.range !== undefined && code === 200 && ctx.preq.method === 'GET' && identityIdOf(r.id) === undefined && ifRangeAllows(h['if-range'], r)) {
    code = serveRange(ctx, res, v, heads.head, h.range, age, status)
  } else {
    const head = heads.head.slice()
    head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
    res.writeHead(code, r.statusMessage, head)
    if (ctx.preq.method === 'HEAD') res.end()
    else {
      // A small body as its latin1 string goes out in the same write as the head (entry.ts).
      if (heads.text !== undefined) res.end(heads.text, 'latin1')
      else res.end(v.body)
      ctx.bytes = r.bodySize
    }
  }
  logDone(rt, ctx, code, status, servedKind(cs, r.lifetime - age))
}

/**
 * Answers a single byte range from a complete stored 200 (RFC 9110 §14.2): 206 with
 * Content-Range, 416 when unsatisfiable, the whole response for anything else.
 */
function serveRange (ctx: Ctx, res: ServerResponse, v: Variant, stored: readonly string[], range: string, age: number, status: string): number {
  const body = v.body!
  const len = body.length
  const r = evaluateRange(range, len)
  const head: string[] = []
  for (let i = 0; i < stored.length; i += 2) {
    if (stored[i] !== 'content-length') head.push(stored[i]!, stored[i + 1]!)
  }
  head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
  if (r.kind === 'full') {
    head.push('content-length', String(len))
    res.writeHead(200, v.record.statusMessage, head)
    res.end(body)
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
  res.end(body.subarray(r.start, r.end + 1))
  ctx.bytes = r.end - r.start + 1
  return 206
}

/** Answers a collapsed waiter with its leader's uncacheable error response (issue: 5xx bursts). */
export function serveShared (rt: Runtime, ctx: Ctx, r: SharedResponse, fwd: Forward): void {
  const res = ctx.res
  if (res === undefined || res.destroyed) return
  const status = cacheStatus(rt.config.cacheName, { fwd, fwdStatus: r.status, collapsed: true, key: rt.config.debug ? ctx.key : undefined })
  const head = forwardedHead(r.headers, rt.entryOptions.stripFields, rt.entryOptions.via, status, r.at)
  res.writeHead(r.status, r.statusMessage, head)
  if (ctx.preq.method === 'HEAD') res.end()
  else {
    res.end(r.body)
    ctx.bytes = r.body.length
  }
  logDone(rt, ctx, r.status, status, 'collapsed')
}

/**
 * Streams a leader's body to a collapsed waiter as it arrives (issue: streaming to waiters): the
 * same head the leader's client got, with the waiter's own Cache-Status, what has arrived so far,
 * then each chunk. A leader failing mid-body cuts the waiter's connection too, so a truncated body
 * never looks whole. False when the body can no longer be replayed (joined too late).
 */
export function followLive (rt: Runtime, ctx: Ctx, live: LiveBody, fwd: Forward): boolean {
  const res = ctx.res
  if (res === undefined || res.destroyed) return true
  const status = cacheStatus(rt.config.cacheName, { fwd, fwdStatus: live.status, collapsed: true, ttl: live.ttl - (rt.clock() - live.at), key: rt.config.debug ? ctx.key : undefined })
  let headSent = false
  const head = (): void => {
    if (headSent) return
    headSent = true
    res.writeHead(live.status, live.statusMessage, forwardedHead(live.headers, rt.entryOptions.stripFields, rt.entryOptions.via, status, live.at))
  }
  const subscriber = {
    data (chunk: Buffer): void {
      head()
      res.write(chunk)
      ctx.bytes += chunk.length
    },
    end (): void {
      head()
      res.end()
      logDone(rt, ctx, live.status, status, 'collapsed')
    },
    fail (): void {
      res.destroy()
      logDone(rt, ctx, live.status, status + '; detail=leader-failed', 'error')
    }
  }
  if (!live.subscribe(subscriber)) return false
  head()
  res.once('close', () => live.unsubscribe(subscriber))
  return true
}
