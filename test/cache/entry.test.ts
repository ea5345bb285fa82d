// Table tests for the stored record: which fields are stored (RFC 9111 §3.1), how the record is
// built, how a 304 freshens it (§3.2, §4.3.4), soft-purge staleness, and the heads prepared for hits.

import t from 'tap'
import { T0, S, at, entryOptions } from './fixtures.ts'
import { storedHeaders, buildRecord, freshen, flatHead, markStale, prepared, parseTags, type EntryOptions, type Headers, type StoredRecord, type Variant } from '../../src/cache/entry.ts'
import { variantSize } from '../../src/store/memory-store.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { effectiveDirectives } from '../../src/http/targeted.ts'

const OPTS = entryOptions({ setCookie: 'strip', stripFields: ['cdn-cache-control'] })
const TARGETS = ['cdn-cache-control']

t.test('storedHeaders (RFC 9111 §3.1)', async t => {
  interface Row { name: string, src: Headers, cc?: string, present: Headers, absent: string[] }
  const base = { date: at(0), 'content-type': 'text/plain' }
  const rows: Row[] = [
    { name: 'when the response has ordinary fields → should keep them', src: { ...base, etag: '"a"', 'cache-control': 'max-age=60', vary: 'accept', 'content-length': '3', 'last-modified': at(-S) }, present: { etag: '"a"', 'cache-control': 'max-age=60', vary: 'accept', 'content-length': '3', 'last-modified': at(-S), 'content-type': 'text/plain' }, absent: [] },
    { name: 'when the response has the fixed hop-by-hop fields → should drop every one', src: { ...base, connection: 'keep-alive', 'keep-alive': 'timeout=5', 'proxy-connection': 'x', te: 'trailers', trailer: 'x-t', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-authenticate': 'Basic', 'proxy-authorization': 'Basic x' }, present: base, absent: ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization'] },
    { name: 'when Connection names a field → should drop that field too', src: { ...base, connection: 'X-Hop, close', 'x-hop': '1', 'x-keep': '2' }, present: { 'x-keep': '2' }, absent: ['connection', 'x-hop'] },
    { name: 'when the response has Age → should drop it (recomputed on every hit)', src: { ...base, age: '30' }, present: base, absent: ['age'] },
    { name: 'when the response has Set-Cookie → should drop it', src: { ...base, 'set-cookie': ['a=1', 'b=2'] }, present: base, absent: ['set-cookie'] },
    { name: 'when the response has a targeted field meant for this cache → should drop it', src: { ...base, 'cdn-cache-control': 'max-age=60', 'other-cache-control': 'max-age=1' }, present: { 'other-cache-control': 'max-age=1' }, absent: ['cdn-cache-control'] },
    { name: 'when private names fields → should drop those fields (§5.2.2.7)', src: { ...base, 'x-user': 'bob', 'x-public': 'y' }, cc: 'private="X-User"', present: { 'x-public': 'y' }, absent: ['x-user'] },
    { name: 'when no-cache names fields → should drop those fields (§5.2.2.4)', src: { ...base, 'x-token': 't', 'x-public': 'y' }, cc: 'no-cache="x-token", max-age=60', present: { 'x-public': 'y' }, absent: ['x-token'] },
    { name: 'when a field value is undefined → should leave the field out', src: { ...base, 'x-none': undefined }, present: base, absent: ['x-none'] },
    { name: 'when the origin sent Date → should keep it', src: { date: at(-5 * S) }, present: { date: at(-5 * S) }, absent: [] },
    { name: 'when the origin sent no Date → should add the time of receipt (RFC 9110 §6.6.1)', src: { 'content-type': 'text/plain' }, present: { date: at(0) }, absent: [] },
    { name: 'when the origin sent an invalid Date → should replace it with the time of receipt (RFC 9110 §6.6.1)', src: { date: 'yesterday' }, present: { date: at(0) }, absent: [] },
    { name: 'when the origin sent Date twice → should replace it with the time of receipt', src: { date: [at(-5 * S), at(-9 * S)] }, present: { date: at(0) }, absent: [] },
    { name: 'when the origin sent Date in lower case → should keep it as sent', src: { date: 'mon, 15 jan 2024 11:59:55 gmt' }, present: { date: 'mon, 15 jan 2024 11:59:55 gmt' }, absent: [] }
  ]
  for (const r of rows) {
    const cc = parseCacheControl(r.cc ?? r.src['cache-control'])
    const got = storedHeaders(r.src, cc, OPTS, T0)
    t.match(got, r.present, `${r.name} (kept)`)
    t.same(r.absent.filter(f => f in got), [], `${r.name} (dropped)`)
  }
})

t.test('flatHead', async t => {
  const rows: Array<{ name: string, headers: Headers, only?: string[], want: string[] }> = [
    { name: 'when headers are single values → should flatten them and append Via', headers: { a: '1', b: '2' }, want: ['a', '1', 'b', '2', 'via', '1.1 freshgate'] },
    { name: 'when a field has several values → should repeat the name', headers: { link: ['<a>', '<b>'] }, want: ['link', '<a>', 'link', '<b>', 'via', '1.1 freshgate'] },
    { name: 'when the upstream sent Via → should append ours to it', headers: { via: '1.0 origin-proxy' }, want: ['via', '1.0 origin-proxy, 1.1 freshgate'] },
    { name: 'when only some fields are wanted → should write only those, in that order', headers: { a: '1', b: '2', c: '3' }, only: ['c', 'a', 'missing'], want: ['c', '3', 'a', '1', 'via', '1.1 freshgate'] }
  ]
  for (const r of rows) t.same(flatHead(r.headers, OPTS.via, r.only), r.want, r.name)
})

/** Builds a stored 200 the way the proxy does: storedHeaders, then buildRecord (bodySize: Content-Length or -1, set by the store on commit). */
function build (res: Headers, body = 'hello', times = { requestTime: T0, responseTime: T0 }, status = 200, over: { id?: string, tags?: string[], opts?: EntryOptions } = {}): StoredRecord {
  const opts = over.opts ?? OPTS
  const { cc, target } = effectiveDirectives(res, TARGETS)
  return buildRecord({
    key: 'http://example.com/a',
    status,
    statusMessage: 'OK',
    headers: storedHeaders(res, cc, opts, times.responseTime),
    bodySize: Buffer.byteLength(body),
    cc,
    target,
    varyFields: [],
    varyKey: '',
    times,
    age: res.age,
    tags: over.tags ?? [],
    id: over.id
  }, opts)
}

/** A variant as the memory tier hands it out (bodySize as the store sets it on commit). */
const variant = (r: StoredRecord, body = 'hello'): Variant => ({ record: { ...r, bodySize: Buffer.byteLength(body) }, body: Buffer.from(body) })

t.test('buildRecord', async t => {
  interface Row { name: string, got: () => unknown, want: unknown }
  const rows: Row[] = [
    { name: 'when the response has max-age → should compute the lifetime', got: () => build({ date: at(0), 'cache-control': 'max-age=60' }).lifetime, want: 60 * S },
    { name: 'when a targeted field governs → should compute the lifetime from it and ignore Expires', got: () => { const e = build({ date: at(0), 'cdn-cache-control': 'max-age=30', 'cache-control': 'max-age=600', expires: at(3600 * S) }); return [e.lifetime, e.target] }, want: [30 * S, 'cdn-cache-control'] },
    { name: 'when a targeted field governs with only Expires → should ignore Expires', got: () => build({ date: at(0), 'cdn-cache-control': 'public', expires: at(3600 * S) }).lifetime, want: 0 },
    { name: 'when the response carried Age and took 1 s → should compute the corrected initial age', got: () => build({ date: at(S), age: '10' }, 'x', { requestTime: T0, responseTime: T0 + S }).initialAge, want: 11 * S },
    { name: 'when the response arrived → should record the response time', got: () => build({}, 'x', { requestTime: T0, responseTime: T0 + 2 * S }).responseTime, want: T0 + 2 * S },
    { name: 'when the response has validators → should expose them', got: () => { const e = build({ etag: '"v1"', 'last-modified': at(-S), date: at(0) }); return [e.etag, e.lastModified, e.date] }, want: ['"v1"', at(-S), at(0)] },
    { name: 'when the origin sent no Date → should expose the added Date', got: () => build({}).date, want: at(0) },
    { name: 'when the record is built → should not add Content-Length (the hit head does, from the stored length)', got: () => build({ 'cache-control': 'max-age=60' }, 'hello').headers['content-length'], want: undefined },
    { name: 'when the body was chunked → should store no Transfer-Encoding', got: () => build({ 'transfer-encoding': 'chunked' }, 'abc').headers['transfer-encoding'], want: undefined },
    { name: 'when no id is given → should assign a new url-safe one each time', got: () => { const a = build({}).id; const b = build({}).id; return [a !== b, /^[A-Za-z0-9_-]+$/.test(a)] }, want: [true, true] },
    { name: 'when an id is given (freshening) → should keep it', got: () => build({}, 'x', undefined, 200, { id: 'v-1' }).id, want: 'v-1' },
    { name: 'when tags are given → should keep them', got: () => build({}, 'x', undefined, 200, { tags: ['a', 'b'] }).tags, want: ['a', 'b'] },
    { name: 'when the response has a validator → should keep it keepStale past its freshness', got: () => build({ date: at(0), 'cache-control': 'max-age=60', etag: '"a"' }).keepUntil, want: T0 + 60 * S + 3_600_000 },
    { name: 'when the response has no validator → should keep it a minute past its freshness (max-stale)', got: () => build({ date: at(0), 'cache-control': 'max-age=60' }).keepUntil, want: T0 + 120 * S },
    { name: 'when the response has stale-if-error longer than keepStale → should keep it for that window', got: () => build({ date: at(0), 'cache-control': 'max-age=60, stale-if-error=7200', etag: '"a"' }).keepUntil, want: T0 + 60 * S + 7_200_000 },
    { name: 'when the response has stale-while-revalidate and no validator → should keep it for that window', got: () => build({ date: at(0), 'cache-control': 'max-age=60, stale-while-revalidate=600' }).keepUntil, want: T0 + 660 * S },
    { name: 'when the operator grace is the longest → should keep it for the grace', got: () => build({ date: at(0), 'cache-control': 'max-age=60' }, 'x', undefined, 200, { opts: { ...OPTS, staleIfErrorGrace: 600_000 } }).keepUntil, want: T0 + 660 * S },
    { name: 'when the record is serialised → should survive a JSON round trip (a shared tier stores it so)', got: () => { const r = build({ date: at(0), etag: '"a"', 'cache-control': 'max-age=60' }); return JSON.parse(JSON.stringify(r)).keepUntil === r.keepUntil && JSON.parse(JSON.stringify(r)).id === r.id }, want: true },
    { name: 'when sizing the variant → should count body, header strings and a fixed overhead', got: () => { const r = build({ date: at(0) }, 'hello'); return variantSize(r) - r.bodySize - Object.entries(r.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 0) }, want: 256 },
    { name: 'when Date is invalid and Expires is an hour after receipt → should be fresh for that hour, not stale (RFC 9110 §6.6.1)', got: () => build({ date: 'garbage', expires: at(3600 * S) }).lifetime, want: 3600 * S },
    { name: 'when Date is invalid and Last-Modified is 10 days old → should use heuristic freshness from receipt', got: () => build({ date: 'garbage', 'last-modified': at(-10 * 86_400 * S) }).lifetime, want: 86_400 * S },
    { name: 'when Date is invalid → should count age from receipt', got: () => build({ date: 'garbage', age: '5' }, 'x', { requestTime: T0, responseTime: T0 }).initialAge, want: 5 * S }
  ]
  for (const r of rows) t.same(r.got(), r.want, r.name)
})

t.test('prepared heads', async t => {
  interface Row { name: string, got: () => unknown, want: unknown }
  const rows: Row[] = [
    { name: 'when the origin sent no Content-Length → should add the stored body length', got: () => { const h = prepared(variant(build({ 'cache-control': 'max-age=60' }, 'hello')), OPTS.via).head; return h[h.indexOf('content-length') + 1] }, want: '5' },
    { name: 'when the origin sent Content-Length → should keep it once', got: () => prepared(variant(build({ 'content-length': '5' }, 'hello')), OPTS.via).head.filter(x => x === 'content-length').length, want: 1 },
    { name: 'when the body was chunked → should give Content-Length and no Transfer-Encoding', got: () => { const h = prepared(variant(build({ 'transfer-encoding': 'chunked' }, 'abc'), 'abc'), OPTS.via).head; return [h[h.indexOf('content-length') + 1], h.includes('transfer-encoding')] }, want: ['3', false] },
    { name: 'when the status is 204 → should not add Content-Length', got: () => prepared(variant(build({ 'cache-control': 'max-age=60' }, '', undefined, 204), ''), OPTS.via).head.includes('content-length'), want: false },
    { name: 'when building the head → should list the stored fields and our Via', got: () => prepared(variant(build({ date: at(0), 'x-a': '1' }, 'hi'), 'hi'), OPTS.via).head, want: ['date', at(0), 'x-a', '1', 'content-length', '2', 'via', '1.1 freshgate'] },
    { name: 'when the response has an ETag → should give the 304 head only the §15.4.5 fields', got: () => prepared(variant(build({ date: at(0), etag: '"a"', 'cache-control': 'max-age=60', 'content-type': 'text/plain', 'last-modified': at(-S), vary: 'accept', expires: at(60 * S), 'content-location': '/x' })), OPTS.via).head304, want: ['cache-control', 'max-age=60', 'content-location', '/x', 'date', at(0), 'etag', '"a"', 'expires', at(60 * S), 'vary', 'accept', 'via', '1.1 freshgate'] },
    { name: 'when the response has no ETag → should add Last-Modified to the 304 head', got: () => prepared(variant(build({ date: at(0), 'last-modified': at(-S), 'content-type': 'text/plain' })), OPTS.via).head304, want: ['date', at(0), 'last-modified', at(-S), 'via', '1.1 freshgate'] },
    { name: 'when asked twice with the same Via → should build once (memoised on the variant)', got: () => { const v = variant(build({ date: at(0) })); return prepared(v, OPTS.via) === prepared(v, OPTS.via) }, want: true },
    { name: 'when the Via changes (a reload) → should rebuild with the new Via', got: () => { const v = variant(build({ date: at(0) })); prepared(v, OPTS.via); return prepared(v, '1.1 other').head.slice(-2) }, want: ['via', '1.1 other'] },
    { name: 'when prepared → should not write the heads into the record (it stays serialisable)', got: () => { const v = variant(build({ date: at(0) })); prepared(v, OPTS.via); return Object.keys(v.record).includes('head') || Object.keys(v.record).includes('prepared') }, want: false }
  ]
  for (const r of rows) t.same(r.got(), r.want, r.name)
})

t.test('markStale (soft purge)', async t => {
  const r = build({ date: at(0), 'cache-control': 'max-age=60' })
  const rows: Array<{ name: string, got: () => unknown, want: unknown }> = [
    { name: 'when a fresh record is marked stale → its lifetime should end now', got: () => markStale(r, T0 + 10 * S).lifetime, want: 10 * S },
    { name: 'when marked stale with an initial age → its lifetime should be the current age', got: () => markStale(build({ date: at(0), age: '5', 'cache-control': 'max-age=60' }), T0 + 10 * S).lifetime, want: 15 * S },
    { name: 'when an already stale record is marked stale → its lifetime should not grow', got: () => markStale(r, T0 + 600 * S).lifetime, want: 60 * S },
    { name: 'when marked stale → should keep the id and keepUntil (stale uses remain possible)', got: () => { const m = markStale(r, T0 + 10 * S); return [m.id === r.id, m.keepUntil === r.keepUntil] }, want: [true, true] },
    { name: 'when marked stale → should not change the record it came from', got: () => { markStale(r, T0 + 10 * S); return r.lifetime }, want: 60 * S }
  ]
  for (const x of rows) t.same(x.got(), x.want, x.name)
})

t.test('parseTags', async t => {
  const rows: Array<{ name: string, headers: Headers, fields: string[], want: string[] }> = [
    { name: 'when tags are space- or comma-separated → should split them', headers: { 'surrogate-key': 'a b,c , d' }, fields: ['surrogate-key'], want: ['a', 'b', 'c', 'd'] },
    { name: 'when several fields and lines carry tags → should de-duplicate them', headers: { 'surrogate-key': ['a b', 'b'], 'cache-tag': 'a,c' }, fields: ['surrogate-key', 'cache-tag'], want: ['a', 'b', 'c'] },
    { name: 'when no configured field is present → should give none', headers: { 'x-other': 'a' }, fields: ['surrogate-key'], want: [] }
  ]
  for (const r of rows) t.same(parseTags(r.headers, r.fields), r.want, r.name)
})

t.test('freshen (RFC 9111 §3.2, §4.3.4)', async t => {
  const original = build({ date: at(0), etag: '"a"', 'cache-control': 'max-age=60', 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': '5', 'x-old': 'kept' }, 'hello', undefined, 200, { tags: ['t'] })
  const later = { requestTime: T0 + 100 * S, responseTime: T0 + 101 * S }

  /** Freshens `original` with a 304 carrying `res`, the way the proxy does. */
  function fold (res: Headers, base = original): StoredRecord {
    const { cc, target } = effectiveDirectives(res, TARGETS)
    return freshen(base, storedHeaders(res, cc, OPTS, later.responseTime), res.age, cc, target, later, OPTS)
  }

  interface Row { name: string, got: () => unknown, want: unknown }
  const rows: Row[] = [
    { name: 'when the 304 has a new Date and Cache-Control → should replace them', got: () => { const f = fold({ date: at(101 * S), 'cache-control': 'max-age=120' }); return [f.headers.date, f.headers['cache-control'], f.lifetime] }, want: [at(101 * S), 'max-age=120', 120 * S] },
    { name: 'when the 304 has a new field → should add it', got: () => fold({ date: at(101 * S), 'x-new': 'n' }).headers['x-new'], want: 'n' },
    { name: 'when the 304 omits a stored field → should keep the stored one', got: () => fold({ date: at(101 * S) }).headers['x-old'], want: 'kept' },
    { name: 'when the 304 carries Content-Length: 0 → should keep the stored Content-Length', got: () => fold({ date: at(101 * S), 'content-length': '0' }).headers['content-length'], want: '5' },
    { name: 'when the 304 carries Content-Encoding → should keep the stored one (it describes the stored bytes)', got: () => fold({ date: at(101 * S), 'content-encoding': 'br' }).headers['content-encoding'], want: 'gzip' },
    { name: 'when the 304 carries Content-Range → should not add it', got: () => fold({ date: at(101 * S), 'content-range': 'bytes 0-1/5' }).headers['content-range'], want: undefined },
    { name: 'when the 304 carries hop-by-hop fields → should not store them', got: () => { const h = fold({ date: at(101 * S), connection: 'x-c', 'x-c': '1', 'keep-alive': 'timeout=5' }).headers; return [h.connection, h['x-c'], h['keep-alive']] }, want: [undefined, undefined, undefined] },
    { name: 'when the 304 carries Set-Cookie → should not store it', got: () => fold({ date: at(101 * S), 'set-cookie': 'a=1' }).headers['set-cookie'], want: undefined },
    { name: 'when the 304 carries a new ETag → should expose it', got: () => fold({ date: at(101 * S), etag: '"b"' }).etag, want: '"b"' },
    { name: 'when freshened → should keep the id, body size, status and tags', got: () => { const f = fold({ date: at(101 * S) }); return [f.id === original.id, f.bodySize, f.status, f.tags] }, want: [true, 5, 200, ['t']] },
    { name: 'when freshened → should restart age from the new exchange', got: () => { const f = fold({ date: at(101 * S), 'cache-control': 'max-age=60' }); return [f.responseTime, f.initialAge] }, want: [T0 + 101 * S, S] },
    { name: 'when the 304 has Age → should count it in the new initial age', got: () => fold({ date: at(101 * S), age: '20' }).initialAge, want: 21 * S },
    { name: 'when the 304 carries no Cache-Control → should keep the stored directives and lifetime', got: () => { const f = fold({ date: at(101 * S) }); return [f.cc.maxAge, f.lifetime] }, want: [60, 60 * S] },
    { name: 'when the stored response was governed by a targeted field and the 304 has neither → should keep the targeted directives', got: () => { const f = fold({ date: at(101 * S) }, build({ date: at(0), etag: '"a"', 'cdn-cache-control': 'max-age=30', 'cache-control': 'no-cache' })); return [f.target, f.cc.maxAge, f.cc.noCache, f.lifetime] }, want: ['cdn-cache-control', 30, false, 30 * S] },
    { name: 'when the 304 brings a targeted field → should use it', got: () => { const f = fold({ date: at(101 * S), 'cdn-cache-control': 'max-age=5' }); return [f.target, f.lifetime] }, want: ['cdn-cache-control', 5 * S] },
    { name: 'when the 304 has no-cache → should take it', got: () => fold({ date: at(101 * S), 'cache-control': 'no-cache' }).cc.noCache, want: true },
    { name: 'when freshened → should serve a head rebuilt from the merged fields', got: () => prepared(variant(fold({ date: at(101 * S), 'x-new': 'n' })), OPTS.via).head.includes('x-new'), want: true },
    { name: 'when freshened → should not change the stored response it came from', got: () => { fold({ date: at(101 * S), 'x-new': 'n' }); return [original.headers['x-new'], original.lifetime] }, want: [undefined, 60 * S] }
  ]
  for (const r of rows) t.same(r.got(), r.want, r.name)
})
