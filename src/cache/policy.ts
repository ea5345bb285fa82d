// RFC 9111 decisions for a shared cache, as pure functions of header values and `now`.
// Nothing here does I/O or reads the clock: callers pass times in milliseconds.

import type { CacheControl } from '../http/cache-control.ts'
import { parseHttpDate, parseDeltaSeconds, DELTA_SECONDS_MAX } from '../http/dates.ts'
import { singleField, splitList, firstValue } from '../http/fields.ts'
import { parseETag, strongMatch, weakMatch } from '../http/conditional.ts'

/** Why a response was not stored; the `detail` of Cache-Status (RFC 9211 §2.8). */
export type NotStoredReason =
  /** `no-store` in the response or the request */
  | 'no-store'
  /** unqualified `private` */
  | 'private'
  /** the request carried Authorization and the response did not allow shared caching (§3.5) */
  | 'authorization'
  /** Set-Cookie under the configured cookie policy */
  | 'set-cookie'
  /** larger than the per-entry limit */
  | 'too-large'
  /** neither explicit freshness nor a validator nor heuristic freshness */
  | 'no-validator-or-freshness'
  /** a status code the cache may not store (interim, partial, 304, not understood) */
  | 'status'
  /** `Vary: *` can never be matched (§4.1) */
  | 'vary-star'
  /** the body did not arrive whole */
  | 'incomplete'
  /** the request method is not one the cache stores */
  | 'method'
  /** the store is disabled (max size 0) */
  | 'disabled'

/**
 * Statuses freshgate understands (RFC 9110 §15), required when `must-understand` is present
 * (RFC 9111 §3). 206 and 304 are understood but never stored as complete responses.
 */
export const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426,
  500, 501, 502, 503, 504, 505
])

/** Statuses that are heuristically cacheable (RFC 9110 §15.1). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])

/** Settings the storage and freshness rules depend on. */
export interface PolicyOptions {
  /** fraction of (Date − Last-Modified) used as heuristic freshness */
  heuristicFraction: number
  /** cap on heuristic freshness, ms */
  heuristicMaxAge: number
  /**
   * what to do with responses carrying Set-Cookie: store only public/s-maxage ones without the
   * field (unless-public), store any without it (strip), never store them (never), or store them
   * with the field and replay it to every client (store: dangerous, an explicit operator choice)
   */
  setCookie: 'unless-public' | 'strip' | 'never' | 'store'
}

/** What storable() needs to know about the exchange. */
export interface StorableInput {
  method: string
  status: number
  /** response headers, lowercased names */
  resHeaders: Record<string, string | string[] | undefined>
  /** the effective response directives (targeted field or Cache-Control) */
  resCC: CacheControl
  reqCC: CacheControl
  reqHasAuthorization: boolean
  /** true when a targeted field (RFC 9213) supplied resCC: Expires is then ignored */
  targeted: boolean
  /** when the response arrived, ms; stands in for a missing Date (RFC 9111 §4.2.1) */
  responseTime?: number
  /** the response's Content-Location names the request's target URI (see contentLocationIsTarget) */
  contentLocationIsTarget?: boolean
}

/**
 * May a shared cache store this response? One condition per clause of RFC 9111 §3.
 * Returns undefined when it may, or the reason it may not.
 * https://www.rfc-editor.org/rfc/rfc9111#section-3
 */
export function notStorableReason (x: StorableInput, opts: PolicyOptions): NotStoredReason | undefined {
  const { resCC, reqCC } = x
  const explicit = resCC.sMaxAge !== undefined || resCC.maxAge !== undefined || (!x.targeted && x.resHeaders.expires !== undefined)
  // "the request method is understood by the cache" — GET, and POST where RFC 9110 §9.3.3 makes
  // the response reusable: "only ... when they include explicit freshness information and a
  // Content-Location header field that has the same value as the POST's target URI".
  if (x.method !== 'GET' && !(x.method === 'POST' && x.contentLocationIsTarget === true && explicit)) return 'method'
  // "the response status code is final"; 206 and 304 are never stored as complete responses here.
  // Interim (1xx) responses are forwarded, never stored.
  if (x.status < 200 || x.status === 206 || x.status === 304) return 'status'
  // "if ... the must-understand cache directive is present: the cache understands the response status code"
  if (resCC.mustUnderstand && !UNDERSTOOD_STATUSES.has(x.status)) return 'status'
  // "the no-store cache directive is not present in the response" (must-understand overrides it only
  // when the status is understood, §5.2.2.3).
  if (resCC.noStore && !(resCC.mustUnderstand && UNDERSTOOD_STATUSES.has(x.status))) return 'no-store'
  // RFC 9111 §5.2.1.5: a request no-store forbids storing any response to it.
  if (reqCC.noStore) return 'no-store'
  // "if the cache is shared: the private response directive is either not present or allows a
  // shared cache to store a modified response" (private="fields" allows it, §5.2.2.7).
  if (resCC.private) return 'private'
  // "if the cache is shared: the Authorization header field is not present in the request or a
  // response directive is present that explicitly allows shared caching" (§3.5).
  if (x.reqHasAuthorization && !allowsAuthorized(resCC)) return 'authorization'
  // Vary: * can never be selected (§4.1), so storing it is pointless.
  if (varyIsStar(x.resHeaders.vary)) return 'vary-star'
  // Set-Cookie: the configured policy (README "Standards" explains the default).
  if (x.resHeaders['set-cookie'] !== undefined) {
    if (opts.setCookie === 'never') return 'set-cookie'
    if (opts.setCookie === 'unless-public' && !(resCC.public || resCC.sMaxAge !== undefined)) return 'set-cookie'
  }
  // "the response contains at least one of: a public response directive; an Expires header field;
  // a max-age response directive; an s-maxage response directive; a status code that is defined as
  // heuristically cacheable". freshgate also requires that the response can ever be used: fresh
  // for some time, or revalidatable; a response with neither would be stored only to be discarded.
  const heuristicOk = HEURISTIC_STATUSES.has(x.status) || resCC.public
  if (!explicit && !heuristicOk) return 'no-validator-or-freshness'
  const hasValidator = x.resHeaders.etag !== undefined || x.resHeaders['last-modified'] !== undefined
  if (!hasValidator && freshnessLifetime(x.status, x.resHeaders, resCC, opts, x.targeted, x.responseTime) <= 0) return 'no-validator-or-freshness'
  return undefined
}

/**
 * The §3.5 rule, one home for storing and reusing: a response to (or reused for) a request with
 * Authorization must carry a directive that explicitly allows shared caching: public, s-maxage or
 * must-revalidate.
 * https://www.rfc-editor.org/rfc/rfc9111#section-3.5
 */
export function allowsAuthorized (cc: CacheControl): boolean {
  return cc.public || cc.sMaxAge !== undefined || cc.mustRevalidate
}

/** Settings that bound how long a stored response is kept past its freshness. */
export interface KeepOptions {
  /** how long past staleness a response with a validator is kept for revalidation, ms */
  keepStale: number
  /** the operator's stale-if-error grace, ms */
  staleIfErrorGrace: number
}

/**
 * When no rule can use a stored response any more (ms since the epoch): its fresh lifetime plus the
 * longest stale use still possible — revalidation (with a validator), stale-while-revalidate,
 * stale-if-error, the operator's grace, or a client's max-stale (a minute for responses with none).
 */
export function keepUntil (s: StoredFreshness & { etag: string | undefined, lastModified: string | undefined }, opts: KeepOptions): number {
  const freshUntil = s.responseTime + Math.max(0, s.lifetime - s.initialAge)
  const validator = s.etag !== undefined || s.lastModified !== undefined
  const keep = Math.max(
    validator ? opts.keepStale : 0,
    (s.cc.staleWhileRevalidate ?? 0) * 1000,
    (s.cc.staleIfError ?? 0) * 1000,
    opts.staleIfErrorGrace,
    60_000
  )
  return freshUntil + keep
}

/**
 * Applies an operator's default TTL to a response without explicit freshness (no s-maxage,
 * max-age or — unless a targeted field governs — Expires). An opt-in deviation from RFC 9111
 * §4.2.2, which leaves such responses to heuristics; README "Standards" documents it.
 */
export function withDefaultTtl (cc: CacheControl, headers: Record<string, string | string[] | undefined>, ttlMs: number, targeted: boolean): CacheControl {
  if (ttlMs <= 0 || cc.sMaxAge !== undefined || cc.maxAge !== undefined || (!targeted && headers.expires !== undefined)) return cc
  return { ...cc, maxAge: Math.floor(ttlMs / 1000) }
}

/**
 * True when a response's Content-Location names the request's target URI (RFC 9110 §8.7): the
 * value resolved against the target, compared without the fragment. `target` is absolute.
 * https://www.rfc-editor.org/rfc/rfc9110#section-9.3.3
 */
export function contentLocationIsTarget (contentLocation: string | string[] | undefined, target: string): boolean {
  if (typeof contentLocation !== 'string') return false
  try {
    const t = new URL(target)
    const u = new URL(contentLocation, t)
    u.hash = ''
    t.hash = ''
    return u.href === t.href
  } catch {
    return false
  }
}

/** True when a Vary field value contains `*`. */
export function varyIsStar (vary: string | string[] | undefined): boolean {
  if (vary === undefined) return false
  const v = Array.isArray(vary) ? vary.join(',') : vary
  return v.split(',').some(f => f.trim() === '*')
}

/**
 * Freshness lifetime in milliseconds (RFC 9111 §4.2.1): s-maxage, then max-age, then
 * Expires − Date (unless a targeted field governs), then heuristic freshness where §4.2.2 allows it. An invalid or repeated
 * Expires means already expired. `received` (ms) stands in for a missing or invalid Date.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
 */
export function freshnessLifetime (status: number, headers: Record<string, string | string[] | undefined>, cc: CacheControl, opts: PolicyOptions, targeted = false, received?: number): number {
  if (cc.sMaxAge !== undefined) return cc.sMaxAge * 1000
  if (cc.maxAge !== undefined) return cc.maxAge * 1000
  // §4.2.1: Expires minus Date, "using the time the message was received if it is not present".
  const date = parseHttpDate(singleField(headers.date)) ?? received
  // RFC 9213 §2.2: a cache using a targeted field ignores Expires.
  if (headers.expires !== undefined && !targeted) {
    // §5.3: "A cache recipient MUST interpret invalid date formats, especially the value "0", as
    // representing a time in the past"; §4.2.1: a repeated field may be treated as stale.
    const expires = parseHttpDate(singleField(headers.expires))
    if (expires === undefined || date === undefined) return 0
    return Math.max(0, expires - date)
  }
  // §4.2.2: heuristic freshness only without explicit expiration, for heuristically cacheable
  // statuses or responses marked public, and (as the RFC encourages) from Last-Modified.
  if (!(HEURISTIC_STATUSES.has(status) || cc.public)) return 0
  const lastModified = parseHttpDate(singleField(headers['last-modified']))
  if (lastModified === undefined || date === undefined || lastModified > date) return 0
  return Math.min(Math.floor((date - lastModified) * opts.heuristicFraction), opts.heuristicMaxAge)
}

/** Times of an exchange, in ms since the epoch. */
export interface ExchangeTimes {
  /** when the request was sent upstream */
  requestTime: number
  /** when the response headers arrived */
  responseTime: number
}

/**
 * The corrected initial age in ms (RFC 9111 §4.2.3): what a response's age was when it arrived.
 * current_age = corrected_initial_age + resident_time, so the caller adds (now − responseTime).
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
 */
export function correctedInitialAge (headers: Record<string, string | string[] | undefined>, times: ExchangeTimes): number {
  const dateValue = parseHttpDate(singleField(headers.date)) ?? times.responseTime
  // §5.1: a list-based Age "SHOULD use the first member", and an invalid one is ignored; a huge one saturates.
  const ageValue = (parseDeltaSeconds(splitList(headers.age)[0]) ?? 0) * 1000
  const apparentAge = Math.max(0, times.responseTime - dateValue)
  const responseDelay = times.responseTime - times.requestTime
  const correctedAgeValue = ageValue + responseDelay
  return Math.min(Math.max(apparentAge, correctedAgeValue), DELTA_SECONDS_MAX * 1000)
}

/** What the cache does with a stored response for a request (RFC 9111 §4). */
export type Decision =
  /** fresh and acceptable: serve it */
  | 'fresh'
  /** stale but the request's max-stale accepts it (§4.2.4): serve it */
  | 'stale-ok'
  /** stale within stale-while-revalidate: serve it and revalidate in the background (RFC 5861 §3) */
  | 'stale-while-revalidate'
  /** must be revalidated before use (§4.3) */
  | 'revalidate'

/** The parts of a stored response the decision depends on. */
export interface StoredFreshness {
  /** freshness lifetime, ms */
  lifetime: number
  /** corrected initial age, ms */
  initialAge: number
  /** when the response arrived, ms */
  responseTime: number
  /** effective response directives */
  cc: CacheControl
}

/** Current age in ms (RFC 9111 §4.2.3). */
export function currentAge (s: StoredFreshness, now: number): number {
  return s.initialAge + Math.max(0, now - s.responseTime)
}

/** True when neither max-stale nor the stale-* extensions may apply: must-revalidate, proxy-revalidate or s-maxage (§4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10). */
export function staleForbidden (cc: CacheControl): boolean {
  return cc.mustRevalidate || cc.proxyRevalidate || cc.sMaxAge !== undefined
}

/**
 * Chooses what to do with a stored response for a request with directives `req`, at `now`.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4
 */
export function decide (s: StoredFreshness, req: CacheControl, reqPragmaNoCache: boolean, now: number): Decision {
  // §5.2.2.4 / §5.2.1.4: no-cache in the response or the request means revalidate before use.
  if (s.cc.noCache || req.noCache || reqPragmaNoCache) return 'revalidate'
  const age = currentAge(s, now)
  const ttl = s.lifetime - age
  // §5.2.1.1: the client does not accept a response older than max-age.
  const ageOk = req.maxAge === undefined || age <= req.maxAge * 1000
  // §5.2.1.3: the client wants at least min-fresh seconds of freshness left.
  const minFreshOk = req.minFresh === undefined || ttl >= req.minFresh * 1000
  if (ttl > 0 && ageOk && minFreshOk) return 'fresh'
  if (ttl > 0) return 'revalidate'
  const staleness = -ttl
  if (staleForbidden(s.cc)) return 'revalidate'
  // §4.2.4 / §5.2.1.2: the client accepts this much staleness.
  if (req.maxStale !== undefined && staleness <= req.maxStale * 1000 && ageOk && req.minFresh === undefined) return 'stale-ok'
  // RFC 5861 §3: stale-while-revalidate window.
  if (s.cc.staleWhileRevalidate !== undefined && staleness <= s.cc.staleWhileRevalidate * 1000 && req.maxAge === undefined && req.minFresh === undefined) {
    return 'stale-while-revalidate'
  }
  return 'revalidate'
}

/**
 * May a stale response be served because the origin failed (RFC 5861 §4)? The response's or the
 * request's stale-if-error window, or the operator's grace, bounds the staleness; must-revalidate,
 * proxy-revalidate and s-maxage forbid it.
 * https://www.rfc-editor.org/rfc/rfc5861#section-4
 */
export function staleIfErrorAllowed (s: StoredFreshness, req: CacheControl, reqPragmaNoCache: boolean, graceMs: number, now: number): boolean {
  // A no-cache response may never be used without a successful revalidation (§5.2.2.4).
  if (staleForbidden(s.cc) || s.cc.noCache) return false
  // A client that sent no-cache asked for a validated response (§5.2.1.4); only a stale-if-error
  // of its own lets it accept a stale one instead.
  if ((req.noCache || reqPragmaNoCache) && req.staleIfError === undefined) return false
  const staleness = currentAge(s, now) - s.lifetime
  const window = Math.max((s.cc.staleIfError ?? 0) * 1000, (req.staleIfError ?? 0) * 1000, graceMs)
  return window > 0 && staleness <= window
}

/**
 * Selects the stored responses a 304 identifies (RFC 9111 §4.3.4): all with its strong ETag;
 * else the most recent matching its weak ETag or Last-Modified; with no validator, the response
 * that was revalidated.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4
 */
export function select304<R extends { id: string, etag: string | undefined, lastModified: string | undefined }> (variants: readonly R[], headers: Record<string, string | string[] | undefined>, revalidated: R): R[] {
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
  return variants.filter(v => v.id === revalidated.id)
}
