// Compression: identity text responses reach clients in the coding they prefer (br, zstd, gzip),
// each coding made once from the stored identity body and stored beside it, with Vary and a
// per-coding ETag; small, binary, no-transform and already-encoded responses pass as they are.

import t from 'tap'
import { brotliDecompressSync, gunzipSync, zstdDecompressSync, gzipSync } from 'node:zlib'
import { request, Agent } from 'undici'
import { setup } from './harness.ts'
import { compressible, compressibleType, codedETag, codingFor, codedVariant, compressions, identityIdOf } from '../../src/proxy/compress.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { HttpCache } from '../../src/cache/cache.ts'
import { MemoryStore } from '../../src/store/memory-store.ts'
import { buildRecord } from '../../src/cache/entry.ts'

const TEXT = Buffer.from('<p>freshgate compresses what the origin did not.</p>\n'.repeat(80))
const agent = new Agent({ keepAliveTimeout: 1000 })

/** What a client got, body as raw bytes and decoded per Content-Encoding. */
interface Raw { status: number, headers: Record<string, string | string[] | undefined>, bytes: Buffer, text: string, cs: string }

async function fetchRaw (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  const res = await request(url, { method: method as 'GET', headers, dispatcher: agent })
  const bytes = Buffer.from(await res.body.arrayBuffer())
  const ce = res.headers['content-encoding']
  const decoded = bytes.length === 0 ? bytes : ce === 'br' ? brotliDecompressSync(bytes) : ce === 'gzip' ? gunzipSync(bytes) : ce === 'zstd' ? zstdDecompressSync(bytes) : bytes
  return { status: res.statusCode, headers: res.headers, bytes, text: decoded.toString(), cs: String(res.headers['cache-status'] ?? '') }
}

t.test('compressible', async t => {
  const none = parseCacheControl(undefined)
  const rows: Array<{ name: string, status?: number, headers: Record<string, string>, size?: number, res?: string, req?: string, want: boolean }> = [
    { name: 'when a 200 is text/html of 4 KiB → should be compressible', headers: { 'content-type': 'text/html; charset=utf-8' }, size: 4096, want: true },
    { name: 'when the size is unknown (chunked) → should be compressible', headers: { 'content-type': 'application/json' }, want: true },
    { name: 'when the body is under 1 KiB → should not be', headers: { 'content-type': 'text/html' }, size: 1023, want: false },
    { name: 'when the body is exactly 1 KiB → should be', headers: { 'content-type': 'text/css' }, size: 1024, want: true },
    { name: 'when the type is an image → should not be', headers: { 'content-type': 'image/png' }, size: 4096, want: false },
    { name: 'when the type is SVG → should be', headers: { 'content-type': 'image/svg+xml' }, size: 4096, want: true },
    { name: 'when the type is an event stream → should not be (events must not wait in a buffer)', headers: { 'content-type': 'text/event-stream' }, want: false },
    { name: 'when there is no Content-Type → should not be', headers: {}, size: 4096, want: false },
    { name: 'when the origin encoded it → should not be', headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' }, size: 4096, want: false },
    { name: 'when the origin says identity → should be', headers: { 'content-type': 'text/html', 'content-encoding': 'identity' }, size: 4096, want: true },
    { name: 'when the status is 206 → should not be', status: 206, headers: { 'content-type': 'text/html' }, size: 4096, want: false },
    { name: 'when the status is 404 → should not be', status: 404, headers: { 'content-type': 'text/html' }, size: 4096, want: false },
    { name: 'when the response says no-transform → should not be', headers: { 'content-type': 'text/html' }, size: 4096, res: 'max-age=60, no-transform', want: false },
    { name: 'when the request says no-transform → should not be', headers: { 'content-type': 'text/html' }, size: 4096, req: 'no-transform', want: false }
  ]
  for (const r of rows) {
    t.equal(compressible(r.status ?? 200, r.headers, r.size, r.res === undefined ? none : parseCacheControl(r.res), r.req === undefined ? none : parseCacheControl(r.req)), r.want, r.name)
  }
  t.ok(compressibleType('application/problem+json'), 'when the type is +json → should be compressible')
  t.notOk(compressibleType('application/octet-stream'), 'when the type is octet-stream → should not be')
})

t.test('codingFor and codedETag', async t => {
  t.equal(codingFor(undefined), undefined, 'when Accept-Encoding is absent → should be identity')
  t.equal(codingFor('gzip;q=0'), undefined, 'when gzip is refused → should be identity')
  t.equal(codingFor('deflate'), undefined, 'when only deflate is accepted → should be identity (freshgate does not make deflate)')
  t.equal(codingFor('gzip, deflate, br, zstd'), 'br', 'when a browser asks → should be br')
  t.equal(codingFor('zstd, gzip;q=0.5'), 'zstd')
  t.equal(codedETag('"abc"', 'br'), '"abc-br"', 'when the ETag is strong → should suffix inside the quotes')
  t.equal(codedETag('W/"abc"', 'gzip'), 'W/"abc-gzip"', 'when the ETag is weak → should stay weak')
})

/** An origin serving TEXT as identity HTML with an ETag, cacheable for a minute. */
function htmlOrigin (extra: Record<string, string> = {}, body = TEXT) {
  return (_req: unknown, res: { writeHead: (s: number, h: Record<string, string | number>) => void, end: (b: Buffer) => void }): void => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'max-age=60', etag: '"v1"', 'content-length': body.length, ...extra })
    res.end(body)
  }
}

t.test('a br client on a miss → should get br compressed on the fly, the identity body stored', async t => {
  const { origin, proxy } = await setup(t, htmlOrigin())
  const streams = compressions.streams
  const a = await fetchRaw(proxy.url + '/page', { 'accept-encoding': 'gzip, deflate, br, zstd' })
  t.equal(a.status, 200)
  t.equal(a.headers['content-encoding'], 'br')
  t.equal(a.headers['content-length'], undefined, 'no identity length on a coded stream')
  t.match(String(a.headers.vary), /Accept-Encoding/i)
  t.equal(a.headers.etag, '"v1-br"')
  t.equal(a.text, TEXT.toString())
  t.ok(a.bytes.length < TEXT.length / 4, `compressed to ${a.bytes.length} bytes`)
  t.equal(compressions.streams, streams + 1)
  t.equal(origin.seen[0]?.headers['accept-encoding'], 'br', 'the origin is asked for the chosen coding only')
  const plain = await fetchRaw(proxy.url + '/page')
  t.match(plain.cs, /hit/)
  t.equal(plain.headers['content-encoding'], undefined, 'a client without Accept-Encoding gets identity')
  t.equal(plain.headers['content-length'], String(TEXT.length))
  t.match(String(plain.headers.vary), /Accept-Encoding/i, 'identity answers vary too')
  t.equal(plain.headers.etag, '"v1"')
  t.equal(plain.text, TEXT.toString())
  t.equal(origin.count(), 1)
})

t.test('each coding → should be compressed once, stored and reused on later hits', async t => {
  const { origin, proxy } = await setup(t, htmlOrigin())
  await fetchRaw(proxy.url + '/once')
  const before = compressions.bodies
  for (const [ae, coding, made] of [['br', 'br', 1], ['br, gzip', 'br', 1], ['gzip', 'gzip', 2], ['gzip, deflate', 'gzip', 2], ['x-gzip;q=0.8', 'gzip', 2], ['zstd', 'zstd', 3], ['zstd;q=1, gzip;q=0.5', 'zstd', 3]] as const) {
    const got = await fetchRaw(proxy.url + '/once', { 'accept-encoding': ae })
    t.equal(got.headers['content-encoding'], coding, `${ae} → ${coding}`)
    t.equal(got.text, TEXT.toString())
    t.equal(got.headers['content-length'], String(got.bytes.length), 'a stored coded body has its length')
    t.match(got.cs, /hit/)
    t.equal(compressions.bodies - before, made, `${made} coded bodies made after ${ae}`)
  }
  t.equal(origin.count(), 1, 'the origin was asked once')
})

t.test('Accept-Encoding: gzip;q=0 → should get identity', async t => {
  const { proxy } = await setup(t, htmlOrigin())
  for (const round of ['miss', 'hit']) {
    const got = await fetchRaw(proxy.url + '/q0', { 'accept-encoding': 'gzip;q=0' })
    t.equal(got.headers['content-encoding'], undefined, round)
    t.equal(got.bytes.length, TEXT.length)
  }
})

t.test('responses that are not compressed → should pass as the origin sent them', async t => {
  const small = Buffer.from('x'.repeat(500))
  const gz = gzipSync(TEXT)
  const { proxy } = await setup(t, (req, res) => {
    if (req.url === '/small') return htmlOrigin({}, small)(req, res)
    if (req.url === '/png') return htmlOrigin({ 'content-type': 'image/png' })(req, res)
    if (req.url === '/no-transform') return htmlOrigin({ 'cache-control': 'max-age=60, no-transform' })(req, res)
    if (req.url === '/encoded') return htmlOrigin({ 'content-encoding': 'gzip', vary: 'Accept-Encoding' }, gz)(req, res)
  })
  for (const path of ['/small', '/png', '/no-transform']) {
    for (const round of ['miss', 'hit']) {
      const got = await fetchRaw(proxy.url + path, { 'accept-encoding': 'br, gzip' })
      t.equal(got.headers['content-encoding'], undefined, `${path} ${round}: not encoded`)
      t.equal(got.headers.etag, '"v1"', `${path} ${round}: the origin's ETag`)
    }
  }
  for (const round of ['miss', 'hit']) {
    const got = await fetchRaw(proxy.url + '/encoded', { 'accept-encoding': 'gzip' })
    t.equal(got.headers['content-encoding'], 'gzip', `already encoded ${round}`)
    t.same(got.bytes, gz, `${round}: the origin's bytes, not encoded twice`)
  }
})

t.test('a Range request → should be served from the identity body', async t => {
  const { origin, proxy } = await setup(t, htmlOrigin())
  await fetchRaw(proxy.url + '/r', { 'accept-encoding': 'br' })
  await fetchRaw(proxy.url + '/r', { 'accept-encoding': 'br' })
  const got = await fetchRaw(proxy.url + '/r', { 'accept-encoding': 'br', range: 'bytes=0-9' })
  t.equal(got.status, 206)
  t.equal(got.headers['content-encoding'], undefined)
  t.equal(got.headers['content-range'], `bytes 0-9/${TEXT.length}`)
  t.equal(got.text, TEXT.subarray(0, 10).toString())
  t.equal(origin.count(), 1)
})

t.test('If-None-Match with the coded ETag → should be answered 304', async t => {
  const { proxy } = await setup(t, htmlOrigin())
  await fetchRaw(proxy.url + '/etag')
  const coded = await fetchRaw(proxy.url + '/etag', { 'accept-encoding': 'gzip', 'if-none-match': '"v1-gzip"' })
  t.equal(coded.status, 304, 'before the coded body is stored')
  t.equal(coded.headers.etag, '"v1-gzip"')
  const again = await fetchRaw(proxy.url + '/etag', { 'accept-encoding': 'gzip', 'if-none-match': '"v1-gzip"' })
  t.equal(again.status, 304, 'from the stored coded body')
  const other = await fetchRaw(proxy.url + '/etag', { 'accept-encoding': 'gzip', 'if-none-match': '"v1"' })
  t.equal(other.status, 200, "the identity ETag does not validate the gzip body")
  t.equal(other.headers['content-encoding'], 'gzip')
  const plain = await fetchRaw(proxy.url + '/etag', { 'if-none-match': '"v1"' })
  t.equal(plain.status, 304, 'the identity ETag validates the identity body')
})

t.test('a HEAD → should carry the coded head without a body', async t => {
  const { proxy } = await setup(t, htmlOrigin())
  const miss = await fetchRaw(proxy.url + '/head', { 'accept-encoding': 'br' }, 'HEAD')
  t.equal(miss.headers['content-encoding'], 'br')
  t.equal(miss.bytes.length, 0)
  await fetchRaw(proxy.url + '/head')
  const hit = await fetchRaw(proxy.url + '/head', { 'accept-encoding': 'br' }, 'HEAD')
  t.equal(hit.headers['content-encoding'], 'br')
  t.equal(hit.headers.etag, '"v1-br"')
  t.equal(hit.bytes.length, 0)
})

t.test('an uncacheable response → should be compressed on the fly every time', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) }))
  })
  const streams = compressions.streams
  for (let i = 0; i < 2; i++) {
    const got = await fetchRaw(proxy.url + '/api', { 'accept-encoding': 'gzip' })
    t.equal(got.headers['content-encoding'], 'gzip')
    t.equal(JSON.parse(got.text).items.length, 200)
  }
  t.equal(compressions.streams - streams, 2)
  t.equal(origin.count(), 2)
})

t.test('compress off → should pass identity bodies unchanged', async t => {
  const { proxy } = await setup(t, htmlOrigin(), { compress: false })
  for (const round of ['miss', 'hit']) {
    const got = await fetchRaw(proxy.url + '/off', { 'accept-encoding': 'br, gzip' })
    t.equal(got.headers['content-encoding'], undefined, round)
    t.equal(got.headers.vary, undefined, round)
  }
})

t.test('codedVariant → should store the coded body beside a stored identity one, and only then', async t => {
  const now = Date.now()
  const store = new MemoryStore({ maxBytes: 1_000_000, maxEntryBytes: 1_000_000, maxVariants: 16, clock: () => now })
  const cache = new HttpCache(store, { maxVariants: 16, maxPurgeKeys: 100 })
  const opts = { heuristicFraction: 0.1, heuristicMaxAge: 86_400_000, setCookie: 'strip' as const, keepStale: 0, staleIfErrorGrace: 0, stripFields: [], via: '1.1 freshgate' }
  const cc = parseCacheControl('max-age=60')
  const stored = async (key: string): Promise<void> => {
    const record = buildRecord({ key, status: 200, statusMessage: 'OK', headers: { 'content-type': 'text/html', 'cache-control': 'max-age=60', etag: '"x"', vary: 'Accept-Encoding' }, bodySize: TEXT.length, cc, target: undefined, varyFields: [], varyKey: '', times: { requestTime: now, responseTime: now }, age: undefined, tags: [] }, opts)
    const w = cache.put(record, {}, [])!
    w.write(TEXT)
    await w.end()
  }
  const br = { 'accept-encoding': 'br' }
  await stored('http://a/kept')
  const v = (await cache.lookup('http://a/kept', br)).entry!
  const coded = await codedVariant(cache, v, 'br', br, 16)
  t.equal(coded.record.headers['content-encoding'], 'br')
  t.equal(brotliDecompressSync(coded.body!).toString(), TEXT.toString())
  t.equal((await cache.lookup('http://a/kept', br)).entry?.record.id, `${v.record.id}.br`, 'when the identity variant is stored → a br request selects the coded one')
  t.equal((await cache.lookup('http://a/kept', {})).entry?.record.id, v.record.id, 'and a request without Accept-Encoding the identity one')

  await stored('http://a/purged')
  const p = (await cache.lookup('http://a/purged', br)).entry!
  await store.delete('http://a/purged')
  await codedVariant(cache, p, 'br', br, 16)
  t.same(await cache.variants('http://a/purged'), [], 'when the identity variant was purged → the coded copy is not stored')

  await stored('http://a/invalidated')
  const i = (await cache.lookup('http://a/invalidated', br)).entry!
  const making = codedVariant(cache, i, 'br', br, 16)
  await cache.invalidate('http://a/invalidated')
  await making
  t.same(await cache.variants('http://a/invalidated'), [], 'when the URL is invalidated while compressing → the coded copy is not stored')
})

t.test('identityIdOf: the identity id of a coded variant id, as the pattern ^(.+)\\.(br|zstd|gzip)$ reads it', async t => {
  const rows: Array<[string, string | undefined]> = [
    ['abc.br', 'abc'], ['abc.zstd', 'abc'], ['abc.gzip', 'abc'], ['a.b.gzip', 'a.b'],
    ['abc', undefined], ['.br', undefined], ['abc.deflate', undefined], ['abc.br.x', undefined], ['abc.BR', undefined], ['abc.', undefined]
  ]
  for (const [id, want] of rows) t.equal(identityIdOf(id), want, `${id} → ${String(want)}`)
})
