// Behaviour 9: the store is bounded in total bytes and per entry; a larger response streams
// through unstored; header sizes are bounded.

import t from 'tap'
import { setup, get, raw } from './harness.ts'

t.test('a response over the per-entry limit streams through and is not stored (Content-Length known)', async t => {
  const body = 'a'.repeat(20_000)
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': String(body.length) })
    res.end(body)
  }, { 'cache.maxEntrySize': '16KiB' })
  const a = await get(`${proxy.url}/big`)
  t.equal(a.body.length, body.length, 'the client got it whole')
  t.equal(a.cs, 'freshgate; fwd=uri-miss; detail=too-large')
  await get(`${proxy.url}/big`)
  t.equal(origin.count(), 2)
})

t.test('a chunked response that passes the limit mid-body stops being stored and still streams whole', async t => {
  const { origin, proxy } = await setup(t, async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    for (let i = 0; i < 10; i++) {
      res.write('b'.repeat(4096))
      await new Promise(resolve => setImmediate(resolve))
    }
    res.end()
  }, { 'cache.maxEntrySize': '16KiB' })
  const a = await get(`${proxy.url}/chunked`)
  t.equal(a.body.length, 40960)
  const b = await get(`${proxy.url}/chunked`)
  t.equal(b.body.length, 40960)
  t.notMatch(b.cs, /hit/)
  t.equal(origin.count(), 2)
})

t.test('total bytes are bounded: old entries are evicted least-recently-used first', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600' })
    res.end('c'.repeat(30_000))
  }, { 'cache.maxSize': '100KiB', 'cache.maxEntrySize': '40KiB' })
  for (let i = 0; i < 6; i++) await get(`${proxy.url}/e${i}`)
  const stats = proxy.fg.store!.stats()
  t.ok(stats.bytes <= 100 * 1024, `stored bytes ${stats.bytes} within the bound`)
  t.ok(stats.evictions >= 3, 'older entries were evicted')
  t.match((await get(`${proxy.url}/e5`)).cs, /hit/, 'the newest entry is kept')
  t.notMatch((await get(`${proxy.url}/e0`)).cs, /hit/, 'the oldest entry was evicted')
  t.equal(origin.count('/e0'), 2)
})

t.test('a request header section over maxHeaderSize is refused with 431', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'), { maxHeaderSize: '2KiB' })
  const text = await raw(proxy.url, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(4096)}\r\n\r\n`, /\r\n\r\n/)
  t.match(text, /^HTTP\/1\.1 431 /)
  t.equal(origin.count(), 0)
})

t.test('an origin header section over maxHeaderSize → 502, not stored', async t => {
  const { proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'x-big': 'h'.repeat(4096) })
    res.end('ok')
  }, { maxHeaderSize: '2KiB' })
  const r = await get(`${proxy.url}/`)
  t.equal(r.status, 502)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_INVALID')
})

t.test('maxSize 0 disables storing: everything passes through with fwd=bypass', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('ok')
  }, { 'cache.maxSize': 0, 'cache.maxEntrySize': 0 })
  await get(`${proxy.url}/`)
  const r = await get(`${proxy.url}/`)
  t.equal(r.cs, 'freshgate; fwd=bypass')
  t.equal(origin.count(), 2)
})

t.test('past the per-entry limit the rest streams with bounded memory (nothing accumulates)', async t => {
  const chunk = Buffer.alloc(64 * 1024, 'm')
  const total = 384 * 1024 * 1024
  const { proxy } = await setup(t, async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!res.write(chunk)) await new Promise(resolve => res.once('drain', resolve))
    }
    res.end()
  }, { 'cache.maxEntrySize': '1MiB' })
  let peak = 0
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().arrayBuffers) }, 10)
  const { request } = await import('undici')
  const res = await request(`${proxy.url}/huge`)
  let received = 0
  for await (const c of res.body) received += (c as Buffer).length
  clearInterval(sampler)
  t.equal(received, total, 'the whole body arrived')
  // Garbage awaiting collection is bounded (about 110 MiB here, whatever the length); keeping the
  // body would need all 384 MiB.
  t.ok(peak < 192 * 1024 * 1024, `peak buffer memory ${Math.round(peak / 1048576)} MiB stayed far below the ${total / 1048576} MiB streamed`)
  t.equal(proxy.fg.store!.stats().entries, 0, 'not stored')
})
