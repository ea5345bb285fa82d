// Behaviour 1: every method and path is forwarded; bodies stream; hop-by-hop fields are removed
// both ways; Via and X-Forwarded-* are added; Host is forwarded (or rewritten on request).

import t from 'tap'
import { connect } from 'node:net'
import { setup, get, raw } from './harness.ts'

t.test('forwards every method with path, query and request body', async t => {
  const { origin, proxy } = await setup(t, (req, res, body) => {
    res.writeHead(201, 'Made It', { 'x-echo': `${req.method} ${req.url} ${body}`, 'x-custom': 'kept' })
    res.end(req.method === 'HEAD' ? undefined : 'done')
  })
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? 'payload-' + method : undefined
    const r = await get(`${proxy.url}/p/a?q=1&r=%20`, { method, body })
    t.equal(r.status, 201, `${method} status passes unchanged`)
    t.equal(r.headers['x-echo'], `${method} /p/a?q=1&r=%20 ${body ?? ''}`, `${method} reached the origin with its path and body`)
    t.equal(r.headers['x-custom'], 'kept', 'other headers pass unchanged')
  }
  t.equal(origin.count(), 6)
})

t.test('strips hop-by-hop fields both ways and adds Via and X-Forwarded-*', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.setHeader('Connection', 'x-secret-hop, keep-alive')
    res.setHeader('X-Secret-Hop', 'origin-hop')
    res.setHeader('Proxy-Authenticate', 'Basic')
    res.setHeader('Trailer', 'x-t')
    res.setHeader('Upgrade', 'h2c')
    res.setHeader('Cache-Control', 'no-store')
    res.end('ok')
  })
  // A raw request: HTTP clients refuse to send Connection-named fields themselves.
  const text = await raw(proxy.url, 'GET /hop HTTP/1.1\r\nHost: app.example\r\nConnection: x-client-hop\r\nX-Client-Hop: client-hop\r\n' +
    'Proxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n', /\r\n\r\nok|0\r\n\r\n/)
  t.match(text, /^HTTP\/1\.1 200 /)
  const r = await get(`${proxy.url}/hop`, { headers: { host: 'app.example' } })
  const seen = origin.seen[0]!.headers
  t.equal(seen['x-client-hop'], undefined, 'a field named by the client Connection is removed')
  t.equal(seen['proxy-authorization'], undefined, 'Proxy-Authorization is removed')
  t.equal(seen.te, undefined, 'TE is removed')
  t.match(seen.via, /^1\.1 freshgate$/, 'Via added upstream')
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'an untrusted client\'s X-Forwarded-For is replaced by its address (forwarded.test.ts covers trustProxy)')
  t.equal(seen['x-forwarded-proto'], 'http')
  t.equal(seen['x-forwarded-host'], 'app.example')
  t.equal(seen.host, 'app.example', "the client's Host is forwarded by default")
  t.equal(r.headers['x-secret-hop'], undefined, 'a field named by the origin Connection is removed')
  t.equal(r.headers['proxy-authenticate'], undefined, 'Proxy-Authenticate is removed')
  t.equal(r.headers.trailer, undefined, 'Trailer is removed')
  t.equal(r.headers.upgrade, undefined, 'Upgrade is removed')
  t.equal(r.headers.via, '1.1 freshgate', 'Via added downstream')
  t.match(r.cs, /^freshgate; fwd=uri-miss; detail=no-store$/)
})

t.test('rewrites Host to the origin when configured', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'), { hostHeader: 'origin' })
  await get(`${proxy.url}/h`, { headers: { host: 'app.example' } })
  t.equal(origin.seen[0]!.headers.host, new URL(origin.url).host)
  t.equal(origin.seen[0]!.headers['x-forwarded-host'], 'app.example')
})

t.test('streams the response body: the first byte reaches the client before the origin finishes', async t => {
  let finish!: () => void
  const finished = new Promise<void>(resolve => { finish = resolve })
  const { proxy } = await setup(t, async (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' })
    res.write('first-')
    await finished
    res.end('last')
  })
  const socket = connect(Number(new URL(proxy.url).port), '127.0.0.1')
  socket.write('GET /stream HTTP/1.1\r\nHost: s.example\r\n\r\n')
  let text = ''
  await new Promise<void>(resolve => socket.on('data', d => { text += d; if (text.includes('first-')) resolve() }))
  t.notMatch(text, /last/, 'the first chunk arrived while the origin still held the rest')
  finish()
  await new Promise<void>(resolve => socket.on('data', d => { text += d; if (text.includes('last')) resolve() }))
  socket.destroy()
  t.match(text, /first-/)
  const hit = await get(`${proxy.url}/stream`, { headers: { host: 's.example' } })
  t.equal(hit.body, 'first-last', 'the streamed body was stored whole')
  t.match(hit.cs, /hit/)
})

t.test('streams the request body to the origin', async t => {
  const { origin, proxy } = await setup(t, (_req, res, body) => res.end(`got ${body.length}`))
  const big = 'x'.repeat(3 * 1024 * 1024)
  const r = await get(`${proxy.url}/upload`, { method: 'POST', body: big })
  t.equal(r.body, `got ${big.length}`)
  t.equal(origin.seen[0]!.body.length, big.length)
})
