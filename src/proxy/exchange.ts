// One upstream exchange and what becomes of its response: streamed to the client as it arrives,
// copied into the store when storable (bounded by the per-entry limit), a 304 folded into the
// stored response, unsafe methods invalidating, failures answered with a coded error.

import type { ResponseSink, Exchange as Running } from './upstream.ts'
import { effectiveDirectives } from '../http/targeted.ts'
import { firstValue } from '../http/fields.ts'
import { shouldAnswer304, parseETag, strongMatch, weakMatch } from '../http/conditional.ts'
import { notStorableReason, staleIfErrorAllowed, withDefaultTtl } from '../cache/policy.ts'
import { parseCacheControl, type CacheControl } from '../http/cache-control.ts'
import { storedHeaders, buildStored, freshen, parseTags, fields304, type Headers, type StoredResponse } from '../cache/entry.ts'
import { primaryKey, varyFields, secondaryKey } from '../cache/key.ts'
import { variantMatches } from '../cache/cache.ts'
import { upstreamCode } from '../errors.ts'
import type { Flight, Outcome } from './collapse.ts'
import { cacheStatus, forwardedHead, hasBody, type Forward } from './respond.ts'
import type { Ctx, Services, ServedKind } from './handler.ts'

/** Methods that never invalidate (RFC 9110 §9.2.1 safe methods). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

const EMPTY_CC = parseCacheControl(undefined)
const STORED: Outcome = Object.freeze({ kind: 'stored' })
const RELEASED: Outcome = Object.freeze({ kind: 'released' })


/** Drives one upstream exchange for a request. */
export class Exchange implements ResponseSink {
  readonly #s: Services
  readonly #ctx: Ctx
  /** the stored response being revalidated, if any */
  readonly #entry: StoredResponse | undefined
  readonly #fwd: Forward
  #flight: Flight | undefined
  /** GET that may fill the cache */
  readonly #cacheable: boolean
  #running: Running | undefined
  #requestTime = 0
  /** performance.now() when sent, for the upstream latency metric */
  #sentAt = 0
  #responseTime = 0
  #headArrived = false
  #status = 0
  #statusMessage = ''
  #headers: Headers = {}
  /** the effective response directives, computed once at the head */
  #cc: CacheControl = EMPTY_CC
  #target: string | undefined
  /** body chunks kept for the store; undefined when not storing */
  #chunks: Buffer[] | undefined
  #bytes = 0
  /** the stored body, allocated once when Content-Length is known */
  #body: Buffer | undefined
  /** whether body chunks go to the client */
  #sendBody = false
  /** the client went away or never existed (background revalidation) */
  #clientGone: boolean
  /** the response was handled by folding or stale serving; the rest of the body is discarded */
  #discard = false
  #cacheStatus = ''

  constructor (s: Services, ctx: Ctx, entry: StoredResponse | undefined, fwd: Forward, flight: Flight | undefined, cacheable: boolean) {
    this.#s = s
    this.#ctx = ctx
    this.#entry = entry
    this.#fwd = fwd
    this.#flight = flight
    this.#cacheable = cacheable
    this.#clientGone = ctx.res === undefined
  }

  /** Sends the request upstream. */
  start (headers: Record<string, string | string[]>): void {
    const { req, res } = this.#ctx
    if (this.#cacheable && this.#entry !== undefined) {
      // RFC 9111 §4.3.1: validate with the stored validators.
      if (this.#entry.etag !== undefined) headers['if-none-match'] = this.#entry.etag
      if (this.#entry.lastModified !== undefined) headers['if-modified-since'] = this.#entry.lastModified
    }
    if (res !== undefined) res.on('close', this.#onClientClose)
    this.#requestTime = this.#s.clock()
    this.#sentAt = performance.now()
    const body = this.#ctx.method !== 'GET' && this.#ctx.method !== 'HEAD' && hasBody(req) ? req : null
    try {
      this.#running = this.#ctx.route.upstream.send({ method: this.#ctx.method, path: this.#ctx.path, headers, body }, this)
    } catch (err) {
      // undici refuses some requests synchronously (e.g. an invalid header value from the client).
      this.error(err as Error)
    }
  }

  #onClientClose = (): void => {
    const res = this.#ctx.res!
    if (res.writableFinished) return
    this.#clientGone = true
    // 499: the client closed the connection before the response was complete (nginx's convention).
    this.#s.logDone(this.#ctx, this.#headArrived ? this.#status : 499, this.#cacheStatus + '; detail=client-closed', this.#kind())
    // Keep reading when the store still wants the body or waiters depend on this exchange.
    const needed = this.#headArrived ? this.#chunks !== undefined : this.#flight !== undefined
    if (!needed) this.#running?.abort(new Error('client closed the connection'))
  }

  head (status: number, statusMessage: string, headers: Headers): void {
    const s = this.#s
    const now = s.clock()
    this.#headArrived = true
    this.#responseTime = now
    const upstreamMs = performance.now() - this.#sentAt
    this.#ctx.upstreamMs = upstreamMs
    s.observer?.upstream(status, upstreamMs / 1000)
    this.#status = status
    this.#statusMessage = statusMessage
    this.#headers = headers
    const ctx = this.#ctx
    if (!this.#cacheable) return this.#passHead(now)

    const eff = effectiveDirectives(headers, s.config.cache.targets)
    const target = eff.target
    const cc = withDefaultTtl(eff.cc, headers, ctx.route.route.cache.defaultTtl, target !== undefined)
    this.#cc = cc
    this.#target = target
    const entry = this.#entry
    if (status === 304 && entry !== undefined) return this.#fold(now, cc, target)
    if (entry !== undefined && status >= 500 && status <= 504) {
      // RFC 5861 §4: "stale-if-error ... when an error is encountered" includes these statuses.
      const sie = s.config.cache.staleIfErrorGrace
      if (this.#staleIfError(entry, now, sie)) return
    }
    let reason = notStorableReason({
      method: 'GET',
      status,
      resHeaders: headers,
      resCC: cc,
      reqCC: ctx.reqCC,
      reqHasAuthorization: ctx.req.headers.authorization !== undefined,
      targeted: target !== undefined,
      responseTime: now
    }, s.entryOptions)
    if (reason === undefined) {
      const cl = headers['content-length']
      if (typeof cl === 'string' && Number(cl) > s.config.cache.maxEntrySize) reason = 'too-large'
    }
    if (reason === undefined) {
      this.#chunks = []
      const cl = headers['content-length']
      const n = typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : -1
      if (n >= 0 && n <= s.config.cache.maxEntrySize && ctx.method === 'GET') this.#body = Buffer.allocUnsafeSlow(n)
    } else {
      // Requests whose own directives or Authorization rule out storing never lead a flight, so a
      // leader's reason is the response's: remember the key as uncacheable (hit-for-miss).
      // A 5xx says the origin is failing, not that the key is uncacheable: keep collapsing.
      if (this.#flight !== undefined && status < 500) s.collapser?.markUncacheable(ctx.key, now)
      this.#settle(RELEASED)
    }
    const stored = this.#chunks !== undefined
    // A background exchange, or one whose client left before the head, has no one to stream to
    // once storing is ruled out.
    if (!stored && this.#clientGone) {
      this.#discard = true
      this.#running?.abort(new Error('background response not storable'))
      return
    }
    this.#cacheStatus = cacheStatus(s.config.cacheName, {
      fwd: this.#fwd,
      fwdStatus: this.#fwd === 'stale' || this.#fwd === 'request' ? status : undefined,
      stored,
      key: s.config.debug ? ctx.key : undefined,
      detail: reason
    })
    this.#writeHead(status >= 200 && status < 300)
  }

  /** Head of a response that is passed through (non-GET, bypass): invalidation and HEAD freshening. */
  #passHead (now: number): void {
    const s = this.#s
    const ctx = this.#ctx
    const status = this.#status
    // RFC 9111 §4.4: a non-error response to an unsafe method invalidates the target URI and the
    // URIs in Location and Content-Location when they share its origin.
    if (s.cache !== undefined && !SAFE.has(ctx.method) && status >= 200 && status < 400) this.#invalidate()
    if (s.cache !== undefined && ctx.method === 'HEAD' && status === 200) this.#headFreshen(now).catch(err => process.emitWarning(err as Error))
    this.#cacheStatus = cacheStatus(s.config.cacheName, {
      fwd: this.#fwd,
      key: s.config.debug ? ctx.key : undefined,
      detail: ctx.method === 'HEAD' && s.cache !== undefined ? undefined : (this.#fwd === 'method' ? 'method' : undefined)
    })
    this.#writeHead(false)
  }

  #invalidate (): void {
    const ctx = this.#ctx
    const cache = this.#s.cache!
    cache.invalidate(ctx.key)
    const base = `http://${ctx.host}${ctx.path}`
    for (const field of ['location', 'content-location']) {
      const v = this.#headers[field]
      if (typeof v !== 'string') continue
      let u: URL
      try { u = new URL(v, base) } catch { continue }
      // "only ... if the host part is the same as in the target URI" (§4.4)
      if (u.protocol === 'http:' && u.host.toLowerCase() === ctx.host.toLowerCase()) cache.invalidate(primaryKey('http', u.host, u.pathname + u.search))
    }
  }

  /**
   * HEAD freshening (RFC 9111 §4.3.5): a HEAD response updates the stored GET it matches, or
   * invalidates it when its validators or Content-Length show the representation changed.
   */
  async #headFreshen (now: number): Promise<void> {
    const s = this.#s
    const ctx = this.#ctx
    let found = s.cache!.lookup(ctx.key, ctx.req.headers)
    if (found instanceof Promise) found = await found
    const entry = found.entry
    if (entry === undefined) return
    const h = this.#headers
    const changed = (name: string, stored: string | string[] | undefined): boolean => h[name] !== undefined && h[name] !== stored
    if (changed('etag', entry.etag) || changed('last-modified', entry.lastModified) || changed('content-length', entry.headers['content-length'])) {
      await s.cache!.remove(ctx.key, entry, now)
      return
    }
    const { cc, target } = effectiveDirectives(h, s.config.cache.targets)
    const update = storedHeaders(h, cc, s.entryOptions, now)
    const fresh = freshen(entry, update, h.age, cc, target, { requestTime: this.#requestTime, responseTime: now }, s.entryOptions)
    await s.cache!.replace(ctx.key, new Map([[entry, fresh]]), now)
  }

  /** Serves the stale entry for an origin error when stale-if-error allows (RFC 5861 §4). */
  #staleIfError (entry: StoredResponse, now: number, grace: number): boolean {
    if (this.#clientGone && this.#ctx.res !== undefined) return false
    const allowed = staleIfErrorAllowed(entry, this.#ctx.reqCC, grace, now)
    if (!allowed) return false
    this.#discard = true
    this.#settle(RELEASED)
    this.#s.serveStored(this.#ctx, entry, now, { fwd: this.#fwd, fwdStatus: this.#status, detail: 'stale-if-error' })
    return true
  }

  /**
   * Folds a 304 into the stored response(s) it identifies (RFC 9111 §4.3.3, §4.3.4) and serves
   * the freshened response.
   */
  #fold (now: number, cc: CacheControl, target: string | undefined): void {
    const s = this.#s
    const ctx = this.#ctx
    const entry = this.#entry!
    this.#discard = true
    void (async () => {
      // §4.3.4: the candidates are the stored responses this request could have selected (§4.1).
      const variants = (await s.cache!.variants(ctx.key)).filter(v => variantMatches(v, ctx.req.headers))
      const selected = select304(variants, this.#headers, entry)
      if (!selected.includes(entry)) {
        // "If none of the stored responses contain the same strong validator, then the cache MUST
        // NOT use the new response to update any stored responses": fetch it whole instead.
        this.#settle(RELEASED)
        if (!this.#clientGone) s.exchange(ctx, undefined, this.#fwd, undefined)
        return
      }
      const update = storedHeaders(this.#headers, cc, s.entryOptions, now)
      const times = { requestTime: this.#requestTime, responseTime: now }
      const updates = new Map<StoredResponse, StoredResponse>()
      for (const v of selected) updates.set(v, freshen(v, update, this.#headers.age, cc, target, times, s.entryOptions))
      const served = updates.get(entry)!
      if (cc.noStore) {
        // A 304 carrying no-store: the response is served once and not kept (§3, §5.2.2.5).
        await s.cache!.remove(ctx.key, entry, now)
        this.#settle(RELEASED)
      } else {
        await s.cache!.replace(ctx.key, updates, now)
        this.#settle(STORED)
      }
      s.serveStored(ctx, served, now, { fwd: this.#fwd, fwdStatus: 304 })
    })().catch(err => this.error(err as Error))
  }

  #writeHead (maySend304: boolean): void {
    const res = this.#ctx.res
    if (res === undefined || this.#clientGone) return
    const s = this.#s
    const h = this.#ctx.req.headers
    const inm = h['if-none-match']
    const ims = h['if-modified-since']
    const head = forwardedHead(this.#headers, s.entryOptions.stripFields, s.entryOptions.via, this.#cacheStatus, this.#responseTime)
    // The client's validators were replaced by ours when filling (§4.3.1), so the cache answers
    // the client's conditional itself against the new response (RFC 9110 §13.2.2).
    if (maySend304 && this.#cacheable && (inm !== undefined || ims !== undefined) &&
        shouldAnswer304({ ifNoneMatch: inm, ifModifiedSince: ims }, { etag: firstValue(this.#headers.etag), lastModified: firstValue(this.#headers['last-modified']), date: firstValue(this.#headers.date) })) {
      // The same fields as a 304 from the store (RFC 9110 §15.4.5), plus Via and Cache-Status.
      const keep = fields304(this.#headers.etag !== undefined)
      const head304: string[] = []
      for (let i = 0; i < head.length; i += 2) {
        const name = head[i]!
        if (keep.includes(name) || name === 'via' || name === 'cache-status') head304.push(name, head[i + 1]!)
      }
      res.writeHead(304, head304)
      res.end()
      this.#s.logDone(this.#ctx, 304, this.#cacheStatus, this.#kind())
      // Nobody needs the body when it is not being stored.
      if (this.#chunks === undefined) {
        this.#discard = true
        this.#running?.abort(new Error('body not needed'))
      }
      return
    }
    res.writeHead(this.#status, this.#statusMessage, head)
    this.#sendBody = this.#ctx.method !== 'HEAD'
    if (!this.#sendBody) {
      res.end()
      this.#s.logDone(this.#ctx, this.#status, this.#cacheStatus, this.#kind())
    }
  }

  /** How this exchange counts in metrics. */
  #kind (): ServedKind {
    return this.#cacheable ? 'miss' : 'pass'
  }

  data (chunk: Buffer): boolean {
    if (this.#discard) return true
    if (this.#chunks !== undefined) {
      const at = this.#bytes
      this.#bytes += chunk.length
      if (this.#body !== undefined) {
        // Content-Length known: copy into the one buffer that will be stored (no concat later).
        if (this.#bytes <= this.#body.length) chunk.copy(this.#body, at)
      } else if (this.#bytes > this.#s.config.cache.maxEntrySize) {
        // Past the per-entry limit: stop storing, stream the rest with backpressure.
        this.#chunks = undefined
        this.#s.collapser?.markUncacheable(this.#ctx.key, this.#s.clock())
        this.#settle(RELEASED)
        if (this.#clientGone) { this.#running?.abort(new Error('client closed the connection')); return true }
      } else {
        this.#chunks.push(chunk)
      }
    }
    if (!this.#sendBody || this.#clientGone) return true
    const res = this.#ctx.res!
    this.#ctx.bytes += chunk.length
    const ok = res.write(chunk)
    // While storing, the upstream is never paused for one slow client: memory is bounded by the
    // per-entry limit, and waiters depend on the body arriving.
    if (ok || this.#chunks !== undefined) return true
    res.once('drain', () => this.#running?.resume())
    return false
  }

  end (): void {
    const ctx = this.#ctx
    const s = this.#s
    if (this.#discard) return
    const chunks = this.#chunks
    if (chunks !== undefined) {
      const body = this.#body ?? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#bytes))
      const cl = this.#headers['content-length']
      // Store only a body that arrived whole: it must match Content-Length when one was sent.
      if (typeof cl === 'string' && Number(cl) !== this.#bytes) {
        this.#settle(RELEASED)
      } else {
        this.#store(body)
      }
    } else {
      this.#settle(RELEASED)
    }
    if (this.#sendBody && !this.#clientGone) {
      ctx.res!.end()
      s.logDone(ctx, this.#status, this.#cacheStatus, this.#kind())
    }
  }

  #store (body: Buffer): void {
    const s = this.#s
    const ctx = this.#ctx
    const cc = this.#cc
    const target = this.#target
    const fields = varyFields(this.#headers.vary)
    const entry = buildStored({
      status: this.#status,
      statusMessage: this.#statusMessage,
      headers: storedHeaders(this.#headers, cc, s.entryOptions, this.#responseTime),
      body,
      cc,
      target,
      varyFields: fields,
      varyKey: secondaryKey(fields, ctx.req.headers),
      times: { requestTime: this.#requestTime, responseTime: this.#responseTime },
      age: this.#headers.age,
      tags: parseTags(this.#headers, s.config.tags.headers)
    }, s.entryOptions)
    s.collapser?.markCacheable(ctx.key)
    s.cache!.put(ctx.key, entry, ctx.req.headers, s.clock())
      .then(() => this.#settle(STORED), () => this.#settle(RELEASED))
  }

  error (err: Error): void {
    const code = upstreamCode(err)
    this.#s.observer?.upstreamError(code)
    this.#chunks = undefined
    this.#settle({ kind: 'failed', code })
    const res = this.#ctx.res
    if (res === undefined || this.#clientGone) return
    if (this.#discard) {
      // The client is (being) answered from the store; only a fold that failed before serving
      // still owes it an answer.
      if (!res.headersSent) this.#s.fail(this.#ctx, code, this.#entry, this.#fwd)
      return
    }
    if (res.headersSent) {
      // Mid-body failure: the only honest signal left is to cut the connection.
      res.destroy()
      this.#s.logDone(this.#ctx, this.#status, this.#cacheStatus + '; detail=' + code, 'error')
      return
    }
    this.#s.fail(this.#ctx, code, this.#entry, this.#fwd)
  }

  #settle (o: Outcome): void {
    const f = this.#flight
    if (f === undefined) return
    this.#flight = undefined
    this.#s.collapser!.finish(this.#ctx.key, f, o)
  }
}


/**
 * Selects the stored responses a 304 identifies (RFC 9111 §4.3.4): all with its strong ETag;
 * else the most recent matching its weak ETag or Last-Modified; with no validator, the response
 * that was revalidated.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4
 */
export function select304 (variants: readonly StoredResponse[], headers: Headers, revalidated: StoredResponse): StoredResponse[] {
  const tag = parseETag(firstValue(headers.etag))
  if (tag !== undefined && !tag.weak) {
    return variants.filter(v => { const t = parseETag(v.etag); return t !== undefined && strongMatch(t, tag) })
  }
  const lm = firstValue(headers['last-modified'])
  if (tag !== undefined || lm !== undefined) {
    const hit = variants.find(v => {
      const t = parseETag(v.etag)
      if (tag !== undefined) return t !== undefined && weakMatch(t, tag)
      return v.lastModified === lm
    })
    return hit === undefined ? [] : [hit]
  }
  // Deviation: the RFC updates a validator-less 304 only when the stored response also lacks
  // validators; a 304 to the cache's own conditional request answers that request, so freshgate
  // updates the response it validated (README "Standards").
  return variants.includes(revalidated) ? [revalidated] : []
}
