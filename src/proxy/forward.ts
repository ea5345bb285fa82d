// Carrying out a forward plan: the request fields sent upstream (RFC 9110 §7.6, RFC 9111 §4.3.1),
// then, per the response plan (cache/plan.ts), a 304 folded into the stored response, a stale
// answer for an origin error, a response streamed and stored, or passed through — with the
// invalidation (§4.4) and HEAD freshening (§4.3.5) that pass-through responses imply.

import { pipeline } from 'node:stream'
import { firstValue } from '../http/fields.ts'
import { shouldAnswer304 } from '../http/conditional.ts'
import { select304, contentLocationIsTarget } from '../cache/policy.ts'
import { planResponse, type ForwardPlan } from '../cache/plan.ts'
import { storedHeaders, buildRecord, freshen, parseTags, fields304, type Headers, type Variant, type StoredRecord } from '../cache/entry.ts'
import type { BodyWriter } from '../cache/contract.ts'
import { varyFields, keyFields, secondaryKey } from '../cache/key.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { variantMatches } from '../cache/cache.ts'
import type { CacheControl } from '../http/cache-control.ts'
import type { ErrorCode } from '../errors.ts'
import { STORED, RELEASED, LiveBody, sharingWriter, type Flight, type Outcome } from './collapse.ts'
import { upstreamHeaders } from './outgoing.ts'
import { directivesFor, responseDirectives, invalidateTarget, freshenFromHead } from './effects.ts'
import type { Ctx, Runtime, ServedKind } from './context.ts'
import { cacheStatus, forwardedHead, serveStored, fail, failPlain, logDone } from './respond.ts'
import { readRequestBody, type ReadyBody } from './body.ts'
import type { UpstreamRequest } from './upstream.ts'
import type { FreshgateError } from '../errors.ts'
import { Exchange, type BodyRoute, type ExchangeEvents } from './exchange.ts'
import { partWriter } from './parts.ts'
import { relayInterim } from './interim.ts'
import { compressible, codingFor, codedHeaders, encoder, withVary, type Coding } from './compress.ts'

/** The Cache-Status a client was sent, for the log, once what it announced as stored was not. */
function notStored (cacheStatus: string): string {
  return cacheStatus.replace('; stored', '')
}


/**
 * The request fields as the origin got them, for the secondary key: a field the client's own
 * Connection names was removed on the way (RFC 9110 §7.6.1), so the response answers a request
 * without it. Keyed as absent, it can never be served to clients that send that field (otherwise
 * `Accept-Language: fr` with `Connection: accept-language` would store the default language as the
 * French variant).
 */
function asSent (headers: Headers): Headers {
  const connection = headers.connection
  if (connection === undefined) return headers
  const drop = hopByHopFor(connection)
  const out: Headers = {}
  for (const name in headers) if (!drop.has(name)) out[name] = headers[name]
  return out
}

/** Most interim (1xx) responses relayed to a client per request. */
const MAX_INTERIM = 8

/** Methods that never invalidate (RFC 9110 §9.2.1 safe methods). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])


/**
 * The parts of a forward plan an exchange needs; `partial` (with `fill`) asks for the client's
 * Range alone and keeps a 206 as a part (proxy/parts.ts).
 */
export type Forwarding = Pick<ForwardPlan, 'fwd' | 'fill' | 'validate'> & { partial?: boolean }

/** Starts one upstream exchange for a request and carries out what its response calls for. */
export function forward (rt: Runtime, ctx: Ctx, entry: Variant | undefined, plan: Forwarding, flight: Flight | undefined, current: readonly Variant[] = []): void {
  new Forward(rt, ctx, entry, plan, flight, current).start()
}

class Forward implements ExchangeEvents {
  readonly #rt: Runtime
  readonly #ctx: Ctx
  /** the stored response being revalidated, if any */
  readonly #entry: Variant | undefined
  readonly #plan: Forwarding
  #flight: Flight | undefined
  /** the URL's variants when the request was planned (what a new one replaces) */
  readonly #current: readonly Variant[]
  readonly #exchange: Exchange
  /** the key's generation when the request started: a response is stored only if no invalidation came since */
  #generation: number
  #requestTime = 0
  #sentAt = 0
  #responseTime = 0
  /** what the client has been told so far */
  #phase: 'waiting' | 'streaming' | 'answered' = 'waiting'
  #status = 0
  #headers: Headers = {}
  #cacheStatus = ''
  #clientGone: boolean
  /** the body is kept for the waiters (an error response), not stored */
  #shared = false
  /** the response may be compressed (compress.ts): it varies on Accept-Encoding */
  #compressible = false
  /** the coding this client gets the body in, when freshgate compresses it */
  #coding: Coding | undefined
  /** interim responses relayed to the client */
  #interims = 0

  constructor (rt: Runtime, ctx: Ctx, entry: Variant | undefined, plan: Forwarding, flight: Flight | undefined, current: readonly Variant[]) {
    this.#rt = rt
    this.#ctx = ctx
    this.#entry = entry
    this.#plan = plan
    this.#flight = flight
    this.#current = current
    this.#exchange = new Exchange(this, rt.buffers)
    this.#clientGone = ctx.res === undefined
    this.#generation = rt.cache?.generation(ctx.key) ?? 0
  }

  start (): void {
    const ctx = this.#ctx
    const rt = this.#rt
    const headers = upstreamHeaders(rt, ctx, this.#plan.fill, this.#plan.validate ? this.#entry?.record : undefined, this.#plan.partial === true)
    ctx.res?.on('close', this.#onClientClose)
    if (ctx.body === undefined || ctx.method === 'GET' || ctx.method === 'HEAD' || !ctx.preq.hasBody) return this.#send(headers, null)
    // A body is read (as far as request.bodyBuffer) before the origin request is opened.
    const cl = ctx.preq.headers['content-length']
    readRequestBody(ctx.body, cl === undefined ? undefined : Number(cl), { buffer: rt.config.request.bodyBuffer, max: rt.config.request.maxBodySize, idleMs: rt.config.timeouts.clientBody })
      .then(body => this.#send(headers, body), (err: FreshgateError) => {
        this.#phase = 'answered'
        if (ctx.res === undefined || this.#clientGone) return
        // The rest of the body is never read: the connection closes after the answer.
        ctx.res.shouldKeepAlive = false
        failPlain(rt, ctx, err.code ?? 'FG_INTERNAL', this.#plan.fwd)
      })
  }

  #send (headers: string[], body: ReadyBody | null): void {
    if (this.#clientGone && this.#ctx.res !== undefined) return
    this.#requestTime = this.#rt.clock()
    this.#sentAt = performance.now()
    this.#exchange.start(this.#ctx.route.upstream, { method: this.#ctx.method, path: this.#ctx.preq.target, headers, body: body as UpstreamRequest['body'] })
  }

  #onClientClose = (): void => {
    const res = this.#ctx.res!
    if (res.writableFinished || this.#clientGone) return
    this.#clientGone = true
    // 499: the client closed the connection before the response was complete (nginx's convention).
    logDone(this.#rt, this.#ctx, this.#phase === 'waiting' ? 499 : this.#status, this.#cacheStatus + '; detail=client-closed', this.#kind())
    // Keep reading when the store still wants the body or waiters depend on this exchange.
    this.#exchange.detachClient(this.#phase === 'waiting' && this.#flight !== undefined)
  }

  /** How this exchange counts in metrics. */
  #kind (): ServedKind {
    return this.#plan.fill ? 'miss' : 'pass'
  }

  interim (status: number, headers: Headers): void {
    // Only the client of this exchange hears of it: waiters and background fills have none. An
    // origin looping on 1xx is not amplified past MAX_INTERIM.
    if (this.#phase !== 'waiting' || this.#clientGone || this.#ctx.res === undefined || this.#interims >= MAX_INTERIM) return
    if (relayInterim(this.#ctx.res, this.#ctx.preq.httpVersion, status, headers)) this.#interims++
  }

  head (status: number, statusMessage: string, headers: Headers): BodyRoute | 'drain' | undefined {
    const rt = this.#rt
    const ctx = this.#ctx
    const now = rt.clock()
    this.#responseTime = now
    const upstreamMs = performance.now() - this.#sentAt
    ctx.upstreamMs = upstreamMs
    ctx.upstreamStatus = status
    rt.observer?.upstream(status, upstreamMs / 1000)
    this.#status = status
    this.#headers = headers
    const entry = this.#entry
    // A POST response may be stored for later GETs (RFC 9110 §9.3.3), so it is planned too.
    const post = ctx.method === 'POST' && this.#plan.fwd === 'method'
    // Pass-through responses skip the planning, unless an error may be answered from a stale entry.
    if (!this.#plan.fill && !post && (entry === undefined || status < 500)) return this.#passHead(statusMessage, now)

    const settings = ctx.route.settings
    const { eff, ttl } = directivesFor(rt, ctx, headers, status, now)
    const cc = ttl.cc
    // A part's fetch: a 206 is kept as a part; a 200 (the origin ignored Range) is the whole
    // response and stored as any; anything else (416…) describes the range, not the resource.
    if (this.#plan.partial === true && status === 206) return this.#partHead(statusMessage, cc, eff.target, now)
    if (this.#plan.partial === true && status !== 200) return this.#passHead(statusMessage, now)
    this.#squeeze(cc)
    const plan = planResponse({
      method: ctx.method,
      fill: this.#plan.fill || post,
      status,
      headers,
      cc,
      targeted: eff.target !== undefined,
      entry: entry?.record,
      reqCC: ctx.reqCC,
      pragma: ctx.pragma,
      authorization: ctx.preq.headers.authorization !== undefined,
      maxEntrySize: rt.config.cache.maxEntrySize,
      contentLocationIsTarget: post && contentLocationIsTarget(headers['content-location'], `${ctx.preq.scheme}://${ctx.preq.authority}${ctx.preq.target}`)
    }, rt.entryOptions, now)

    if (plan.kind === 'fold') {
      this.#phase = 'answered'
      this.#fold(now, cc, eff.target).catch(err => this.failed('FG_INTERNAL', err as Error))
      return 'drain'
    }
    if (plan.kind === 'serve-stale') {
      this.#phase = 'answered'
      this.#settle(RELEASED)
      if (!this.#clientGone) serveStored(rt, ctx, entry!, now, { fwd: this.#plan.fwd, fwdStatus: status, detail: 'stale-if-error' })
      return 'drain'
    }
    if (plan.kind === 'pass' && !this.#plan.fill) return this.#passHead(statusMessage, now)
    let writer: BodyWriter | undefined
    let record: StoredRecord | undefined
    if (plan.kind === 'store' && post) {
      // RFC 9111 §4.4 still invalidates the target; the response is stored after that, so the
      // invalidation is not taken as one that came while it was in flight.
      invalidateTarget(rt, ctx, headers)
      this.#generation = rt.cache!.generation(ctx.key)
    }
    if (plan.kind === 'store') {
      const fields = keyFields(varyFields(headers.vary), settings.keyHeaders, settings.keyCookies)
      const cl = headers['content-length']
      record = buildRecord({
        key: ctx.key,
        status,
        statusMessage,
        headers: this.#varied(storedHeaders(headers, cc, rt.entryOptions, now)),
        bodySize: ctx.method !== 'HEAD' && typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : -1,
        cc,
        target: eff.target,
        varyFields: fields,
        varyKey: secondaryKey(fields, asSent(ctx.preq.headers)),
        times: { requestTime: this.#requestTime, responseTime: now },
        age: headers.age,
        tags: parseTags(headers, rt.config.tags.headers)
      }, rt.entryOptions)
      writer = rt.cache!.put(record, ctx.preq.headers, this.#current)
      // Something is stored for the key now: it is neither hit-for-miss nor hit-for-pass any more.
      if (writer !== undefined) rt.collapser?.markCacheable(ctx.key)
    }
    let share: BodyWriter | undefined
    if (writer === undefined && this.#flight !== undefined && status >= 500) {
      // The origin is failing: the waiters get this answer too rather than each asking again.
      this.#shared = true
      share = sharingWriter({ status, statusMessage, headers, at: now }, r => this.#settle({ kind: 'response', response: r }))
    } else if (writer === undefined) {
      // Requests whose own directives or Authorization rule out storing never lead a flight, so a
      // leader's reason is the response's: remember the key as uncacheable (hit-for-miss), and as
      // hit-for-pass when nothing is stored for it (collapse.ts).
      if (this.#flight !== undefined && (plan.kind !== 'pass' || plan.uncacheable)) {
        rt.collapser?.markUncacheable(ctx.key, now, plan.kind === 'pass' && this.#entry === undefined && this.#current.length === 0)
      }
      this.#settle(RELEASED)
      // A background exchange, or one whose client left before the head, has no one to stream to.
      if (this.#clientGone) return undefined
    }
    this.#cacheStatus = cacheStatus(rt.config.cacheName, {
      fwd: this.#plan.fwd,
      fwdStatus: this.#plan.fwd === 'stale' || this.#plan.fwd === 'request' ? status : undefined,
      stored: writer !== undefined,
      key: rt.config.debug ? ctx.key : undefined,
      detail: plan.kind === 'pass' ? plan.reason : writer === undefined ? 'too-large' : ttl.detail
    })
    const client = this.#writeHead(statusMessage, status >= 200 && status < 300)
    // Waiters may follow a body being stored as it arrives, rather than wait for the whole of it.
    let live: LiveBody | undefined
    if (writer !== undefined && record !== undefined && this.#flight !== undefined && ctx.method === 'GET') {
      live = new LiveBody({ status, statusMessage, headers, varyFields: record.varyFields, varyKey: record.varyKey, at: now, ttl: record.lifetime - record.initialAge }, rt.config.cache.maxEntrySize)
      this.#flight.goLive(live)
    }
    return { client, writer: writer ?? share, live }
  }

  /** Head of a 206 fetched as a part: streamed to the client and kept as a part when it may be (proxy/parts.ts). */
  #partHead (statusMessage: string, cc: CacheControl, target: string | undefined, now: number): BodyRoute | undefined {
    const rt = this.#rt
    const kept = partWriter(rt, this.#ctx, { statusMessage, headers: this.#headers, cc, target, times: { requestTime: this.#requestTime, responseTime: now } })
    const writer = 'writer' in kept ? kept.writer : undefined
    if (writer !== undefined) rt.collapser?.markCacheable(this.#ctx.key)
    this.#cacheStatus = cacheStatus(rt.config.cacheName, {
      fwd: this.#plan.fwd,
      stored: writer !== undefined,
      key: rt.config.debug ? this.#ctx.key : undefined,
      detail: 'reason' in kept ? kept.reason : undefined
    })
    if (this.#clientGone) return writer === undefined ? undefined : { client: undefined, writer }
    return { client: this.#writeHead(statusMessage, false), writer }
  }

  /** Decides whether this response is compressed for its client, and in which coding. */
  #squeeze (cc: CacheControl): void {
    if (!this.#rt.config.compress) return
    const cl = this.#headers['content-length']
    const size = typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : undefined
    this.#compressible = compressible(this.#status, this.#headers, size, cc, this.#ctx.reqCC)
    if (this.#compressible) this.#coding = codingFor(this.#ctx.preq.headers['accept-encoding'])
  }

  /** Headers with Vary: Accept-Encoding added when the response may be compressed for other clients. */
  #varied (headers: Headers): Headers {
    return this.#compressible ? { ...headers, vary: withVary(headers.vary) } : headers
  }

  /** Head of a response passed through (non-GET, bypass, Range): invalidation and HEAD freshening. */
  #passHead (statusMessage: string, now: number): BodyRoute | undefined {
    const rt = this.#rt
    const ctx = this.#ctx
    const status = this.#status
    this.#squeeze(responseDirectives(this.#headers, rt.config.cache.targets).cc)
    const cache = rt.cache
    // RFC 9111 §4.4: a non-error response to an unsafe method invalidates the target URI and the
    // URIs in Location and Content-Location when they share its origin.
    if (cache !== undefined && !SAFE.has(ctx.method) && status >= 200 && status < 400) invalidateTarget(rt, ctx, this.#headers)
    if (cache !== undefined && ctx.method === 'HEAD' && status === 200 && ctx.route.route.cache.enabled) freshenFromHead(rt, ctx, this.#headers, this.#requestTime, now).catch(err => process.emitWarning(err as Error))
    this.#cacheStatus = cacheStatus(rt.config.cacheName, {
      fwd: this.#plan.fwd,
      key: rt.config.debug ? ctx.key : undefined,
      detail: this.#plan.fwd === 'method' && ctx.method !== 'HEAD' ? 'method' : undefined
    })
    if (this.#clientGone) return undefined
    return { client: this.#writeHead(statusMessage, false), writer: undefined }
  }

  /**
   * Folds a 304 into the stored response(s) it identifies (RFC 9111 §4.3.3, §4.3.4) and serves
   * the freshened response.
   */
  async #fold (now: number, cc: CacheControl, target: string | undefined): Promise<void> {
    const rt = this.#rt
    const ctx = this.#ctx
    const entry = this.#entry!
    // §4.3.4: the candidates are the stored responses this request could have selected (§4.1).
    const variants = (await rt.cache!.variants(ctx.key)).filter(v => variantMatches(v.record, ctx.preq.headers))
    const selected = select304(variants.map(v => v.record), this.#headers, entry.record)
    const own = variants.find(v => v.record.id === entry.record.id)
    if (own === undefined || !selected.some(r => r.id === entry.record.id)) {
      // "If none of the stored responses contain the same strong validator, then the cache MUST
      // NOT use the new response to update any stored responses": fetch it whole instead.
      this.#settle(RELEASED)
      if (!this.#clientGone) forward(rt, ctx, undefined, { fwd: this.#plan.fwd, fill: true, validate: false }, undefined)
      return
    }
    const update = storedHeaders(this.#headers, cc, rt.entryOptions, now)
    const times = { requestTime: this.#requestTime, responseTime: now }
    const updates = selected.map(r => freshen(r, update, this.#headers.age, cc, target, times, rt.entryOptions))
    const served: Variant = { record: updates.find(r => r.id === entry.record.id)!, body: own.body ?? entry.body }
    if (cc.noStore) {
      // A 304 carrying no-store: the response is served once and not kept (§3, §5.2.2.5).
      await rt.cache!.remove(ctx.key, [entry.record.id])
      this.#settle(RELEASED)
    } else {
      await rt.cache!.update(updates)
      this.#settle(STORED)
    }
    if (!this.#clientGone) serveStored(rt, ctx, served, now, { fwd: this.#plan.fwd, fwdStatus: 304 })
  }

  /** Writes the forwarded head to the client, or answers its conditional with a 304 itself; returns the client to stream the body to. */
  #writeHead (statusMessage: string, maySend304: boolean): BodyRoute['client'] {
    const res = this.#ctx.res
    if (res === undefined || this.#clientGone) return undefined
    const rt = this.#rt
    const ctx = this.#ctx
    const h = ctx.preq.headers
    const inm = h['if-none-match']
    const ims = h['if-modified-since']
    const sent = this.#coding === undefined ? this.#varied(this.#headers) : codedHeaders(this.#headers, this.#coding, undefined)
    const head = forwardedHead(sent, rt.entryOptions.stripFields, rt.entryOptions.via, this.#cacheStatus, this.#responseTime)
    // The client's validators were replaced by ours when filling (§4.3.1), so the cache answers
    // the client's conditional itself against the new response (RFC 9110 §13.2.2).
    if (maySend304 && this.#plan.fill && (inm !== undefined || ims !== undefined) &&
        shouldAnswer304({ ifNoneMatch: inm, ifModifiedSince: ims }, { etag: firstValue(sent.etag), lastModified: firstValue(this.#headers['last-modified']), date: firstValue(this.#headers.date) })) {
      // The same fields as a 304 from the store (RFC 9110 §15.4.5), plus Via and Cache-Status.
      const keep = fields304(sent.etag !== undefined)
      const head304: string[] = []
      for (let i = 0; i < head.length; i += 2) {
        const name = head[i]!
        if (keep.includes(name) || name === 'via' || name === 'cache-status') head304.push(name, head[i + 1]!)
      }
      res.writeHead(304, head304)
      res.end()
      this.#phase = 'answered'
      logDone(rt, ctx, 304, this.#cacheStatus, this.#kind())
      return undefined
    }
    res.writeHead(this.#status, statusMessage, head)
    if (ctx.preq.method === 'HEAD' || ctx.method === 'HEAD') {
      res.end()
      this.#phase = 'answered'
      logDone(rt, ctx, this.#status, this.#cacheStatus, this.#kind())
      return undefined
    }
    // The head goes out now, not with the first body byte: a slow or event-stream body must not
    // hold back the status (and a body timeout then cuts a response the client already has). A
    // body that came in the same read as the head was written with it already: one write, not two.
    process.nextTick(() => { if (this.#exchange.bytes === 0 && !res.destroyed && !res.writableEnded) res.flushHeaders() })
    this.#phase = 'streaming'
    if (this.#coding === undefined) return res
    // Compressed on the fly; a client that goes away destroys the compressor with it.
    const z = encoder(this.#coding)
    pipeline(z, res, () => {})
    return z
  }

  storeStopped (): void {
    // Past the per-entry limit: stop storing, stream the rest with backpressure.
    if (!this.#shared) this.#rt.collapser?.markUncacheable(this.#ctx.key, this.#rt.clock())
    this.#settle(RELEASED)
  }

  done (stored: boolean): void {
    if (this.#shared) stored = false
    if (stored && this.#rt.cache?.generation(this.#ctx.key) !== this.#generation) {
      // An unsafe request invalidated the URL while this response was in flight (§4.4): the
      // response predates it and must not outlive the invalidation.
      void this.#rt.cache?.invalidate(this.#ctx.key)
      stored = false
    }
    if (stored) this.#rt.collapser?.markCacheable(this.#ctx.key)
    this.#settle(stored ? STORED : RELEASED)
    if (this.#phase === 'streaming' && !this.#clientGone) {
      this.#phase = 'answered'
      this.#ctx.bytes = this.#exchange.bytes
      logDone(this.#rt, this.#ctx, this.#status, stored ? this.#cacheStatus : notStored(this.#cacheStatus), this.#kind())
    }
  }

  failed (code: ErrorCode, err: Error): void {
    const rt = this.#rt
    const ctx = this.#ctx
    if (code !== 'FG_INTERNAL') {
      rt.observer?.upstreamError(code)
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      rt.log?.warn({ code, origin: ctx.route.upstream.origin, cause: cause?.code ?? cause?.message ?? (err as { code?: string }).code ?? err.message }, 'upstream request failed')
    } else process.emitWarning(err)
    this.#settle({ kind: 'failed', code })
    const res = ctx.res
    if (res === undefined || this.#clientGone) return
    if (this.#phase === 'answered') {
      // The client is (being) answered from the store; only a fold that failed before serving
      // still owes it an answer.
      if (!res.headersSent) fail(rt, ctx, code, this.#entry, this.#plan.fwd)
      return
    }
    if (this.#phase === 'streaming') {
      // Mid-body failure: the only honest signal left is to cut the connection.
      this.#phase = 'answered'
      res.destroy()
      ctx.bytes = this.#exchange.bytes
      logDone(rt, ctx, this.#status, notStored(this.#cacheStatus) + '; detail=' + code, 'error')
      return
    }
    this.#phase = 'answered'
    fail(rt, ctx, code, this.#entry, this.#plan.fwd)
  }

  #settle (o: Outcome): void {
    const f = this.#flight
    if (f === undefined) return
    this.#flight = undefined
    this.#rt.collapser!.finish(this.#ctx.key, f, o)
  }
}
