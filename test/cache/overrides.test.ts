// Table tests for the operator's overrides (cache/overrides.ts): TTL rules by status, and client
// no-cache ignored on request.

import t from 'tap'
import { applyTtlRules, clientDirectives, parseTtlTable, ttlFor, type TtlRules } from '../../src/cache/overrides.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { formatHttpDate } from '../../src/http/dates.ts'

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0)
const OPTS = { heuristicFraction: 0.1, heuristicMaxAge: 86_400_000, setCookie: 'unless-public' as const }
const NONE: TtlRules = { overrideTtl: {}, minTtl: {}, maxTtl: {} }

t.test('ttlFor', async t => {
  t.equal(ttlFor({ 200: 600_000, any: 60_000 }, 200), 600_000, 'when the status is listed → should give its TTL')
  t.equal(ttlFor({ 200: 600_000, any: 60_000 }, 404), 60_000, 'when it is not listed → should give "any"')
  t.equal(ttlFor({ 200: 600_000 }, 404), undefined, 'when neither → should give nothing')
})

t.test('applyTtlRules', async t => {
  interface Row { name: string, cc: string, headers?: Record<string, string>, status?: number, rules: Partial<TtlRules>, maxAge: number | undefined, sMaxAge?: number, detail: string | undefined }
  const rows: Row[] = [
    { name: 'when no rule applies → should leave the directives', cc: 'max-age=5', rules: {}, maxAge: 5, detail: undefined },
    { name: 'when an override names the status → should replace max-age', cc: 'max-age=5', rules: { overrideTtl: { 200: 600_000 } }, maxAge: 600, detail: 'ttl-override' },
    { name: 'when an override names "any" → should apply to a 404', cc: 'max-age=5', status: 404, rules: { overrideTtl: { any: 30_000 } }, maxAge: 30, detail: 'ttl-override' },
    { name: 'when an override names another status only → should leave it', cc: 'max-age=5', rules: { overrideTtl: { 404: 30_000 } }, maxAge: 5, detail: undefined },
    { name: 'when the response has s-maxage → should override both (keeping its proxy-revalidate meaning)', cc: 's-maxage=5, max-age=1', rules: { overrideTtl: { 200: 60_000 } }, maxAge: 60, sMaxAge: 60, detail: 'ttl-override' },
    { name: 'when an override meets no-store → should keep no-store (freshness only)', cc: 'no-store', rules: { overrideTtl: { 200: 60_000 } }, maxAge: 60, detail: 'ttl-override' },
    { name: 'when the lifetime is below the minimum → should raise it', cc: 'max-age=5', rules: { minTtl: { 200: 60_000 } }, maxAge: 60, detail: 'ttl-min' },
    { name: 'when the lifetime is above the minimum → should leave it', cc: 'max-age=500', rules: { minTtl: { 200: 60_000 } }, maxAge: 500, detail: undefined },
    { name: 'when only Expires gives a short lifetime → should raise it to the minimum', cc: '', headers: { date: formatHttpDate(T0), expires: formatHttpDate(T0 + 5000) }, rules: { minTtl: { any: 60_000 } }, maxAge: 60, detail: 'ttl-min' },
    { name: 'when the lifetime is above the maximum → should lower it', cc: 'max-age=86400', rules: { maxTtl: { 200: 3_600_000 } }, maxAge: 3600, detail: 'ttl-max' },
    { name: 'when the lifetime is below the maximum → should leave it', cc: 'max-age=60', rules: { maxTtl: { 200: 3_600_000 } }, maxAge: 60, detail: undefined },
    { name: 'when an override and a maximum both apply → should take the override', cc: 'max-age=60', rules: { overrideTtl: { 200: 7_200_000 }, maxTtl: { 200: 3_600_000 } }, maxAge: 7200, detail: 'ttl-override' }
  ]
  for (const r of rows) {
    const got = applyTtlRules(parseCacheControl(r.cc), { date: formatHttpDate(T0), ...r.headers }, r.status ?? 200, { ...NONE, ...r.rules }, OPTS, false, T0)
    t.same({ maxAge: got.cc.maxAge, sMaxAge: got.cc.sMaxAge, detail: got.detail }, { maxAge: r.maxAge, sMaxAge: r.sMaxAge, detail: r.detail }, r.name)
  }
  t.equal(applyTtlRules(parseCacheControl('no-store, max-age=1'), {}, 200, { ...NONE, overrideTtl: { 200: 1000 } }, OPTS, false, T0).cc.noStore, true, 'no-store survives an override')
})

t.test('clientDirectives', async t => {
  const nc = clientDirectives(parseCacheControl('no-cache, max-age=30', 'ignore'), false, true)
  t.equal(nc.reqCC.noCache, false, 'when ignored → should drop the client\'s no-cache')
  t.equal(nc.reqCC.maxAge, 30, 'when ignored → should keep its other directives')
  t.equal(clientDirectives(parseCacheControl(undefined, 'ignore'), true, true).pragma, false, 'when ignored → should drop Pragma: no-cache')
  t.equal(clientDirectives(parseCacheControl('no-cache', 'ignore'), true, false).reqCC.noCache, true, 'when not ignored → should keep no-cache')
  t.equal(clientDirectives(parseCacheControl(undefined, 'ignore'), true, false).pragma, true, 'when not ignored → should keep Pragma')
})

t.test('parseTtlTable', async t => {
  const seconds = (v: unknown): number => { if (typeof v !== 'string' && typeof v !== 'number') throw new Error('duration'); return typeof v === 'number' ? v * 1000 : Number.parseInt(v) * 60_000 }
  const fail = (key: string): never => { throw new Error(key) }
  t.same(parseTtlTable({ 200: '10m', any: 30 }, seconds, fail, 'k'), { 200: 600_000, any: 30_000 }, 'when statuses and "any" map to durations → should parse them')
  t.same(parseTtlTable('{"404": 5}', seconds, fail, 'k'), { 404: 5000 }, 'when given JSON text (flags, env) → should parse it')
  t.throws(() => parseTtlTable({ '2xx': 5 }, seconds, fail, 'k'), /k\.2xx/, 'when a key is not a status code → should name it')
  t.throws(() => parseTtlTable({ 600: 5 }, seconds, fail, 'k'), /k\.600/, 'when a status is out of range → should name it')
  t.throws(() => parseTtlTable([1], seconds, fail, 'k'), { message: 'k' }, 'when not a mapping → should refuse the table')
  t.throws(() => parseTtlTable('{', seconds, fail, 'k'), { message: 'k' }, 'when the JSON is broken → should refuse the table')
})
