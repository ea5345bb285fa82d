// Decide, then act: what the cache does with a request (given what is stored) and with an
// upstream response (given what was being revalidated). Pure: facts and `now` in, a plan out.
// The handler carries the plans out; nothing here does I/O or reads the clock.

import type { CacheControl } from '../http/cache-control.ts'
import type { ErrorCode } from '../errors.ts'
import type { StoredRecord, Headers } from './contract.ts'
import { decide, staleIfErrorAllowed, staleForbidden, allowsAuthorized, notStorableReason, type NotStoredReason, type PolicyOptions } from './policy.ts'

/** The `fwd` parameter of Cache-Status (RFC 9211 §2.2): why a request went forward. */
export type Forward =
  /** the cache was configured not to handle this request */
  | 'bypass'
  /** the request method is not cacheable */
  | 'method'
  /** nothing stored for the URI */
  | 'uri-miss'
  /** something stored for the URI, but no variant matched */
  | 'vary-miss'
  /** a stored response could not be used for another reason (e.g. hit-for-miss) */
  | 'miss'
  /** request directives (no-cache, max-age, Authorization…) required going forward */
  | 'request'
  /** the stored response was stale and was revalidated */
  | 'stale'
  /** only part of the response was stored (Range) */
  | 'partial'

/** What a request says about itself, for planning. */
export interface RequestFacts {
  /** the method as sent */
  method: string
  /** the cache handles this request's route (enabled, and a store exists) */
  cacheable: boolean
  /** the request carries Cookie and its route passes such requests (cache.requestCookies: pass) */
  cookiePass: boolean
  reqCC: CacheControl
  /** Pragma: no-cache without Cache-Control (§5.4) */
  pragma: boolean
  authorization: boolean
  /** If-Match or If-Unmodified-Since: conditionals only the origin evaluates (§4.3.2) */
  originConditional: boolean
  /** a Range field is present */
  range: boolean
  /** collapsing is enabled */
  collapse: boolean
  /** a Range miss also fetches the whole response in the background */
  rangeFill: boolean
}

/** Going upstream. */
export interface ForwardPlan {
  kind: 'forward'
  fwd: Forward
  /** send the stored entry's validators (RFC 9111 §4.3.1) */
  validate: boolean
  /** the response may be stored: the client's conditionals and Range are replaced by the cache's own */
  fill: boolean
  /** lead or join a collapsed flight for the key */
  collapse: boolean
  /** also start a background fill of the whole response (a Range miss) */
  backgroundFill: boolean
}

/** What to do with a request. */
export type RequestPlan =
  /** serve the stored entry (fresh, or stale the client accepts) */
  | { kind: 'serve' }
  /** serve the stale entry and revalidate it in the background (RFC 5861 §3) when `revalidate` */
  | { kind: 'serve-stale-while-revalidate', revalidate: boolean }
  | ForwardPlan
  /** answer with an error of our own */
  | { kind: 'fail', code: ErrorCode, fwd: Forward }

const METHOD: ForwardPlan = Object.freeze({ kind: 'forward', fwd: 'method', validate: false, fill: false, collapse: false, backgroundFill: false })
const BYPASS: ForwardPlan = Object.freeze({ kind: 'forward', fwd: 'bypass', validate: false, fill: false, collapse: false, backgroundFill: false })
const ORIGIN_CONDITIONAL: ForwardPlan = Object.freeze({ kind: 'forward', fwd: 'request', validate: false, fill: false, collapse: false, backgroundFill: false })
const SERVE = Object.freeze({ kind: 'serve' as const })

/**
 * Plans a request against the variant it selected (RFC 9111 §4).
 * https://www.rfc-editor.org/rfc/rfc9111#section-4
 */
export function planRequest (f: RequestFacts, found: { entry: StoredRecord | undefined, hasVariants: boolean }, now: number): RequestPlan {
  if (!f.cacheable) return BYPASS
  // The operator's choice (Varnish's builtin): a request with cookies is the user's own, never the
  // cache's. RFC 9111 lets a shared cache use it; README "Standards" lists this as opt-in.
  if (f.cookiePass) return BYPASS
  if (f.method !== 'GET' && f.method !== 'HEAD') return METHOD
  // "A cache MUST NOT evaluate conditional header fields that only apply to an origin server"
  // (§4.3.2): such requests go to the origin as they are.
  if (f.originConditional) return ORIGIN_CONDITIONAL
  const get = f.method === 'GET'
  // Requests whose own headers rule out storing neither lead nor join a flight, nor fetch for everyone.
  const shareable = !f.authorization && !f.reqCC.noStore
  const entry = found.entry
  if (entry !== undefined) {
    // §3.5: a request with Authorization is answered from the cache only by a response that
    // explicitly allowed shared caching.
    if (f.authorization && !allowsAuthorized(entry.cc)) return forward('request', get, get, false)
    const d = decide(entry, f.reqCC, f.pragma, now)
    if (d === 'fresh' || d === 'stale-ok') return SERVE
    // §5.2.1.7: only-if-cached never goes forward.
    if (f.reqCC.onlyIfCached) return { kind: 'fail', code: 'FG_ONLY_IF_CACHED', fwd: 'stale' }
    if (d === 'stale-while-revalidate') return { kind: 'serve-stale-while-revalidate', revalidate: shareable }
    const fwd: Forward = f.reqCC.noCache || f.pragma || f.reqCC.maxAge !== undefined || f.reqCC.minFresh !== undefined ? 'request' : 'stale'
    return forward(fwd, get, get, f.collapse && get && fwd !== 'request' && shareable)
  }
  const fwd: Forward = found.hasVariants ? 'vary-miss' : 'uri-miss'
  if (f.reqCC.onlyIfCached) return { kind: 'fail', code: 'FG_ONLY_IF_CACHED', fwd }
  // A Range miss goes to the origin as it is, so the origin answers the range; when configured,
  // the whole representation is fetched in the background to fill the cache.
  if (f.range && get) return { kind: 'forward', fwd, validate: false, fill: false, collapse: false, backgroundFill: f.rangeFill && shareable }
  return forward(fwd, false, get, f.collapse && get && shareable)
}

function forward (fwd: Forward, validate: boolean, fill: boolean, collapse: boolean): ForwardPlan {
  return { kind: 'forward', fwd, validate, fill, collapse, backgroundFill: false }
}

/** What to do when the origin could not be reached (refused, reset, timed out) for a stored entry. */
export type FailurePlan =
  /** serve the stale entry (RFC 5861 §4 stale-if-error, or the operator's grace) */
  | { kind: 'serve-stale' }
  /** answer with this error */
  | { kind: 'fail', code: ErrorCode }

/**
 * Plans the answer to an upstream failure: stale-if-error or the operator's grace (RFC 9111
 * §4.2.4: a cache disconnected from the origin may serve stale) when allowed, else the error — a 504
 * FG_REVALIDATION_FAILED when the stale entry must not be served unvalidated (RFC 9111 §4.3.3,
 * §5.2.2.2).
 */
export function planFailure (code: ErrorCode, entry: StoredRecord | undefined, reqCC: CacheControl, pragma: boolean, graceMs: number, now: number): FailurePlan {
  if (entry === undefined || code === 'FG_ONLY_IF_CACHED') return { kind: 'fail', code }
  if (staleIfErrorAllowed(entry, reqCC, pragma, graceMs, now)) return { kind: 'serve-stale' }
  if (staleForbidden(entry.cc)) return { kind: 'fail', code: 'FG_REVALIDATION_FAILED' }
  return { kind: 'fail', code }
}

/** What an upstream response head says, for planning. */
export interface ResponseFacts {
  /** the method sent upstream */
  method: string
  /** the plan allowed storing (a fill, a revalidation, or a POST that may name its own URI) */
  fill: boolean
  status: number
  headers: Headers
  /** effective response directives (targeted field or Cache-Control, with the route's default TTL) */
  cc: CacheControl
  /** a targeted field governed */
  targeted: boolean
  /** the stored entry being revalidated, if any */
  entry: StoredRecord | undefined
  reqCC: CacheControl
  pragma: boolean
  authorization: boolean
  /** largest storable body */
  maxEntrySize: number
  /** the response's Content-Location names the target URI (a POST response may be stored, RFC 9110 §9.3.3) */
  contentLocationIsTarget: boolean
}

/** What to do with an upstream response. */
export type ResponsePlan =
  /** a 304 for the entry being revalidated: fold it into the stored response(s) (§4.3.3, §4.3.4) */
  | { kind: 'fold' }
  /** an error status while revalidating, and stale-if-error allows the stale entry (RFC 5861 §4) */
  | { kind: 'serve-stale' }
  /** stream it to the client and store it */
  | { kind: 'store' }
  /** stream it to the client only; `reason` when storing was refused, `uncacheable` to remember the key (hit-for-miss) */
  | { kind: 'pass', reason: NotStoredReason | undefined, uncacheable: boolean }

const PASS: ResponsePlan = Object.freeze({ kind: 'pass', reason: undefined, uncacheable: false })

/**
 * Plans an upstream response for a request that may fill the cache (RFC 9111 §3, §4.3.3, RFC 5861 §4).
 * https://www.rfc-editor.org/rfc/rfc9111#section-3
 */
export function planResponse (x: ResponseFacts, opts: PolicyOptions, now: number): ResponsePlan {
  // RFC 5861 §4: "stale-if-error ... when an error is encountered" includes these statuses. The
  // operator's grace is for an origin that cannot be reached (planFailure): an origin that answers
  // 5xx is serving stale only where stale-if-error allows it. A HEAD revalidation falls back the same way.
  if (x.entry !== undefined && x.status >= 500 && x.status <= 504 && staleIfErrorAllowed(x.entry, x.reqCC, x.pragma, 0, now)) return { kind: 'serve-stale' }
  if (!x.fill) return PASS
  if (x.status === 304 && x.entry !== undefined) return { kind: 'fold' }
  let reason = notStorableReason({
    method: x.method,
    status: x.status,
    resHeaders: x.headers,
    resCC: x.cc,
    reqCC: x.reqCC,
    reqHasAuthorization: x.authorization,
    targeted: x.targeted,
    responseTime: now,
    contentLocationIsTarget: x.contentLocationIsTarget
  }, opts)
  if (reason === undefined) {
    const cl = x.headers['content-length']
    if (typeof cl === 'string' && Number(cl) > x.maxEntrySize) reason = 'too-large'
  }
  if (reason === undefined) return { kind: 'store' }
  // A 5xx says the origin is failing, not that the key is uncacheable: keep collapsing.
  return { kind: 'pass', reason, uncacheable: x.status < 500 }
}
