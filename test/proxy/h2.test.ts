// HTTP/2 to clients in cleartext (h2c, prior knowledge) beside HTTP/1.1 on one port: bounds
// advertised in SETTINGS, no connection-specific fields, rapid-reset protection.

import t from 'tap'
import { connect, constants, createServer, type ClientHttp2Session } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { GuardedResponse } from '../../src/proxy/listen.ts'
import { setup, raw, get, Origin, startFreshgate, h2stream, type Got } from './harness.ts'

async function open (url: string): Promise<ClientHttp2Session> {
  const session = connect(url)
  session.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => { session.once('remoteSettings', () => resolve()); session.once('error', reject) })
  return session
}

async function fetch2 (session: ClientHttp2Session, path: string): Promise<Got> {
  return await h2stream(session, { ':path': path })
}

t.test('h2c with prior knowledge and HTTP/1.1 share the port and the cache', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => { res.setHeader('cache-control', 'max-age=60'); res.end('shared') }, { 'http2.cleartext': true })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  const first = await fetch2(session, '/x')
  t.equal(first.status, 200, 'HTTP/2 answers')
  t.equal(first.body, 'shared')
  const h1 = await raw(proxy.url, `GET /x HTTP/1.1\r\nHost: ${new URL(proxy.url).host}\r\nConnection: close\r\n\r\n`, /shared/)
  t.match(h1, /^HTTP\/1\.1 200 /, 'HTTP/1.1 answers on the same port')
  t.match(h1, /cache-status: freshgate; hit/i, 'from the entry HTTP/2 stored')
  t.equal(origin.count('/x'), 1)
})

t.test('without --h2c an HTTP/2 preface gets no HTTP/2', async t => {
  const { proxy } = await setup(t, (_req, res) => { res.end('x') }, { 'http2.cleartext': false })
  const reply = await raw(proxy.url, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', /HTTP\/1\.1 \d{3}/)
  t.match(reply, /^HTTP\/1\.1 (400|505) /, 'answered as a bad HTTP/1 request')
})

t.test('SETTINGS carry the configured bounds', async t => {
  const { proxy } = await setup(t, (_req, res) => { res.end('x') }, { 'http2.cleartext': true, 'http2.maxConcurrentStreams': 7, 'http2.initialWindowSize': 131072, maxHeaderSize: 8192 })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  t.equal(session.remoteSettings.maxConcurrentStreams, 7, 'max concurrent streams')
  t.equal(session.remoteSettings.initialWindowSize, 131072, 'initial window size')
  t.equal(session.remoteSettings.maxHeaderListSize, 8192, 'max header list size from maxHeaderSize')
})

t.test('responses over HTTP/2 carry no connection-specific fields', async t => {
  const { proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { connection: 'x-hop, keep-alive', 'keep-alive': 'timeout=5', 'x-hop': '1', 'transfer-encoding': 'chunked', upgrade: 'foo' })
    res.end('body')
  }, { 'http2.cleartext': true })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  const r = await fetch2(session, '/c')
  t.equal(r.status, 200, 'the response is delivered (node:http2 would refuse to send these fields)')
  t.equal(r.body, 'body')
  for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'x-hop']) t.equal(r.headers[name], undefined, `${name} is absent`)
})

t.test('rapid reset: a client that opens and cancels streams in a loop gets GOAWAY', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => { setTimeout(() => res.end('slow'), 50) }, { 'http2.cleartext': true, 'http2.maxResets': 50, 'http2.maxConcurrentStreams': 1000 })
  const session = await open(proxy.url)
  t.teardown(() => session.destroy())
  const goaway = new Promise<number>(resolve => session.once('goaway', code => resolve(code)))
  const closed = new Promise<void>(resolve => session.once('close', () => resolve()))
  let sent = 0
  // Bounded: at most 500 streams; the guard should trip after 50 within a second.
  for (; sent < 500 && !session.closed && !session.destroyed; sent++) {
    const s = session.request({ ':path': `/r${sent}` })
    s.on('error', () => undefined)
    s.close(constants.NGHTTP2_CANCEL)
    if (sent % 20 === 19) await new Promise(resolve => setImmediate(resolve))
  }
  const code = await Promise.race([goaway, new Promise<number>(resolve => setTimeout(() => resolve(-1), 5000))])
  t.equal(code, constants.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY with ENHANCE_YOUR_CALM')
  await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 5000))])
  t.ok(session.closed || session.destroyed, 'the connection is closed')
  t.ok(origin.count() < 500, `the origin saw fewer requests than were opened (${origin.count()} of ${sent})`)
  const after = await get(proxy.url + '/ok')
  t.equal(after.status, 200, 'other clients are still served')
})

t.test('a well-behaved client that cancels a few streams keeps its connection', async t => {
  const { proxy } = await setup(t, (_req, res) => { setTimeout(() => res.end('slow'), 20) }, { 'http2.cleartext': true, 'http2.maxResets': 50 })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  for (let i = 0; i < 10; i++) {
    const s = session.request({ ':path': `/c${i}` })
    s.on('error', () => undefined)
    s.close(constants.NGHTTP2_CANCEL)
  }
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal((await fetch2(session, '/fine')).status, 200, 'the session still serves requests')
})

t.test('Upgrade: h2c over HTTP/1.1 is not honoured: the request is served as HTTP/1.1', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => { res.end('plain') }, { 'http2.cleartext': true })
  const reply = await raw(proxy.url, 'GET /u HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n', /plain/)
  t.match(reply, /^HTTP\/1\.1 200 /, 'a plain 200, no 101')
  t.equal(origin.seen[0]?.headers.upgrade, undefined, 'Upgrade is not forwarded')
})

t.test('GuardedResponse: a response that sets connection-specific fields is still sent, without them', async t => {
  const server = createServer({ Http2ServerResponse: GuardedResponse }, (_req, res) => {
    const guarded = res
    guarded.setHeader('Connection', 'close')
    guarded.setHeader('x-kept', '1')
    guarded.writeHead(200, ['keep-alive', 'timeout=5', 'transfer-encoding', 'chunked', 'x-also', '2', 'x-spaced', 'v '])
    guarded.end('ok')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  const session = await open(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  t.teardown(() => session.close())
  const r = await fetch2(session, '/')
  t.equal(r.status, 200, 'node:http2 would throw ERR_HTTP2_INVALID_CONNECTION_HEADERS without the guard')
  t.equal(r.headers.connection, undefined)
  t.equal(r.headers['keep-alive'], undefined)
  t.equal(r.headers['transfer-encoding'], undefined)
  t.equal(r.headers['x-kept'], '1', 'other fields set with setHeader pass')
  t.equal(r.headers['x-also'], '2', 'other fields given to writeHead pass')
  t.equal(r.headers['x-spaced'], 'v', 'a value with trailing whitespace is trimmed, not dropped')
})

t.test('HTTP/2: :authority is validated and must agree with Host', async t => {
  const { origin, proxy } = await setup(t, (req, res) => { res.end(`at ${String(req.headers.host)}${req.url}`) }, { 'http2.cleartext': true })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  const ask = async (headers: Record<string, string>): Promise<Got> => await h2stream(session, { ':path': '/x/../p', ...headers })

  const lowered = await ask({ ':authority': 'A.example' })
  t.same([lowered.status, lowered.body], [200, 'at a.example/p'], ':authority lowercased, path normalised')
  t.equal((await ask({ ':authority': 'a.example', host: 'b.example' })).status, 400, ':authority and Host differ → 400')
  // nghttp2 itself resets a stream whose :authority holds "/"; freshgate answers 400 to the rest.
  const invalid = await ask({ ':authority': 'a.example/../b.example' }).then(r => r.status, () => 'reset')
  t.ok(invalid === 400 || invalid === 'reset', `an invalid :authority is refused (${invalid})`)
  t.equal((await ask({ ':authority': 'a.example:99999' }).then(r => r.status, () => 'reset')), 400, 'a port past 65535 in :authority → 400')
  t.equal(origin.count(), 1, 'only the valid request reached the origin')
})

t.test('HTTP/2: a response cut mid-body is reset with an error, never ended cleanly', async t => {
  const { proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '10', 'cache-control': 'max-age=60' })
    res.write('half')
  }, { 'http2.cleartext': true, 'timeouts.body': '300ms' })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  const outcome = await fetch2(session, '/cut').then(r => `ended cleanly with ${JSON.stringify(r.body)}`, (err: { code?: string }) => String(err.code))
  t.equal(outcome, 'ERR_HTTP2_STREAM_ERROR', 'the client sees a stream error')
})

t.test('HTTP/2: a request body without Content-Length reaches the origin', async t => {
  const { origin, proxy } = await setup(t, (_req, res, body) => { res.end(`got ${body.length}`) }, { 'http2.cleartext': true })
  const session = await open(proxy.url)
  t.teardown(() => session.close())
  const stream = session.request({ ':method': 'POST', ':path': '/upload' })
  stream.write('a'.repeat(1000))
  stream.end('b'.repeat(1000))
  const reply = await new Promise<string>((resolve, reject) => {
    let body = ''
    stream.setEncoding('utf8')
    stream.on('data', (c: string) => { body += c })
    stream.on('end', () => resolve(body))
    stream.on('error', reject)
  })
  t.equal(reply, 'got 2000', 'the origin got the whole body')
  t.equal(origin.seen[0]!.body.length, 2000)
})

t.test('HTTP/2: a connection idle for http2.idleTimeout is closed, a busy one is not', async t => {
  const { proxy } = await setup(t, (_req, res) => { setTimeout(() => res.end('slow'), 400) }, { 'http2.cleartext': true, 'http2.idleTimeout': '200ms' })
  const session = await open(proxy.url)
  t.teardown(() => session.destroy())
  const goaway = new Promise<void>(resolve => session.once('goaway', () => resolve()))
  t.equal((await fetch2(session, '/slow')).body, 'slow', 'a 400 ms response on a 200 ms idle timeout completes')
  const start = Date.now()
  await Promise.race([goaway, new Promise(resolve => setTimeout(resolve, 3000))])
  t.ok(Date.now() - start < 2000, 'GOAWAY soon after the last stream closed')
})

t.test('HTTP/2: a stream the client resets after it was forwarded releases its upstream request', async t => {
  const origin = await new Origin((_req, res) => { setTimeout(() => res.end('late'), 50) }).start()
  t.teardown(() => origin.close())
  const proxy = await startFreshgate(origin.url, { 'http2.cleartext': true })
  const session = await open(proxy.url)
  const stream = session.request({ ':path': '/gone' })
  stream.on('error', () => undefined)
  await new Promise(resolve => setTimeout(resolve, 20))
  stream.close(constants.NGHTTP2_CANCEL)
  await new Promise(resolve => setTimeout(resolve, 150))
  session.close()
  const start = Date.now()
  await proxy.fg.close()
  // Without the fix the exchange waited for 'drain' on the reset stream and held the origin connection.
  t.ok(Date.now() - start < 1000, `shutdown does not wait for the abandoned request (${Date.now() - start} ms)`)
  t.equal(origin.count('/gone'), 1, 'the request had reached the origin')
})
