// Table tests for the pure plans (cache/plan.ts): what the cache does with a request given what is
// stored (planRequest), with an upstream failure (planFailure) and with an upstream response
// (planResponse). Every branch of the three functions has a row; records are built the way the
// proxy builds them (storedHeaders + buildRecord over parseCacheControl).

import t from 'tap'
import { T0, S, at, entryOptions } from './fixtures.ts'
import { planRequest, planFailure, planResponse, type RequestFacts, type RequestPlan, type FailurePlan, type ResponseFacts, type ResponsePlan } from '../../src/cache/plan.ts'
import { buildRecord, storedHeaders, type Headers, type StoredRecord } from '../../src/cache/entry.ts'
import type { ErrorCode } from '../../src/errors.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { effectiveDirectives } from '../../src/http/targeted.ts'

const OPTS = entryOptions()

/** A stored 200 that arrived at T0 with `cc`, an ETag and a Date, built as the proxy builds it. */
function rec (cc: string, extra: Headers = {}): StoredRecord {
  const res: Headers = { date: at(0), etag: '"a"', 'cache-control': cc, ...extra }
  const parsed = parseCacheControl(cc)
  return buildRecord({
    key: 'http://example.com/a',
    status: 200,
    statusMessage: 'OK',
    headers: storedHeaders(res, parsed, OPTS, T0),
    bodySize: 4,
    cc: parsed,
    target: undefined,
    varyFields: [],
    varyKey: '',
    times: { requestTime: T0, responseTime: T0 },
    age: undefined,
    tags: []
  }, OPTS)
}

/** Request facts: an anonymous GET the cache handles, with collapsing on and no Range fill. */
function req (over: Partial<Omit<RequestFacts, 'reqCC'>> & { cc?: string } = {}): RequestFacts {
  const { cc, ...rest } = over
  return { method: 'GET', cacheable: true, cookiePass: false, reqCC: parseCacheControl(cc, 'ignore'), pragma: false, authorization: false, originConditional: false, range: false, collapse: true, rangeFill: false, ...rest }
}

const FRESH = rec('max-age=60')
const SWR = rec('max-age=60, stale-while-revalidate=300')
const SWR_PUBLIC = rec('public, max-age=60, stale-while-revalidate=300')
const STALE_AT = T0 + 70 * S
const IN_WINDOW = T0 + 120 * S

/** A forward plan, with every flag spelled out. */
function fwd (f: string, validate: boolean, fill: boolean, collapse: boolean, backgroundFill = false): RequestPlan {
  return { kind: 'forward', fwd: f, validate, fill, collapse, backgroundFill } as RequestPlan
}

t.test('planRequest (RFC 9111 §4, §4.3.2, §5.2.1; RFC 5861 §3)', async t => {
  interface Row { name: string, f: RequestFacts, entry?: StoredRecord, hasVariants?: boolean, now?: number, want: RequestPlan }
  const rows: Row[] = [
    // before anything is looked at
    { name: 'a route the cache does not handle → forward fwd=bypass, never filling', f: req({ cacheable: false }), entry: FRESH, want: fwd('bypass', false, false, false) },
    { name: 'a POST on a route the cache does not handle → forward fwd=bypass (bypass is decided first)', f: req({ cacheable: false, method: 'POST' }), want: fwd('bypass', false, false, false) },
    { name: 'a POST → forward fwd=method, never filling', f: req({ method: 'POST' }), entry: FRESH, want: fwd('method', false, false, false) },
    { name: 'a request with Cookie on a route that passes them → forward fwd=bypass, even with a fresh entry', f: req({ cookiePass: true }), entry: FRESH, now: T0 + 30 * S, want: fwd('bypass', false, false, false) },
    { name: 'a POST with Cookie on a route that passes them → forward fwd=bypass (not stored for GETs)', f: req({ cookiePass: true, method: 'POST' }), want: fwd('bypass', false, false, false) },
    { name: 'a DELETE with nothing stored → forward fwd=method', f: req({ method: 'DELETE' }), want: fwd('method', false, false, false) },
    { name: 'If-Match → forward to the origin as-is, never filling (§4.3.2)', f: req({ originConditional: true }), entry: FRESH, want: fwd('request', false, false, false) },
    { name: 'If-Unmodified-Since with nothing stored → forward as-is, not collapsed', f: req({ originConditional: true }), want: fwd('request', false, false, false) },

    // a stored entry: fresh
    { name: 'a fresh entry → serve', f: req(), entry: FRESH, now: T0 + 30 * S, want: { kind: 'serve' } },
    { name: 'a fresh entry and a HEAD → serve', f: req({ method: 'HEAD' }), entry: FRESH, now: T0 + 30 * S, want: { kind: 'serve' } },
    { name: 'a fresh entry and only-if-cached → serve', f: req({ cc: 'only-if-cached' }), entry: FRESH, now: T0 + 30 * S, want: { kind: 'serve' } },
    { name: 'a stale entry the request accepts with max-stale → serve', f: req({ cc: 'max-stale=20' }), entry: FRESH, now: STALE_AT, want: { kind: 'serve' } },

    // §3.5 Authorization
    { name: 'a fresh entry and a request with Authorization and a response without public → forward fwd=request, validate', f: req({ authorization: true }), entry: FRESH, now: T0, want: fwd('request', true, true, false) },
    { name: 'a fresh entry and a HEAD with Authorization and a response without public → forward fwd=request, no validators, no fill', f: req({ authorization: true, method: 'HEAD' }), entry: FRESH, now: T0, want: fwd('request', false, false, false) },
    { name: 'a fresh public entry and a request with Authorization → serve', f: req({ authorization: true }), entry: rec('public, max-age=60'), now: T0, want: { kind: 'serve' } },
    { name: 'a fresh s-maxage entry and a request with Authorization → serve', f: req({ authorization: true }), entry: rec('s-maxage=60'), now: T0, want: { kind: 'serve' } },
    { name: 'a fresh must-revalidate entry and a request with Authorization → serve', f: req({ authorization: true }), entry: rec('max-age=60, must-revalidate'), now: T0, want: { kind: 'serve' } },
    { name: 'a stale public entry and a request with Authorization → forward fwd=stale, validate, not collapsed', f: req({ authorization: true }), entry: rec('public, max-age=60'), now: STALE_AT, want: fwd('stale', true, true, false) },

    // only-if-cached
    { name: 'only-if-cached and a stale entry → FG_ONLY_IF_CACHED fwd=stale', f: req({ cc: 'only-if-cached' }), entry: FRESH, now: STALE_AT, want: { kind: 'fail', code: 'FG_ONLY_IF_CACHED', fwd: 'stale' } },
    { name: 'only-if-cached inside the stale-while-revalidate window → FG_ONLY_IF_CACHED (never forwards, even in the background)', f: req({ cc: 'only-if-cached' }), entry: SWR, now: IN_WINDOW, want: { kind: 'fail', code: 'FG_ONLY_IF_CACHED', fwd: 'stale' } },
    { name: 'only-if-cached and nothing stored → FG_ONLY_IF_CACHED fwd=uri-miss', f: req({ cc: 'only-if-cached' }), want: { kind: 'fail', code: 'FG_ONLY_IF_CACHED', fwd: 'uri-miss' } },
    { name: 'only-if-cached and no matching variant → FG_ONLY_IF_CACHED fwd=vary-miss', f: req({ cc: 'only-if-cached' }), hasVariants: true, want: { kind: 'fail', code: 'FG_ONLY_IF_CACHED', fwd: 'vary-miss' } },

    // stale-while-revalidate
    { name: 'an anonymous request inside the stale-while-revalidate window → serve stale and revalidate in the background', f: req(), entry: SWR, now: IN_WINDOW, want: { kind: 'serve-stale-while-revalidate', revalidate: true } },
    { name: 'a request with no-store inside the stale-while-revalidate window → serve stale, no background revalidation', f: req({ cc: 'no-store' }), entry: SWR, now: IN_WINDOW, want: { kind: 'serve-stale-while-revalidate', revalidate: false } },
    { name: 'a request with Authorization inside the window of a public entry → serve stale, no background revalidation', f: req({ authorization: true }), entry: SWR_PUBLIC, now: IN_WINDOW, want: { kind: 'serve-stale-while-revalidate', revalidate: false } },
    { name: 'a request with Authorization inside the window of a non-public entry → forward fwd=request (§3.5 first)', f: req({ authorization: true }), entry: SWR, now: IN_WINDOW, want: fwd('request', true, true, false) },
    { name: 'a HEAD inside the stale-while-revalidate window → serve stale and revalidate in the background', f: req({ method: 'HEAD' }), entry: SWR, now: IN_WINDOW, want: { kind: 'serve-stale-while-revalidate', revalidate: true } },
    { name: 'past the stale-while-revalidate window → forward fwd=stale, validate, collapse', f: req(), entry: SWR, now: T0 + 361 * S, want: fwd('stale', true, true, true) },

    // revalidation: why, and whether it collapses
    { name: 'a stale entry → forward fwd=stale, validate, fill, collapse', f: req(), entry: FRESH, now: STALE_AT, want: fwd('stale', true, true, true) },
    { name: 'a stale entry and collapsing off → forward fwd=stale, not collapsed', f: req({ collapse: false }), entry: FRESH, now: STALE_AT, want: fwd('stale', true, true, false) },
    { name: 'a stale entry and a HEAD → forward fwd=stale without validators, fill or collapse', f: req({ method: 'HEAD' }), entry: FRESH, now: STALE_AT, want: fwd('stale', false, false, false) },
    { name: 'a stale entry and a request with no-store → forward fwd=stale, validate, not collapsed', f: req({ cc: 'no-store' }), entry: FRESH, now: STALE_AT, want: fwd('stale', true, true, false) },
    { name: 'a no-cache entry, fresh → forward fwd=stale (the response asked for it), collapse', f: req(), entry: rec('max-age=60, no-cache'), now: T0, want: fwd('stale', true, true, true) },
    { name: 'a stale must-revalidate entry → forward fwd=stale, collapse', f: req(), entry: rec('max-age=60, must-revalidate'), now: STALE_AT, want: fwd('stale', true, true, true) },
    { name: 'a fresh entry and a request with no-cache → forward fwd=request, validate, not collapsed', f: req({ cc: 'no-cache' }), entry: FRESH, now: T0, want: fwd('request', true, true, false) },
    { name: 'a fresh entry and Pragma: no-cache → forward fwd=request, validate, not collapsed', f: req({ pragma: true }), entry: FRESH, now: T0, want: fwd('request', true, true, false) },
    { name: 'a fresh entry older than the request max-age → forward fwd=request, not collapsed', f: req({ cc: 'max-age=5' }), entry: FRESH, now: T0 + 10 * S, want: fwd('request', true, true, false) },
    { name: 'a fresh entry with less than the request min-fresh left → forward fwd=request, not collapsed', f: req({ cc: 'min-fresh=50' }), entry: FRESH, now: T0 + 30 * S, want: fwd('request', true, true, false) },
    { name: 'a stale entry and a request with max-age → forward fwd=request (the request governs)', f: req({ cc: 'max-age=3600' }), entry: SWR, now: IN_WINDOW, want: fwd('request', true, true, false) },

    // nothing stored
    { name: 'nothing stored → forward fwd=uri-miss, fill, collapse, no validators', f: req(), want: fwd('uri-miss', false, true, true) },
    { name: 'no matching variant → forward fwd=vary-miss, fill, collapse', f: req(), hasVariants: true, want: fwd('vary-miss', false, true, true) },
    { name: 'nothing stored and collapsing off → forward fwd=uri-miss, fill, not collapsed', f: req({ collapse: false }), want: fwd('uri-miss', false, true, false) },
    { name: 'nothing stored and a HEAD → forward fwd=uri-miss, no fill, not collapsed', f: req({ method: 'HEAD' }), want: fwd('uri-miss', false, false, false) },
    { name: 'nothing stored and a request with Authorization → forward fwd=uri-miss, fill, not collapsed', f: req({ authorization: true }), want: fwd('uri-miss', false, true, false) },
    { name: 'nothing stored and a request with no-store → forward fwd=uri-miss, fill, not collapsed', f: req({ cc: 'no-store' }), want: fwd('uri-miss', false, true, false) },
    { name: 'nothing stored and a request with no-cache → forward fwd=uri-miss, collapse', f: req({ cc: 'no-cache' }), want: fwd('uri-miss', false, true, true) },

    // Range
    { name: 'a Range miss → forward as-is without fill or collapse, no background fill', f: req({ range: true }), want: fwd('uri-miss', false, false, false, false) },
    { name: 'a Range miss with rangeFill → forward without fill, with a background fill', f: req({ range: true, rangeFill: true }), want: fwd('uri-miss', false, false, false, true) },
    { name: 'a Range vary-miss with rangeFill → forward fwd=vary-miss without fill, with a background fill', f: req({ range: true, rangeFill: true }), hasVariants: true, want: fwd('vary-miss', false, false, false, true) },
    { name: 'a Range miss with rangeFill and Authorization → no background fill', f: req({ range: true, rangeFill: true, authorization: true }), want: fwd('uri-miss', false, false, false, false) },
    { name: 'a Range miss with rangeFill and no-store → no background fill', f: req({ range: true, rangeFill: true, cc: 'no-store' }), want: fwd('uri-miss', false, false, false, false) },
    { name: 'a HEAD with Range and nothing stored → forward fwd=uri-miss without fill or background fill', f: req({ range: true, rangeFill: true, method: 'HEAD' }), want: fwd('uri-miss', false, false, false, false) },
    { name: 'a Range request and a fresh entry → serve (the range is cut from the stored body)', f: req({ range: true, rangeFill: true }), entry: FRESH, now: T0, want: { kind: 'serve' } }
  ]
  for (const r of rows) t.strictSame(planRequest(r.f, { entry: r.entry, hasVariants: r.hasVariants ?? r.entry !== undefined }, r.now ?? T0), r.want, r.name)
})

t.test('planFailure (RFC 9111 §4.3.3, §5.2.2.2; RFC 5861 §4)', async t => {
  interface Row { name: string, code: ErrorCode, entry?: StoredRecord, req?: string, pragma?: boolean, grace?: number, now: number, want: FailurePlan }
  const rows: Row[] = [
    { name: 'nothing stored and the origin down → the upstream error', code: 'FG_UPSTREAM_REFUSED', now: STALE_AT, want: { kind: 'fail', code: 'FG_UPSTREAM_REFUSED' } },
    { name: 'a stale entry within stale-if-error and the origin down → serve-stale', code: 'FG_UPSTREAM_REFUSED', entry: rec('max-age=60, stale-if-error=60'), now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'a stale entry within stale-if-error and a headers timeout → serve-stale', code: 'FG_UPSTREAM_HEADERS_TIMEOUT', entry: rec('max-age=60, stale-if-error=60'), now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'a stale entry beyond stale-if-error and the origin down → the upstream error', code: 'FG_UPSTREAM_RESET', entry: rec('max-age=60, stale-if-error=5'), now: STALE_AT, want: { kind: 'fail', code: 'FG_UPSTREAM_RESET' } },
    { name: 'a stale entry within the operator grace and the origin down → serve-stale', code: 'FG_UPSTREAM_REFUSED', entry: FRESH, grace: 60 * S, now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'a stale entry without any window and the origin down → the upstream error', code: 'FG_UPSTREAM_REFUSED', entry: FRESH, now: STALE_AT, want: { kind: 'fail', code: 'FG_UPSTREAM_REFUSED' } },
    { name: 'a stale entry within the request stale-if-error and the origin down → serve-stale', code: 'FG_UPSTREAM_REFUSED', entry: FRESH, req: 'stale-if-error=60', now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'a stale entry with must-revalidate and the origin down → 504 FG_REVALIDATION_FAILED', code: 'FG_UPSTREAM_REFUSED', entry: rec('max-age=60, must-revalidate, stale-if-error=600'), now: STALE_AT, want: { kind: 'fail', code: 'FG_REVALIDATION_FAILED' } },
    { name: 'a stale entry with proxy-revalidate and the origin down → FG_REVALIDATION_FAILED', code: 'FG_UPSTREAM_RESET', entry: rec('max-age=60, proxy-revalidate'), grace: 600 * S, now: STALE_AT, want: { kind: 'fail', code: 'FG_REVALIDATION_FAILED' } },
    { name: 'a stale entry with s-maxage and the origin down → FG_REVALIDATION_FAILED', code: 'FG_UPSTREAM_HEADERS_TIMEOUT', entry: rec('s-maxage=60'), now: STALE_AT, want: { kind: 'fail', code: 'FG_REVALIDATION_FAILED' } },
    { name: 'a no-cache entry within stale-if-error and the origin down → the upstream error (never served unvalidated)', code: 'FG_UPSTREAM_REFUSED', entry: rec('no-cache, stale-if-error=600'), now: STALE_AT, want: { kind: 'fail', code: 'FG_UPSTREAM_REFUSED' } },
    { name: 'a request with no-cache, a stale entry within stale-if-error and the origin down → the upstream error', code: 'FG_UPSTREAM_REFUSED', entry: rec('max-age=60, stale-if-error=600'), req: 'no-cache', now: STALE_AT, want: { kind: 'fail', code: 'FG_UPSTREAM_REFUSED' } },
    { name: 'a request with Pragma: no-cache, a stale entry within the grace and the origin down → the upstream error', code: 'FG_UPSTREAM_REFUSED', entry: FRESH, pragma: true, grace: 600 * S, now: STALE_AT, want: { kind: 'fail', code: 'FG_UPSTREAM_REFUSED' } },
    { name: 'a request with no-cache and its own stale-if-error and the origin down → serve-stale', code: 'FG_UPSTREAM_REFUSED', entry: FRESH, req: 'no-cache, stale-if-error=60', now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'FG_ONLY_IF_CACHED with an entry inside stale-if-error → FG_ONLY_IF_CACHED, not served stale', code: 'FG_ONLY_IF_CACHED', entry: rec('max-age=60, stale-if-error=600'), now: STALE_AT, want: { kind: 'fail', code: 'FG_ONLY_IF_CACHED' } },
    { name: 'FG_ONLY_IF_CACHED with a must-revalidate entry → FG_ONLY_IF_CACHED, not FG_REVALIDATION_FAILED', code: 'FG_ONLY_IF_CACHED', entry: rec('max-age=60, must-revalidate'), now: STALE_AT, want: { kind: 'fail', code: 'FG_ONLY_IF_CACHED' } }
  ]
  for (const r of rows) t.strictSame(planFailure(r.code, r.entry, parseCacheControl(r.req, 'ignore'), r.pragma ?? false, r.grace ?? 0, r.now), r.want, r.name)
})

t.test('planResponse (RFC 9111 §3, §4.3.3; RFC 5861 §4)', async t => {
  const POLICY = { heuristicFraction: 0.1, heuristicMaxAge: 86_400_000, setCookie: 'unless-public' as const }
  interface Over { status?: number, headers?: Headers, fill?: boolean, method?: string, entry?: StoredRecord, req?: string, pragma?: boolean, authorization?: boolean, maxEntrySize?: number, contentLocation?: boolean }
  /** Response facts for a GET that may fill: the effective directives come from the headers as the proxy reads them. */
  function res (o: Over = {}): ResponseFacts {
    const headers: Headers = o.headers ?? { date: at(0), 'cache-control': 'max-age=60', etag: '"b"' }
    const { cc, target } = effectiveDirectives(headers, ['cdn-cache-control'])
    return {
      method: o.method ?? 'GET',
      fill: o.fill ?? true,
      status: o.status ?? 200,
      headers,
      cc,
      targeted: target !== undefined,
      entry: o.entry,
      reqCC: parseCacheControl(o.req, 'ignore'),
      pragma: o.pragma ?? false,
      authorization: o.authorization ?? false,
      maxEntrySize: o.maxEntrySize ?? 1000,
      contentLocationIsTarget: o.contentLocation ?? false
    }
  }
  const SIE = rec('max-age=60, stale-if-error=600')
  const pass = (reason: string | undefined, uncacheable: boolean): ResponsePlan => ({ kind: 'pass', reason, uncacheable } as ResponsePlan)
  interface Row { name: string, x: ResponseFacts, now?: number, want: ResponsePlan }
  const rows: Row[] = [
    // plans that do not fill
    { name: 'a response to a request that may not fill → pass, nothing remembered', x: res({ fill: false }), want: pass(undefined, false) },
    { name: 'a 304 to a request that may not fill → pass (the client\'s own conditional)', x: res({ fill: false, status: 304, entry: FRESH }), want: pass(undefined, false) },
    { name: 'a no-store response to a request that may not fill → pass without a reason', x: res({ fill: false, headers: { 'cache-control': 'no-store' } }), want: pass(undefined, false) },

    // revalidation
    { name: 'a 304 while revalidating → fold', x: res({ status: 304, entry: FRESH, headers: { date: at(70 * S) } }), now: STALE_AT, want: { kind: 'fold' } },
    { name: 'a 304 with no-store while revalidating → fold (the fold removes the variant)', x: res({ status: 304, entry: FRESH, headers: { 'cache-control': 'no-store' } }), now: STALE_AT, want: { kind: 'fold' } },
    { name: 'a 304 with nothing being revalidated → pass status, remembered', x: res({ status: 304, headers: { etag: '"b"' } }), want: pass('status', true) },
    { name: 'a 200 while revalidating → store', x: res({ entry: FRESH }), now: STALE_AT, want: { kind: 'store' } },
    { name: 'a 503 while revalidating within stale-if-error → serve-stale', x: res({ status: 503, entry: SIE, headers: {} }), now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'a 500 while revalidating within stale-if-error → serve-stale', x: res({ status: 500, entry: SIE, headers: {} }), now: STALE_AT, want: { kind: 'serve-stale' } },
    { name: 'a 504 while revalidating without stale-if-error → pass (the operator grace is for unreachable origins only)', x: res({ status: 504, entry: FRESH, headers: {} }), now: STALE_AT, want: pass('no-validator-or-freshness', false) },
    { name: 'a 505 while revalidating within stale-if-error → pass, not served stale, and not remembered', x: res({ status: 505, entry: SIE, headers: {} }), now: STALE_AT, want: pass('no-validator-or-freshness', false) },
    { name: 'a 404 while revalidating within stale-if-error → store it (not an error in RFC 5861\'s sense)', x: res({ status: 404, entry: SIE }), now: STALE_AT, want: { kind: 'store' } },
    { name: 'a 503 while revalidating beyond stale-if-error → pass, not remembered', x: res({ status: 503, entry: rec('max-age=60, stale-if-error=5'), headers: {} }), now: STALE_AT, want: pass('no-validator-or-freshness', false) },
    { name: 'a 503 while revalidating a must-revalidate entry → pass, not served stale', x: res({ status: 503, entry: rec('max-age=60, must-revalidate, stale-if-error=600'), headers: {} }), now: STALE_AT, want: pass('no-validator-or-freshness', false) },
    { name: 'a 503 while revalidating for a request with no-cache → pass, not served stale', x: res({ status: 503, entry: SIE, req: 'no-cache', headers: {} }), now: STALE_AT, want: pass('no-validator-or-freshness', false) },
    { name: 'a 503 while revalidating for a request with Pragma: no-cache → pass, not served stale', x: res({ status: 503, entry: SIE, pragma: true, headers: {} }), now: STALE_AT, want: pass('no-validator-or-freshness', false) },

    // misses
    { name: 'a cacheable 200 on a miss → store', x: res(), want: { kind: 'store' } },
    { name: 'a 503 on a miss → pass and not uncacheable (keep collapsing)', x: res({ status: 503, headers: {} }), want: pass('no-validator-or-freshness', false) },
    { name: 'a 503 with no-store on a miss → pass no-store, not uncacheable', x: res({ status: 503, headers: { 'cache-control': 'no-store' } }), want: pass('no-store', false) },
    { name: 'a 503 with max-age on a miss → store (explicit freshness makes it storable)', x: res({ status: 503, headers: { date: at(0), 'cache-control': 'max-age=5' } }), want: { kind: 'store' } },
    { name: 'no-store → pass with reason no-store and uncacheable', x: res({ headers: { 'cache-control': 'no-store' } }), want: pass('no-store', true) },
    { name: 'a request with no-store → pass with reason no-store and uncacheable', x: res({ req: 'no-store' }), want: pass('no-store', true) },
    { name: 'private → pass private, uncacheable', x: res({ headers: { 'cache-control': 'private, max-age=60' } }), want: pass('private', true) },
    { name: 'a request with Authorization and a response without public → pass authorization', x: res({ authorization: true }), want: pass('authorization', true) },
    { name: 'a request with Authorization and a public response → store', x: res({ authorization: true, headers: { date: at(0), 'cache-control': 'public, max-age=60' } }), want: { kind: 'store' } },
    { name: 'Set-Cookie without public under unless-public → pass set-cookie', x: res({ headers: { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' } }), want: pass('set-cookie', true) },
    { name: 'Vary: * → pass vary-star', x: res({ headers: { 'cache-control': 'max-age=60', vary: '*' } }), want: pass('vary-star', true) },
    { name: 'a 206 → pass status', x: res({ status: 206 }), want: pass('status', true) },
    { name: 'a HEAD response → pass method', x: res({ method: 'HEAD' }), want: pass('method', true) },
    { name: 'a 100 Continue (interim) → pass status, never stored', x: res({ status: 100 }), want: pass('status', true) },
    { name: 'a 103 Early Hints with max-age (interim) → pass status, never stored', x: res({ status: 103 }), want: pass('status', true) },
    { name: 'a POST response with max-age and Content-Location equal to the target → store (RFC 9110 §9.3.3)', x: res({ method: 'POST', contentLocation: true }), want: { kind: 'store' } },
    { name: 'a POST response with max-age and no matching Content-Location → pass method', x: res({ method: 'POST' }), want: pass('method', true) },
    { name: 'a POST response with Content-Location equal to the target but only a validator → pass method (explicit freshness required)', x: res({ method: 'POST', contentLocation: true, headers: { date: at(0), etag: '"p"' } }), want: pass('method', true) },
    { name: 'a POST response with Content-Location equal to the target and only Expires → store', x: res({ method: 'POST', contentLocation: true, headers: { date: at(0), expires: at(60 * S) } }), want: { kind: 'store' } },
    { name: 'a POST response with Content-Location equal to the target, max-age and no-store → pass no-store', x: res({ method: 'POST', contentLocation: true, headers: { 'cache-control': 'max-age=60, no-store' } }), want: pass('no-store', true) },
    { name: 'a PUT response with Content-Location equal to the target and max-age → pass method', x: res({ method: 'PUT', contentLocation: true }), want: pass('method', true) },
    { name: 'a 200 without freshness or validator → pass no-validator-or-freshness, uncacheable', x: res({ headers: { date: at(0), 'content-type': 'text/plain' } }), want: pass('no-validator-or-freshness', true) },
    { name: 'a 302 without freshness or validator → pass no-validator-or-freshness, uncacheable', x: res({ status: 302, headers: { date: at(0) } }), want: pass('no-validator-or-freshness', true) },
    { name: 'no Date and an Expires a minute after now → store (now stands in for Date)', x: res({ headers: { expires: at(60 * S) } }), want: { kind: 'store' } },
    { name: 'a targeted field governs and only Expires gives freshness → pass (Expires is ignored, RFC 9213)', x: res({ status: 302, headers: { date: at(0), 'cdn-cache-control': 'must-revalidate', expires: at(60 * S) } }), want: pass('no-validator-or-freshness', true) },

    // size
    { name: 'Content-Length above maxEntrySize → pass too-large', x: res({ headers: { date: at(0), 'cache-control': 'max-age=60', 'content-length': '1001' } }), want: pass('too-large', true) },
    { name: 'Content-Length equal to maxEntrySize → store', x: res({ headers: { date: at(0), 'cache-control': 'max-age=60', 'content-length': '1000' } }), want: { kind: 'store' } },
    { name: 'Content-Length above maxEntrySize and no-store → pass no-store (the first reason)', x: res({ headers: { 'cache-control': 'no-store', 'content-length': '5000' } }), want: pass('no-store', true) },
    { name: 'a 503 with max-age and Content-Length above maxEntrySize → pass too-large, not uncacheable', x: res({ status: 503, headers: { date: at(0), 'cache-control': 'max-age=5', 'content-length': '5000' } }), want: pass('too-large', false) }
  ]
  for (const r of rows) t.strictSame(planResponse(r.x, POLICY, r.now ?? T0), r.want, r.name)
})
