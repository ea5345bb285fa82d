// Request collapsing and streaming through the cache: one upstream request per key, waiters served
// from its result, released when it is not storable, errors delivered to all.

import t from 'tap'
import { connect } from 'node:net'
import { setup, get, raw, type OriginHandler } from './harness.ts'

const N = 40

/** An origin answering after 100 ms that records how many requests it held at once. */
function concurrency (): { peak: number, origin: (cacheControl: string, body: string) => OriginHandler } {
  let inFlight = 0
  const load = {
    peak: 0,
    origin: (cacheControl: string, body: string): OriginHandler => async (_req, res) => {
      inFlight++
      load.peak = Math.max(load.peak, inFlight)
      await new Promise(resolve => setTimeout(resolve, 100))
      inFlight--
      res.writeHead(200, { 'cache-control': cacheControl })
      res.end(body)
    }
  }
  return load
}

t.test('concurrent misses on one key → exactly one origin request; waiters are collapsed', async t => {
  const { origin, proxy } = await setup(t, async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 150))
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' })
    res.end('shared body')
  })
  const all = await Promise.all(Array.from({ length: N }, () => get(`${proxy.url}/herd`)))
  t.equal(origin.count('/herd'), 1, 'one origin request')
  t.ok(all.every(r => r.status === 200 && r.body === 'shared body'), 'everyone got the body')
  const collapsed = all.filter(r => /; collapsed/.test(r.cs))
  t.equal(collapsed.length, N - 1, 'every waiter says collapsed')
  t.match(collapsed[0]!.cs, /^freshgate; fwd=uri-miss; fwd-status=200; collapsed; ttl=60$/)
})

t.test('concurrent revalidations of one key collapse into one conditional request', async t => {
  const { origin, proxy, clock } = await setup(t, async (req, res) => {
    if (req.headers['if-none-match'] === '"r"') {
      await new Promise(resolve => setTimeout(resolve, 100))
      res.writeHead(304, { etag: '"r"', 'cache-control': 'max-age=0, must-revalidate' })
      return res.end()
    }
    res.writeHead(200, { etag: '"r"', 'cache-control': 'max-age=0, must-revalidate' })
    res.end('r')
  })
  await get(`${proxy.url}/rv`)
  clock.advance(1)
  const all = await Promise.all(Array.from({ length: N }, () => get(`${proxy.url}/rv`)))
  t.ok(all.every(r => r.status === 200 && r.body === 'r'))
  t.equal(origin.count('/rv'), 2, 'one fill, one conditional for the whole burst')
})

t.test('a non-storable result releases the waiters, and hit-for-miss stops serialising the next burst', async t => {
  const load = concurrency()
  const { origin, proxy } = await setup(t, load.origin('private', 'mine'))
  const first = await Promise.all(Array.from({ length: 10 }, () => get(`${proxy.url}/private`)))
  t.ok(first.every(r => r.body === 'mine'))
  t.equal(origin.count('/private'), 10, 'released waiters went upstream on their own')
  load.peak = 0
  const second = await Promise.all(Array.from({ length: 10 }, () => get(`${proxy.url}/private`)))
  t.ok(second.every(r => r.body === 'mine'))
  t.equal(load.peak, 10, 'after hit-for-miss the burst went upstream concurrently')
  t.notOk(second.some(r => /collapsed/.test(r.cs)))
})

t.test('an upstream failure is delivered to every waiter', async t => {
  const { proxy } = await setup(t, async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 100))
    res.socket?.destroy()
  })
  const all = await Promise.all(Array.from({ length: 10 }, () => get(`${proxy.url}/boom`)))
  t.ok(all.every(r => r.status === 502), 'all got 502')
  t.ok(all.every(r => r.headers['x-freshgate-error'] === 'FG_UPSTREAM_RESET'))
})

t.test('a waiter whose client disconnects leaves without disturbing the others', async t => {
  const { origin, proxy } = await setup(t, async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 200))
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('ok')
  })
  const host = new URL(proxy.url).host
  const leader = get(`${proxy.url}/w`)
  await new Promise(resolve => setTimeout(resolve, 20))
  const quitter = connect(Number(new URL(proxy.url).port), '127.0.0.1')
  quitter.write(`GET /w HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
  const others = Array.from({ length: 5 }, () => get(`${proxy.url}/w`))
  await new Promise(resolve => setTimeout(resolve, 30))
  quitter.destroy()
  const results = await Promise.all([leader, ...others])
  t.ok(results.every(r => r.status === 200 && r.body === 'ok'))
  t.equal(origin.count('/w'), 1)
})

t.test('a client abort mid-body does not abort the fill; the entry is stored whole', async t => {
  const big = 'z'.repeat(256 * 1024)
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const { origin, proxy } = await setup(t, async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': String(big.length * 2) })
    res.write(big)
    await gate
    res.end(big)
  })
  await raw(proxy.url, 'GET /abort HTTP/1.1\r\nHost: x\r\n\r\n', /zzzz/) // resolves and destroys the socket mid-body
  await new Promise(resolve => setTimeout(resolve, 50))
  release()
  await new Promise(resolve => setTimeout(resolve, 100))
  const hit = await get(`${proxy.url}/abort`, { headers: { host: 'x' } })
  t.match(hit.cs, /^freshgate; hit/, 'the fill completed after the client left')
  t.equal(hit.body.length, big.length * 2)
  t.equal(origin.count('/abort'), 1)
})

t.test('a client abort on a non-storable response aborts the upstream exchange', async t => {
  let closed = false
  const { proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'no-store' })
    res.write('x'.repeat(64 * 1024))
    res.on('close', () => { closed = true })
    // never ends on its own
  })
  await raw(proxy.url, 'GET /ns HTTP/1.1\r\nHost: x\r\n\r\n', /xxxx/)
  for (let i = 0; i < 50 && !closed; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(closed, 'the origin saw its response aborted')
})

t.test('regression: concurrent requests to a no-store URL are not serialised behind each other', async t => {
  const load = concurrency()
  const { origin, proxy } = await setup(t, load.origin('no-store', 'fresh every time'))
  await get(`${proxy.url}/nostore`)
  const burst = await Promise.all(Array.from({ length: 10 }, () => get(`${proxy.url}/nostore`)))
  t.ok(burst.every(r => r.body === 'fresh every time'))
  t.equal(origin.count('/nostore'), 11)
  t.equal(load.peak, 10, 'after the first no-store response, the burst went upstream concurrently')
})

t.test('a burst on a URL whose origin answers 503 → one origin request; waiters get the same 503 (issue 9 #6)', async t => {
  const { origin, proxy } = await setup(t, async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 150))
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' })
    res.end('origin overloaded')
  })
  const all = await Promise.all(Array.from({ length: N }, () => get(`${proxy.url}/down`)))
  t.equal(origin.count('/down'), 1, 'one origin request for the whole burst')
  t.ok(all.every(r => r.status === 503 && r.body === 'origin overloaded' && r.headers['retry-after'] === '5'), 'everyone got the origin\'s 503, body and fields')
  const collapsed = all.filter(r => /; collapsed/.test(r.cs))
  t.equal(collapsed.length, N - 1, 'every waiter says collapsed')
  t.equal(collapsed[0]!.cs, 'freshgate; fwd=uri-miss; fwd-status=503; collapsed')
  // The 503 was not stored and the key is not hit-for-miss: the next burst collapses again.
  await Promise.all(Array.from({ length: 10 }, () => get(`${proxy.url}/down`)))
  t.equal(origin.count('/down'), 2, 'the next burst is one origin request too')
})

t.test('a 5xx larger than the share limit releases the waiters to ask on their own', async t => {
  const big = 'x'.repeat(200 * 1024)
  const { origin, proxy } = await setup(t, async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 150))
    res.writeHead(500, { 'content-type': 'text/plain' })
    res.end(big)
  })
  const all = await Promise.all(Array.from({ length: 5 }, () => get(`${proxy.url}/bigerr`)))
  t.ok(all.every(r => r.status === 500 && r.body === big), 'everyone got the whole 500')
  t.ok(origin.count('/bigerr') > 1, 'waiters asked the origin themselves')
})

/** GETs a URL with node:http and reports when the first body byte came and the whole body. */
async function timed (url: string): Promise<{ firstMs: number, body: string, status: number, cs: string, complete: boolean }> {
  const { get: httpGet } = await import('node:http')
  const t0 = performance.now()
  return await new Promise(resolve => {
    httpGet(url, res => {
      let firstMs = -1
      let body = ''
      res.on('data', (d: Buffer) => { if (firstMs < 0) firstMs = performance.now() - t0; body += d })
      const cs = String(res.headers['cache-status'] ?? '').split(', ').pop() ?? ''
      res.on('end', () => resolve({ firstMs, body, status: res.statusCode ?? 0, cs, complete: true }))
      res.on('error', () => resolve({ firstMs, body, status: res.statusCode ?? 0, cs, complete: false }))
      res.on('aborted', () => resolve({ firstMs, body, status: res.statusCode ?? 0, cs, complete: false }))
    }).on('error', () => resolve({ firstMs: -1, body: '', status: 0, cs: '', complete: false }))
  })
}

t.test('collapsed waiters on a response being stored get its bytes as they arrive, not when it is complete', async t => {
  const { origin, proxy } = await setup(t, async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' })
    res.write('first part;')
    await new Promise(resolve => setTimeout(resolve, 1000))
    res.end('second part')
  })
  const leader = timed(`${proxy.url}/slowbody`)
  await new Promise(resolve => setTimeout(resolve, 100))
  const waiters = await Promise.all([timed(`${proxy.url}/slowbody`), timed(`${proxy.url}/slowbody`)])
  t.equal((await leader).body, 'first part;second part')
  for (const w of waiters) {
    t.equal(w.body, 'first part;second part', 'the waiter got the whole body')
    t.ok(w.firstMs >= 0 && w.firstMs < 600, `its first bytes came after ${Math.round(w.firstMs)} ms, before the origin finished`)
    t.match(w.cs, /^freshgate; fwd=uri-miss; fwd-status=200; collapsed; ttl=\d+$/)
  }
  t.equal(origin.count('/slowbody'), 1, 'one origin request')
  t.match((await get(`${proxy.url}/slowbody`)).cs, /^freshgate; hit/, 'and it was stored')
})

t.test('when the leader\'s body fails midway → streaming waiters are cut too, never handed a short body as complete', async t => {
  const { proxy } = await setup(t, async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': '100' })
    res.write('x'.repeat(40))
    await new Promise(resolve => setTimeout(resolve, 300))
    res.destroy()
  })
  const leader = timed(`${proxy.url}/cut`)
  await new Promise(resolve => setTimeout(resolve, 100))
  const waiter = await timed(`${proxy.url}/cut`)
  t.equal((await leader).complete, false)
  t.equal(waiter.complete, false, 'the waiter saw the connection cut')
  t.ok(waiter.body.length < 100)
})
