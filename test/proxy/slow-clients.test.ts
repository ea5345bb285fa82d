// Slow and hostile clients cannot starve misses (issue 9 #2): a bounded wait for an origin
// connection, request bodies read before the origin request opens, body size and idle limits,
// and responses buffered for slow readers so their origin connections are released.

import t from 'tap'
import { connect, type Socket } from 'node:net'
import { setup, get } from './harness.ts'

/** Opens a raw connection to the proxy and writes `text`; the socket is destroyed at teardown. */
async function open (t: { teardown: (fn: () => unknown) => void }, url: string, text: string): Promise<Socket> {
  const u = new URL(url)
  const s = connect(Number(u.port), u.hostname)
  s.on('error', () => undefined)
  t.teardown(() => s.destroy())
  await new Promise(resolve => s.once('connect', resolve))
  s.write(text)
  return s
}

/** Reads what a raw socket receives until it closes or `ms` pass. */
async function received (s: Socket, ms: number): Promise<string> {
  let text = ''
  s.on('data', d => { text += d })
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms)
    s.once('close', () => { clearTimeout(timer); resolve() })
  })
  return text
}

t.test('when every origin connection is busy → a request waits at most upstream.queueTimeout, then 503 FG_UPSTREAM_BUSY', async t => {
  const { origin, proxy } = await setup(t, async (req, res) => {
    if (req.url === '/hold') await new Promise(resolve => setTimeout(resolve, 2000))
    res.writeHead(200, { 'cache-control': 'no-store' })
    res.end('ok')
  }, { 'upstream.connections': 1, 'upstream.queueTimeout': '300ms' })
  const held = get(`${proxy.url}/hold`)
  await new Promise(resolve => setTimeout(resolve, 50))
  const t0 = performance.now()
  const busy = await get(`${proxy.url}/other`)
  const ms = performance.now() - t0
  t.equal(busy.status, 503)
  t.equal(busy.headers['x-freshgate-error'], 'FG_UPSTREAM_BUSY')
  t.match(busy.cs, /^freshgate; fwd=uri-miss; detail=FG_UPSTREAM_BUSY$/)
  t.ok(ms >= 250 && ms < 1500, `answered after the queue timeout (${Math.round(ms)} ms)`)
  t.equal((await held).status, 200, 'the request holding the connection completes')
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(origin.count('/other'), 0, 'the abandoned request never reached the origin')
})

t.test('when clients send request bodies slowly → they hold no origin connection, and a miss still answers fast', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'no-store' })
    res.end('ok')
  }, { 'upstream.connections': 2, 'timeouts.clientBody': '5s' })
  for (let i = 0; i < 6; i++) await open(t, proxy.url, `POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100\r\n\r\nx`)
  await new Promise(resolve => setTimeout(resolve, 100))
  const t0 = performance.now()
  const r = await get(`${proxy.url}/normal`)
  const ms = performance.now() - t0
  t.equal(r.status, 200)
  t.ok(ms < 500, `a normal miss answered in ${Math.round(ms)} ms while 6 slow senders hold 2-connection pool's worth of requests`)
  t.equal(origin.count('/upload'), 0, 'no slow upload opened an origin request')
})

t.test('when a client stalls mid-body → 408 FG_REQUEST_BODY_TIMEOUT and the connection closes', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'), { 'timeouts.clientBody': '300ms' })
  const s = await open(t, proxy.url, `POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: 10\r\n\r\nabc`)
  const text = await received(s, 3000)
  t.match(text, /^HTTP\/1\.1 408 /)
  t.match(text, /x-freshgate-error: FG_REQUEST_BODY_TIMEOUT/i)
  t.ok(s.destroyed || s.readableEnded, 'the connection was closed')
  t.equal(origin.count('/upload'), 0)
})

t.test('when a body is larger than request.maxBodySize → 413 FG_REQUEST_BODY_TOO_LARGE, declared or chunked', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'), { 'request.maxBodySize': 1000, 'request.bodyBuffer': 100 })
  const declared = await received(await open(t, proxy.url, `POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5000\r\n\r\n`), 2000)
  t.match(declared, /^HTTP\/1\.1 413 /, 'a declared length over the limit is refused before any byte is read')
  t.match(declared, /FG_REQUEST_BODY_TOO_LARGE/)
  const chunk = 'a'.repeat(600)
  const chunked = await received(await open(t, proxy.url, `POST /b HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`), 2000)
  t.match(chunked, /^HTTP\/1\.1 413 /, 'a chunked body growing past the limit is refused')
  t.equal(origin.count('/a'), 0)
  t.equal(origin.count('/b'), 0, 'the oversized body never reached the origin')
  const ok = await get(`${proxy.url}/c`, { method: 'POST', body: 'b'.repeat(500) })
  t.equal(ok.status, 200, 'a body within the limit but over the buffer streams on')
  t.equal(origin.seen.find(s => s.url === '/c')?.body, 'b'.repeat(500), 'whole, in order')
})

t.test('when clients read responses slowly → their origin connections are released and misses still answer fast', async t => {
  // larger than what loopback socket buffers absorb, within the per-response buffer
  const body = 'z'.repeat(6 * 1024 * 1024)
  const { origin, proxy } = await setup(t, (req, res) => {
    const b = req.url === '/normal' ? 'ok' : body
    res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'text/plain', 'content-length': String(b.length) })
    res.end(b)
  }, { 'upstream.connections': 2, 'upstream.responseBuffer': '16MiB' })
  const readers: Socket[] = []
  for (let i = 0; i < 6; i++) {
    const s = await open(t, proxy.url, `GET /big${i} HTTP/1.1\r\nHost: a.example\r\n\r\n`)
    s.pause()
    readers.push(s)
  }
  for (let i = 0; i < 60 && origin.count() < 6; i++) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(origin.count(), 6, 'all six slow readers were served by the origin through two connections')
  const t0 = performance.now()
  const r = await get(`${proxy.url}/normal`)
  const ms = performance.now() - t0
  t.equal(r.status, 200)
  t.ok(ms < 500, `a normal miss answered in ${Math.round(ms)} ms while 6 readers stall`)
  // The slow readers still get every byte once they read.
  const whole = await Promise.all(readers.map(async s => { s.resume(); return await received(s, 3000) }))
  t.ok(whole.every(w => w.endsWith(body)), 'each slow reader received the whole body')
})

t.test('when the response buffer is 0 → a slow reader holds its origin connection (backpressure as before)', async t => {
  // larger than what loopback socket buffers absorb
  const body = 'z'.repeat(16 * 1024 * 1024)
  const { proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'no-store' })
    res.end(req.url === '/normal' ? 'ok' : body)
  }, { 'upstream.connections': 1, 'upstream.responseBuffer': 0, 'upstream.queueTimeout': '300ms' })
  const s = await open(t, proxy.url, `GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n`)
  s.pause()
  await new Promise(resolve => setTimeout(resolve, 300))
  const r = await get(`${proxy.url}/normal`)
  t.equal(r.status, 503, 'the one origin connection is held by the paused reader')
})

t.test('when the leader\'s client stalls and then leaves while the response is stored → the fill resumes and its waiter is answered', async t => {
  const body = 'y'.repeat(6 * 1024 * 1024)
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': String(body.length) })
    res.end(body)
  }, { 'upstream.responseBuffer': 0 })
  const leader = await open(t, proxy.url, 'GET /stored HTTP/1.1\r\nHost: a.example\r\n\r\n')
  leader.pause()
  await new Promise(resolve => setTimeout(resolve, 300))
  const t0 = performance.now()
  const waiter = get(`${proxy.url}/stored`, { headers: { host: 'a.example' } })
  await new Promise(resolve => setTimeout(resolve, 200))
  leader.destroy()
  const r = await waiter
  const ms = performance.now() - t0
  t.equal(r.body.length, body.length, 'the waiter got the whole body')
  t.ok(ms < 5000, `answered in ${Math.round(ms)} ms, not after the collapse wait timeout`)
  t.equal(origin.count('/stored'), 1, 'one origin request')
})
