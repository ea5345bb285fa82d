// Table tests for the RFC 9111 shared-cache decisions: storability (§3), freshness lifetime
// (§4.2.1, §4.2.2), age (§4.2.3), serving or revalidating (§4, §5.2, RFC 5861).

import t from 'tap'
import {
  notStorableReason, freshnessLifetime, correctedInitialAge, currentAge, decide, staleIfErrorAllowed, varyIsStar, select304, allowsAuthorized, contentLocationIsTarget,
  type PolicyOptions, type NotStoredReason, type StoredFreshness, type Decision
} from '../../src/cache/policy.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { parseTargeted } from '../../src/http/targeted.ts'
import { formatHttpDate, DELTA_SECONDS_MAX } from '../../src/http/dates.ts'

type Headers = Record<string, string | string[] | undefined>

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0)
const S = 1000
const MIN = 60 * S
const H = 60 * MIN
const DAY = 24 * H
/** An HTTP-date `ms` from T0. */
const at = (ms: number): string => formatHttpDate(T0 + ms)
const DATE = at(0)

const OPTS: PolicyOptions = { heuristicFraction: 0.1, heuristicMaxAge: DAY, setCookie: 'unless-public' }

t.test('notStorableReason (RFC 9111 §3)', async t => {
  interface Row {
    name: string
    method?: string
    status?: number
    /** response headers; cache-control is parsed into resCC unless `targeted` is given */
    res: Headers
    /** the request's Cache-Control */
    req?: string
    auth?: boolean
    /** a targeted field value (RFC 9213) that governs instead of Cache-Control */
    targeted?: string
    setCookie?: PolicyOptions['setCookie']
    responseTime?: number
    want: NotStoredReason | undefined
  }
  const rows: Row[] = [
    { name: 'when a GET 200 has max-age → should be storable', res: { date: DATE, 'cache-control': 'max-age=60' }, want: undefined },

    // method and status
    { name: 'when the method is HEAD → should not be stored (method)', method: 'HEAD', res: { date: DATE, 'cache-control': 'max-age=60' }, want: 'method' },
    { name: 'when the method is POST → should not be stored (method)', method: 'POST', res: { date: DATE, 'cache-control': 'max-age=60' }, want: 'method' },
    { name: 'when the status is 100 → should not be stored (not final)', status: 100, res: { 'cache-control': 'max-age=60' }, want: 'status' },
    { name: 'when the status is 103 → should not be stored (not final)', status: 103, res: { 'cache-control': 'max-age=60' }, want: 'status' },
    { name: 'when the status is 206 → should not be stored as a complete response', status: 206, res: { date: DATE, 'cache-control': 'max-age=60' }, want: 'status' },
    { name: 'when the status is 304 → should not be stored', status: 304, res: { date: DATE, 'cache-control': 'max-age=60' }, want: 'status' },
    { name: 'when an unknown final status has explicit freshness → should be storable', status: 299, res: { date: DATE, 'cache-control': 'max-age=60' }, want: undefined },

    // must-understand (§3, §5.2.2.3)
    { name: 'when must-understand comes with no-store and the status is understood → should be storable (no-store is overridden)', res: { date: DATE, 'cache-control': 'must-understand, no-store, max-age=60' }, want: undefined },
    { name: 'when must-understand comes with no-store and the status is not understood → should not be stored (status)', status: 299, res: { date: DATE, 'cache-control': 'must-understand, no-store, max-age=60' }, want: 'status' },
    { name: 'when must-understand comes alone and the status is not understood → should not be stored (status)', status: 299, res: { date: DATE, 'cache-control': 'must-understand, max-age=60' }, want: 'status' },

    // no-store
    { name: 'when the response has no-store → should not be stored', res: { date: DATE, 'cache-control': 'no-store, max-age=60' }, want: 'no-store' },
    { name: 'when the request has no-store → should not be stored (§5.2.1.5)', req: 'no-store', res: { date: DATE, 'cache-control': 'max-age=60' }, want: 'no-store' },
    { name: 'when the request has no-store and the response is public → should still not be stored', req: 'no-store', res: { date: DATE, 'cache-control': 'public, max-age=60' }, want: 'no-store' },

    // private
    { name: 'when the response is private → should not be stored by a shared cache', res: { date: DATE, 'cache-control': 'private, max-age=60' }, want: 'private' },
    { name: 'when private names fields → should be storable without them (§5.2.2.7)', res: { date: DATE, 'cache-control': 'private="x-user", max-age=60' }, want: undefined },

    // Authorization (§3.5)
    { name: 'when the request had Authorization and the response only has max-age → should not be stored', auth: true, res: { date: DATE, 'cache-control': 'max-age=60' }, want: 'authorization' },
    { name: 'when the request had Authorization and the response is public → should be storable', auth: true, res: { date: DATE, 'cache-control': 'public, max-age=60' }, want: undefined },
    { name: 'when the request had Authorization and the response has s-maxage → should be storable', auth: true, res: { date: DATE, 'cache-control': 's-maxage=60' }, want: undefined },
    { name: 'when the request had Authorization and the response has must-revalidate → should be storable', auth: true, res: { date: DATE, 'cache-control': 'must-revalidate, max-age=60' }, want: undefined },
    { name: 'when the request had Authorization and the response has only proxy-revalidate → should not be stored (not one of the three)', auth: true, res: { date: DATE, 'cache-control': 'proxy-revalidate, max-age=60' }, want: 'authorization' },
    { name: 'when the request had Authorization and the response is private and public → should not be stored (private)', auth: true, res: { date: DATE, 'cache-control': 'private, public, max-age=60' }, want: 'private' },

    // Vary: *
    { name: 'when Vary is * → should not be stored', res: { date: DATE, 'cache-control': 'max-age=60', vary: '*' }, want: 'vary-star' },
    { name: 'when * is one member of Vary → should not be stored', res: { date: DATE, 'cache-control': 'max-age=60', vary: 'accept, *' }, want: 'vary-star' },
    { name: 'when * is on a second Vary line → should not be stored', res: { date: DATE, 'cache-control': 'max-age=60', vary: ['accept', '*'] }, want: 'vary-star' },
    { name: 'when Vary names fields → should be storable', res: { date: DATE, 'cache-control': 'max-age=60', vary: 'accept-encoding' }, want: undefined },

    // Set-Cookie policy
    { name: 'when Set-Cookie comes with max-age under unless-public → should not be stored', res: { date: DATE, 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }, want: 'set-cookie' },
    { name: 'when Set-Cookie comes with public under unless-public → should be storable', res: { date: DATE, 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' }, want: undefined },
    { name: 'when Set-Cookie comes with s-maxage under unless-public → should be storable', res: { date: DATE, 'cache-control': 's-maxage=60', 'set-cookie': 'a=1' }, want: undefined },
    { name: 'when Set-Cookie comes with max-age under strip → should be storable (without the cookie)', setCookie: 'strip', res: { date: DATE, 'cache-control': 'max-age=60', 'set-cookie': ['a=1', 'b=2'] }, want: undefined },
    { name: 'when Set-Cookie comes with public under never → should not be stored', setCookie: 'never', res: { date: DATE, 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' }, want: 'set-cookie' },
    { name: 'when there is no Set-Cookie under never → should be storable', setCookie: 'never', res: { date: DATE, 'cache-control': 'max-age=60' }, want: undefined },
    { name: 'when Set-Cookie comes with max-age under store → should be storable (with the cookie)', setCookie: 'store', res: { date: DATE, 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }, want: undefined },
    { name: 'when Set-Cookie comes with private under store → should not be stored (private still rules)', setCookie: 'store', res: { date: DATE, 'cache-control': 'private, max-age=60', 'set-cookie': 'a=1' }, want: 'private' },

    // explicit freshness, heuristics and validators
    { name: 'when a 200 has neither freshness nor a validator → should not be stored', res: { date: DATE }, want: 'no-validator-or-freshness' },
    { name: 'when a 200 has only an ETag → should be storable (heuristically cacheable and revalidatable)', res: { date: DATE, etag: '"a"' }, want: undefined },
    { name: 'when a 200 has only Last-Modified → should be storable', res: { date: DATE, 'last-modified': at(-10 * DAY) }, want: undefined },
    { name: 'when a 404 has only Last-Modified → should be storable (heuristically cacheable)', status: 404, res: { date: DATE, 'last-modified': at(-10 * DAY) }, want: undefined },
    { name: 'when a 201 has only an ETag → should not be stored (not heuristically cacheable)', status: 201, res: { date: DATE, etag: '"a"' }, want: 'no-validator-or-freshness' },
    { name: 'when a 201 is public with an ETag → should be storable', status: 201, res: { date: DATE, etag: '"a"', 'cache-control': 'public' }, want: undefined },
    { name: 'when a 201 has a future Expires → should be storable', status: 201, res: { date: DATE, expires: at(H) }, want: undefined },
    { name: 'when max-age=0 comes without a validator → should not be stored (never usable)', res: { date: DATE, 'cache-control': 'max-age=0' }, want: 'no-validator-or-freshness' },
    { name: 'when max-age=0 comes with an ETag → should be storable (revalidatable)', res: { date: DATE, 'cache-control': 'max-age=0', etag: '"a"' }, want: undefined },
    { name: 'when Expires is "0" without a validator → should not be stored', res: { date: DATE, expires: '0' }, want: 'no-validator-or-freshness' },
    { name: 'when Expires is in the future and Date is absent → should be storable, measured from the time of receipt (§4.2.1)', res: { expires: at(H) }, responseTime: T0, want: undefined },

    // targeted fields (RFC 9213 §2.2 ignores Expires)
    { name: 'when a targeted field without freshness governs a 200 with a future Expires → should not be stored', targeted: 'none', res: { date: DATE, expires: at(H) }, want: 'no-validator-or-freshness' },
    { name: 'when a targeted field without freshness governs a 201 with a future Expires → should not be stored', status: 201, targeted: 'none', res: { date: DATE, expires: at(H) }, want: 'no-validator-or-freshness' },
    { name: 'when a targeted field allows storing despite Cache-Control: no-store → should be storable', targeted: 'max-age=60', res: { date: DATE, 'cache-control': 'no-store' }, want: undefined }
  ]
  for (const r of rows) {
    const resCC = r.targeted !== undefined ? parseTargeted(r.targeted)! : parseCacheControl(r.res['cache-control'])
    const got = notStorableReason({
      method: r.method ?? 'GET',
      status: r.status ?? 200,
      resHeaders: r.res,
      resCC,
      reqCC: parseCacheControl(r.req, 'ignore'),
      reqHasAuthorization: r.auth ?? false,
      targeted: r.targeted !== undefined,
      responseTime: r.responseTime
    }, { ...OPTS, setCookie: r.setCookie ?? OPTS.setCookie })
    t.equal(got, r.want, r.name)
  }
})

t.test('contentLocationIsTarget (RFC 9110 §9.3.3)', async t => {
  const T = 'http://example.com/orders?id=1'
  const rows: Array<{ name: string, cl: string | string[] | undefined, want: boolean }> = [
    { name: 'when Content-Location is absent → should be false', cl: undefined, want: false },
    { name: 'when it is the same path and query → should be true', cl: '/orders?id=1', want: true },
    { name: 'when it is the same absolute URI → should be true', cl: 'http://example.com/orders?id=1', want: true },
    { name: 'when it only adds a fragment → should be true', cl: '/orders?id=1#top', want: true },
    { name: 'when it names another query → should be false', cl: '/orders?id=2', want: false },
    { name: 'when it names another host → should be false', cl: 'http://other.example/orders?id=1', want: false },
    { name: 'when it is relative to the target → should resolve against it', cl: 'orders?id=1', want: true },
    { name: 'when it is repeated → should be false', cl: ['/orders?id=1', '/orders?id=1'], want: false },
    { name: 'when it is not a URI reference → should be false', cl: 'http://[', want: false }
  ]
  for (const r of rows) t.equal(contentLocationIsTarget(r.cl, T), r.want, r.name)
})

t.test('varyIsStar', async t => {
  const rows: Array<{ name: string, vary: string | string[] | undefined, want: boolean }> = [
    { name: 'when Vary is absent → should be false', vary: undefined, want: false },
    { name: 'when Vary is * → should be true', vary: '*', want: true },
    { name: 'when Vary is * with spaces → should be true', vary: ' * ', want: true },
    { name: 'when Vary lists * among fields → should be true', vary: 'accept,*', want: true },
    { name: 'when Vary lists fields only → should be false', vary: 'accept, accept-encoding', want: false },
    { name: 'when a field name merely contains * → should be false', vary: 'x-*', want: false }
  ]
  for (const r of rows) t.equal(varyIsStar(r.vary), r.want, r.name)
})

t.test('freshnessLifetime (RFC 9111 §4.2.1, §4.2.2)', async t => {
  interface Row { name: string, status?: number, res: Headers, targeted?: boolean, received?: number, want: number }
  const rows: Row[] = [
    // precedence
    { name: 'when s-maxage and max-age are both present → should use s-maxage', res: { date: DATE, 'cache-control': 'max-age=60, s-maxage=10' }, want: 10 * S },
    { name: 'when s-maxage is 0 and max-age is 60 → should still use s-maxage', res: { date: DATE, 'cache-control': 's-maxage=0, max-age=60' }, want: 0 },
    { name: 'when max-age and Expires are both present → should use max-age', res: { date: DATE, 'cache-control': 'max-age=60', expires: at(H) }, want: 60 * S },
    { name: 'when max-age is invalid → should be 0 and not fall back to Expires or heuristics', res: { date: DATE, 'cache-control': 'max-age=soon', expires: at(H), 'last-modified': at(-10 * DAY) }, want: 0 },
    { name: 'when only Expires is present → should be Expires minus Date', res: { date: DATE, expires: at(H) }, want: H },
    { name: 'when Expires and Last-Modified are both present → should use Expires, not heuristics', res: { date: DATE, expires: at(MIN), 'last-modified': at(-10 * DAY) }, want: MIN },

    // bad Expires
    { name: 'when Expires is before Date → should be 0', res: { date: DATE, expires: at(-H) }, want: 0 },
    { name: 'when Expires equals Date → should be 0', res: { date: DATE, expires: DATE }, want: 0 },
    { name: 'when Expires is "0" → should be 0 (§5.3)', res: { date: DATE, expires: '0', 'last-modified': at(-10 * DAY) }, want: 0 },
    { name: 'when Expires is not a date → should be 0', res: { date: DATE, expires: 'tomorrow', 'last-modified': at(-10 * DAY) }, want: 0 },
    { name: 'when Expires is repeated → should be 0 (§4.2.1 allows treating it as stale)', res: { date: DATE, expires: [at(H), at(2 * H)] }, want: 0 },
    { name: 'when Date is absent → should measure Expires from the time of receipt (§4.2.1)', res: { expires: at(H) }, received: T0 + MIN, want: H - MIN },
    { name: 'when Date is absent and no receipt time is known → should be 0', res: { expires: at(H) }, want: 0 },
    { name: 'when Date is invalid → should measure Expires from the time of receipt, not be stale (RFC 9110 §6.6.1)', res: { date: 'not a date', expires: at(H) }, received: T0 + MIN, want: H - MIN },
    { name: 'when Date is repeated → should measure Expires from the time of receipt', res: { date: [DATE, at(MIN)], expires: at(H) }, received: T0, want: H },
    { name: 'when Date, Expires and Last-Modified are in lower case → should still parse them', res: { date: DATE.toLowerCase(), 'last-modified': at(-5 * DAY).toLowerCase() }, want: 12 * H },

    // targeted fields ignore Expires
    { name: 'when a targeted field governs → should ignore Expires', targeted: true, res: { date: DATE, expires: at(H) }, want: 0 },
    { name: 'when a targeted field governs with Expires and Last-Modified → should use heuristics', targeted: true, res: { date: DATE, expires: at(H), 'last-modified': at(-5 * DAY) }, want: 12 * H },

    // heuristics
    { name: 'when a 200 has only Last-Modified → should be 10% of Date minus Last-Modified', res: { date: DATE, 'last-modified': at(-5 * DAY) }, want: 12 * H },
    { name: 'when the heuristic exceeds the cap → should be capped', res: { date: DATE, 'last-modified': at(-365 * DAY) }, want: DAY },
    { name: 'when Last-Modified is one second old → should round down to whole milliseconds', res: { date: DATE, 'last-modified': at(-S) }, want: 100 },
    { name: 'when a 404 has only Last-Modified → should use heuristics', status: 404, res: { date: DATE, 'last-modified': at(-5 * DAY) }, want: 12 * H },
    { name: 'when a 201 has only Last-Modified → should be 0 (not heuristically cacheable)', status: 201, res: { date: DATE, 'last-modified': at(-5 * DAY) }, want: 0 },
    { name: 'when a 201 is public with Last-Modified → should use heuristics', status: 201, res: { date: DATE, 'cache-control': 'public', 'last-modified': at(-5 * DAY) }, want: 12 * H },
    { name: 'when Last-Modified is after Date → should be 0', res: { date: DATE, 'last-modified': at(H) }, want: 0 },
    { name: 'when Last-Modified is invalid → should be 0', res: { date: DATE, 'last-modified': 'long ago' }, want: 0 },
    { name: 'when there is no Last-Modified → should be 0', res: { date: DATE, etag: '"a"' }, want: 0 },
    { name: 'when Date is absent → should measure the heuristic from the time of receipt', res: { 'last-modified': at(-5 * DAY) }, received: T0, want: 12 * H }
  ]
  for (const r of rows) {
    const cc = parseCacheControl(r.res['cache-control'])
    t.equal(freshnessLifetime(r.status ?? 200, r.res, cc, OPTS, r.targeted ?? false, r.received), r.want, r.name)
  }
})

t.test('correctedInitialAge (RFC 9111 §4.2.3)', async t => {
  interface Row { name: string, res: Headers, requestTime: number, responseTime: number, want: number }
  const rows: Row[] = [
    { name: 'when Date equals the response time and there is no delay or Age → should be 0', res: { date: DATE }, requestTime: T0, responseTime: T0, want: 0 },
    { name: 'when the response took 2 s and there is no Age → should be the response delay', res: { date: at(2 * S) }, requestTime: T0, responseTime: T0 + 2 * S, want: 2 * S },
    { name: 'when Date is 10 s before the response time → should be the apparent age', res: { date: DATE }, requestTime: T0 + 9 * S, responseTime: T0 + 10 * S, want: 10 * S },
    { name: 'when Age is 30 and the delay 1 s → should be Age plus the delay', res: { date: at(S), age: '30' }, requestTime: T0, responseTime: T0 + S, want: 31 * S },
    { name: 'when the apparent age exceeds Age plus delay → should be the apparent age', res: { date: DATE, age: '30' }, requestTime: T0 + 59 * S, responseTime: T0 + 60 * S, want: 60 * S },
    { name: 'when Date is in the future (clock skew) → should not go negative, only the corrected Age counts', res: { date: at(H), age: '5' }, requestTime: T0, responseTime: T0 + S, want: 6 * S },
    { name: 'when Date is absent → should use the response time, so only Age and delay count', res: { age: '7' }, requestTime: T0, responseTime: T0 + S, want: 8 * S },
    { name: 'when Date is invalid → should use the response time', res: { date: 'now', age: '7' }, requestTime: T0, responseTime: T0, want: 7 * S },
    { name: 'when Age is not a number → should ignore it', res: { date: DATE, age: 'old' }, requestTime: T0, responseTime: T0, want: 0 },
    { name: 'when Age is negative → should ignore it', res: { date: DATE, age: '-5' }, requestTime: T0, responseTime: T0, want: 0 },
    { name: 'when Age is a fraction → should ignore it', res: { date: DATE, age: '5.5' }, requestTime: T0, responseTime: T0, want: 0 },
    { name: 'when Age has surrounding spaces → should read it', res: { date: DATE, age: ' 30 ' }, requestTime: T0, responseTime: T0, want: 30 * S },
    { name: 'when Age is a list → should use the first member (§5.1)', res: { date: DATE, age: '30, 60' }, requestTime: T0, responseTime: T0, want: 30 * S },
    { name: 'when Age was sent on two lines → should use the first (§5.1)', res: { date: DATE, age: ['30', '60'] }, requestTime: T0, responseTime: T0, want: 30 * S },
    { name: 'when the first Age member is invalid → should ignore the field', res: { date: DATE, age: 'x, 60' }, requestTime: T0, responseTime: T0, want: 0 },
    { name: 'when Age is huge → should saturate at 2^31 seconds', res: { date: DATE, age: '99999999999999' }, requestTime: T0, responseTime: T0 + S, want: DELTA_SECONDS_MAX * S }
  ]
  for (const r of rows) t.equal(correctedInitialAge(r.res, { requestTime: r.requestTime, responseTime: r.responseTime }), r.want, r.name)
})

/** A stored response that arrived at T0 with age 0 and the given lifetime and directives. */
function stored (lifetime: number, cc = '', initialAge = 0): StoredFreshness {
  return { lifetime, initialAge, responseTime: T0, cc: parseCacheControl(cc) }
}

t.test('currentAge', async t => {
  const rows: Array<{ name: string, s: StoredFreshness, now: number, want: number }> = [
    { name: 'when no time has passed → should be the initial age', s: stored(MIN, '', 5 * S), now: T0, want: 5 * S },
    { name: 'when time has passed → should add the resident time', s: stored(MIN, '', 5 * S), now: T0 + 10 * S, want: 15 * S },
    { name: 'when the clock is before the response time → should not subtract', s: stored(MIN, '', 5 * S), now: T0 - 10 * S, want: 5 * S }
  ]
  for (const r of rows) t.equal(currentAge(r.s, r.now), r.want, r.name)
})

t.test('decide (RFC 9111 §4, §5.2; RFC 5861 §3)', async t => {
  interface Row { name: string, s: StoredFreshness, req?: string, pragma?: boolean, now: number, want: Decision }
  const rows: Row[] = [
    // fresh or not
    { name: 'when the response is within its lifetime → should be fresh', s: stored(MIN), now: T0 + 30 * S, want: 'fresh' },
    { name: 'when 1 ms of freshness is left → should be fresh', s: stored(MIN), now: T0 + MIN - 1, want: 'fresh' },
    { name: 'when the age equals the lifetime → should be stale and revalidated', s: stored(MIN), now: T0 + MIN, want: 'revalidate' },
    { name: 'when the initial age uses up the lifetime → should be revalidated', s: stored(MIN, '', 50 * S), now: T0 + 15 * S, want: 'revalidate' },
    { name: 'when the lifetime is 0 → should be revalidated at once', s: stored(0), now: T0, want: 'revalidate' },

    // no-cache and Pragma
    { name: 'when the response has no-cache → should be revalidated even when fresh', s: stored(MIN, 'no-cache'), now: T0, want: 'revalidate' },
    { name: 'when the response has no-cache with fields → should be fresh (the fields were not stored)', s: stored(MIN, 'no-cache="x-a"'), now: T0, want: 'fresh' },
    { name: 'when the request has no-cache → should be revalidated even when fresh', s: stored(MIN), req: 'no-cache', now: T0, want: 'revalidate' },
    { name: 'when the request has Pragma: no-cache alone → should be revalidated', s: stored(MIN), pragma: true, now: T0, want: 'revalidate' },
    { name: 'when the response has no-cache and the request accepts staleness → should still be revalidated', s: stored(MIN, 'no-cache'), req: 'max-stale', now: T0 + 2 * MIN, want: 'revalidate' },

    // request max-age and min-fresh
    { name: 'when the request max-age is below the age → should be revalidated', s: stored(MIN), req: 'max-age=10', now: T0 + 30 * S, want: 'revalidate' },
    { name: 'when the request max-age equals the age → should be fresh', s: stored(MIN), req: 'max-age=30', now: T0 + 30 * S, want: 'fresh' },
    { name: 'when the request max-age is 0 and the age is 0 → should be fresh', s: stored(MIN), req: 'max-age=0', now: T0, want: 'fresh' },
    { name: 'when the request max-age is invalid → should ignore it', s: stored(MIN), req: 'max-age=x', now: T0 + 30 * S, want: 'fresh' },
    { name: 'when min-fresh is less than the freshness left → should be fresh', s: stored(MIN), req: 'min-fresh=20', now: T0 + 30 * S, want: 'fresh' },
    { name: 'when min-fresh equals the freshness left → should be fresh', s: stored(MIN), req: 'min-fresh=30', now: T0 + 30 * S, want: 'fresh' },
    { name: 'when min-fresh exceeds the freshness left → should be revalidated', s: stored(MIN), req: 'min-fresh=40', now: T0 + 30 * S, want: 'revalidate' },

    // max-stale
    { name: 'when stale by 10 s and max-stale=20 → should serve stale', s: stored(MIN), req: 'max-stale=20', now: T0 + 70 * S, want: 'stale-ok' },
    { name: 'when stale by exactly max-stale → should serve stale', s: stored(MIN), req: 'max-stale=10', now: T0 + 70 * S, want: 'stale-ok' },
    { name: 'when stale by more than max-stale → should be revalidated', s: stored(MIN), req: 'max-stale=5', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when max-stale has no value and the response is a day stale → should serve stale', s: stored(MIN), req: 'max-stale', now: T0 + DAY, want: 'stale-ok' },
    { name: 'when max-stale comes with min-fresh → should be revalidated', s: stored(MIN), req: 'max-stale, min-fresh=1', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when max-stale comes with a request max-age below the age → should be revalidated', s: stored(MIN), req: 'max-stale=60, max-age=30', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when max-stale comes with a request max-age above the age → should serve stale', s: stored(MIN), req: 'max-stale=60, max-age=90', now: T0 + 70 * S, want: 'stale-ok' },

    // stale forbidden
    { name: 'when the response has must-revalidate → should ignore max-stale', s: stored(MIN, 'max-age=60, must-revalidate'), req: 'max-stale', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when the response has proxy-revalidate → should ignore max-stale (shared cache)', s: stored(MIN, 'max-age=60, proxy-revalidate'), req: 'max-stale', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when the response has s-maxage → should ignore max-stale (§5.2.2.10)', s: stored(MIN, 's-maxage=60'), req: 'max-stale', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when the response has must-revalidate but is fresh → should be fresh', s: stored(MIN, 'max-age=60, must-revalidate'), now: T0 + 30 * S, want: 'fresh' },

    // stale-while-revalidate
    { name: 'when stale within stale-while-revalidate → should serve stale and revalidate in the background', s: stored(MIN, 'max-age=60, stale-while-revalidate=30'), now: T0 + 70 * S, want: 'stale-while-revalidate' },
    { name: 'when stale by exactly the stale-while-revalidate window → should still serve stale', s: stored(MIN, 'max-age=60, stale-while-revalidate=30'), now: T0 + 90 * S, want: 'stale-while-revalidate' },
    { name: 'when stale beyond stale-while-revalidate → should be revalidated', s: stored(MIN, 'max-age=60, stale-while-revalidate=30'), now: T0 + 90 * S + 1, want: 'revalidate' },
    { name: 'when stale-while-revalidate comes with must-revalidate → should be revalidated', s: stored(MIN, 'max-age=60, stale-while-revalidate=30, must-revalidate'), now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when stale-while-revalidate comes with s-maxage → should be revalidated', s: stored(MIN, 's-maxage=60, stale-while-revalidate=30'), now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when the request has max-age → should not use stale-while-revalidate', s: stored(MIN, 'max-age=60, stale-while-revalidate=30'), req: 'max-age=3600', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when the request has min-fresh → should not use stale-while-revalidate', s: stored(MIN, 'max-age=60, stale-while-revalidate=30'), req: 'min-fresh=0', now: T0 + 70 * S, want: 'revalidate' },
    { name: 'when the request max-stale also covers the staleness → should serve stale without revalidating', s: stored(MIN, 'max-age=60, stale-while-revalidate=30'), req: 'max-stale=20', now: T0 + 70 * S, want: 'stale-ok' }
  ]
  for (const r of rows) t.equal(decide(r.s, parseCacheControl(r.req, 'ignore'), r.pragma ?? false, r.now), r.want, r.name)
})

t.test('staleIfErrorAllowed (RFC 5861 §4)', async t => {
  interface Row { name: string, s: StoredFreshness, req?: string, pragma?: boolean, grace?: number, now: number, want: boolean }
  const rows: Row[] = [
    { name: 'when stale within the response stale-if-error → should be allowed', s: stored(MIN, 'max-age=60, stale-if-error=60'), now: T0 + 70 * S, want: true },
    { name: 'when stale by exactly the response stale-if-error → should be allowed', s: stored(MIN, 'max-age=60, stale-if-error=60'), now: T0 + 120 * S, want: true },
    { name: 'when stale beyond the response stale-if-error → should not be allowed', s: stored(MIN, 'max-age=60, stale-if-error=60'), now: T0 + 120 * S + 1, want: false },
    { name: 'when there is no window at all → should not be allowed', s: stored(MIN, 'max-age=60'), now: T0 + 70 * S, want: false },
    { name: 'when within the operator grace → should be allowed', s: stored(MIN, 'max-age=60'), grace: 5 * MIN, now: T0 + 5 * MIN, want: true },
    { name: 'when beyond the operator grace → should not be allowed', s: stored(MIN, 'max-age=60'), grace: MIN, now: T0 + 3 * MIN, want: false },
    { name: 'when within the request stale-if-error → should be allowed', s: stored(MIN, 'max-age=60'), req: 'stale-if-error=120', now: T0 + 2 * MIN, want: true },
    { name: 'when the widest of response, request and grace windows covers it → should be allowed', s: stored(MIN, 'max-age=60, stale-if-error=10'), req: 'stale-if-error=20', grace: 300 * S, now: T0 + 200 * S, want: true },
    { name: 'when the response has must-revalidate → should not be allowed', s: stored(MIN, 'max-age=60, stale-if-error=600, must-revalidate'), now: T0 + 70 * S, want: false },
    { name: 'when the response has proxy-revalidate → should not be allowed', s: stored(MIN, 'max-age=60, stale-if-error=600, proxy-revalidate'), now: T0 + 70 * S, want: false },
    { name: 'when the response has s-maxage → should not be allowed', s: stored(MIN, 's-maxage=60, stale-if-error=600'), now: T0 + 70 * S, want: false },
    { name: 'when the response has no-cache → should not be allowed', s: stored(MIN, 'no-cache, stale-if-error=600'), now: T0 + 70 * S, want: false },
    { name: 'when the response is still fresh and has a window → should be allowed', s: stored(MIN, 'max-age=60, stale-if-error=1'), now: T0 + 30 * S, want: true },

    // a request that asked for a validated response (§5.2.1.4)
    { name: 'when the request has no-cache and the response stale-if-error covers it → should not be allowed', s: stored(MIN, 'max-age=60, stale-if-error=600'), req: 'no-cache', now: T0 + 70 * S, want: false },
    { name: 'when the request has Pragma: no-cache and the response stale-if-error covers it → should not be allowed', s: stored(MIN, 'max-age=60, stale-if-error=600'), pragma: true, now: T0 + 70 * S, want: false },
    { name: 'when the request has no-cache and the operator grace covers it → should not be allowed', s: stored(MIN, 'max-age=60'), req: 'no-cache', grace: 5 * MIN, now: T0 + 70 * S, want: false },
    { name: 'when the request has no-cache and its own stale-if-error covers it → should be allowed', s: stored(MIN, 'max-age=60'), req: 'no-cache, stale-if-error=60', now: T0 + 70 * S, want: true },
    { name: 'when the request has Pragma: no-cache and its own stale-if-error → should be allowed', s: stored(MIN, 'max-age=60, stale-if-error=600'), req: 'stale-if-error=30', pragma: true, now: T0 + 70 * S, want: true },
    { name: 'when the request has no-cache and its own stale-if-error=0 → should be allowed within the response window', s: stored(MIN, 'max-age=60, stale-if-error=600'), req: 'no-cache, stale-if-error=0', now: T0 + 70 * S, want: true },
    { name: 'when the request has no-cache and its own stale-if-error, but the response has must-revalidate → should not be allowed', s: stored(MIN, 'max-age=60, must-revalidate'), req: 'no-cache, stale-if-error=600', now: T0 + 70 * S, want: false },
    { name: 'when the request has max-age=0 (not no-cache) and the response stale-if-error covers it → should be allowed', s: stored(MIN, 'max-age=60, stale-if-error=600'), req: 'max-age=0', now: T0 + 70 * S, want: true }
  ]
  for (const r of rows) t.equal(staleIfErrorAllowed(r.s, parseCacheControl(r.req, 'ignore'), r.pragma ?? false, r.grace ?? 0, r.now), r.want, r.name)
})

t.test('allowsAuthorized (RFC 9111 §3.5)', async t => {
  const rows: Array<{ name: string, cc: string, want: boolean }> = [
    { name: 'when the response has public → should allow a request with Authorization', cc: 'public', want: true },
    { name: 'when the response has s-maxage → should allow it', cc: 's-maxage=60', want: true },
    { name: 'when the response has must-revalidate → should allow it', cc: 'max-age=60, must-revalidate', want: true },
    { name: 'when the response has only max-age → should not allow it', cc: 'max-age=60', want: false },
    { name: 'when the response has proxy-revalidate only → should not allow it', cc: 'max-age=60, proxy-revalidate', want: false },
    { name: 'when the response has no directives → should not allow it', cc: '', want: false }
  ]
  for (const r of rows) t.equal(allowsAuthorized(parseCacheControl(r.cc)), r.want, r.name)
})

t.test('select304 (RFC 9111 §4.3.4)', async t => {
  type V = { id: string, etag: string | undefined, lastModified: string | undefined }
  const a: V = { id: 'a', etag: '"x"', lastModified: at(-H) }
  const b: V = { id: 'b', etag: '"x"', lastModified: at(-H) }
  const c: V = { id: 'c', etag: 'W/"w"', lastModified: at(-2 * H) }
  const d: V = { id: 'd', etag: undefined, lastModified: at(-3 * H) }
  const all = [a, b, c, d]
  const rows: Array<{ name: string, headers: Headers, revalidated: V, want: string[] }> = [
    { name: 'when the 304 has a strong ETag → should select every variant with that strong ETag', headers: { etag: '"x"' }, revalidated: c, want: ['a', 'b'] },
    { name: 'when the 304 has a strong ETag no variant has → should select none (fetch it whole)', headers: { etag: '"y"' }, revalidated: a, want: [] },
    { name: 'when the 304 has a strong ETag matching only weakly → should select none', headers: { etag: '"w"' }, revalidated: c, want: [] },
    { name: 'when the 304 has a weak ETag → should select the first (newest) weak match', headers: { etag: 'W/"x"' }, revalidated: c, want: ['a'] },
    { name: 'when the 304 has a weak ETag matching a weak one → should select it', headers: { etag: 'W/"w"' }, revalidated: a, want: ['c'] },
    { name: 'when the 304 has only Last-Modified → should select the newest variant with it', headers: { 'last-modified': at(-3 * H) }, revalidated: a, want: ['d'] },
    { name: 'when the 304 has a Last-Modified no variant has → should select none', headers: { 'last-modified': at(-4 * H) }, revalidated: a, want: [] },
    { name: 'when the 304 has no validator → should select the variant that was revalidated, by id', headers: {}, revalidated: { ...b }, want: ['b'] }
  ]
  for (const r of rows) t.same(select304(all, r.headers, r.revalidated).map(v => v.id), r.want, r.name)
})
