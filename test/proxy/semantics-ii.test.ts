// Cache semantics II over real sockets: POST responses reused for GETs (RFC 9110 §9.3.3), the
// default stale grace for an unreachable origin (RFC 9111 §4.2.4), and Set-Cookie stored on request.

import t from 'tap'
import { setup, get, dateAt } from './harness.ts'

t.test('a POST response naming its own URI with explicit freshness answers later GETs', async t => {
  let n = 0
  const { origin, proxy } = await setup(t, (req, res, body, clock) => {
    n++
    if (req.method === 'POST' && req.url === '/orders/1') {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-location': '/orders/1', date: dateAt(clock) })
      return res.end(`saved ${body} #${n}`)
    }
    if (req.method === 'POST') {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-location': '/elsewhere', date: dateAt(clock) })
      return res.end(`other ${body}`)
    }
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end(`get #${n}`)
  })
  // A stored GET is invalidated by the POST (RFC 9111 §4.4), and the POST's response replaces it.
  t.equal((await get(`${proxy.url}/orders/1`)).body, 'get #1')
  const p = await get(`${proxy.url}/orders/1`, { method: 'POST', body: 'x' })
  t.equal(p.body, 'saved x #2')
  t.equal(p.cs, 'freshgate; fwd=method; stored')
  const g = await get(`${proxy.url}/orders/1`)
  t.equal(g.status, 200)
  t.equal(g.body, 'saved x #2', 'the GET is answered with the POST response')
  t.match(g.cs, /^freshgate; hit/)
  t.equal(origin.count('/orders/1'), 2, 'the GET did not reach the origin')

  // Content-Location naming another URI: not stored, and the target stays invalidated.
  await get(`${proxy.url}/orders/2`)
  const q = await get(`${proxy.url}/orders/2`, { method: 'POST', body: 'y' })
  t.equal(q.body, 'other y')
  t.equal(q.cs, 'freshgate; fwd=method; detail=method')
  t.equal((await get(`${proxy.url}/orders/2`)).cs, 'freshgate; fwd=uri-miss; stored', 'the GET goes to the origin again')
  t.equal(origin.count('/orders/2'), 3)
})

t.test('a POST response naming its URI without explicit freshness is not stored', async t => {
  const { origin, proxy } = await setup(t, (req, res, _body, clock) => {
    res.writeHead(200, { etag: '"p"', 'content-location': '/form', date: dateAt(clock) })
    res.end(req.method ?? '')
  })
  t.equal((await get(`${proxy.url}/form`, { method: 'POST', body: 'a' })).cs, 'freshgate; fwd=method; detail=method')
  t.equal((await get(`${proxy.url}/form`)).body, 'GET')
  t.equal(origin.count('/form'), 2)
})

t.test('an unreachable origin: stale for the default grace of 60s, then the error', async t => {
  let down = false
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    if (down) return res.socket?.destroy()
    const cc = req.url === '/mr' ? 'max-age=10, must-revalidate' : req.url === '/nc' ? 'no-cache' : req.url === '/s' ? 's-maxage=10' : 'max-age=10'
    res.writeHead(200, { 'cache-control': cc, etag: '"e"', date: dateAt(clock) })
    res.end('good')
  })
  for (const p of ['/x', '/mr', '/nc', '/s']) await get(`${proxy.url}${p}`)
  clock.advance(40)
  down = true
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 200)
  t.equal(r.body, 'good')
  t.equal(r.cs, 'freshgate; fwd=stale; ttl=-30; detail=stale-if-error')
  t.equal((await get(`${proxy.url}/mr`)).status, 504, 'must-revalidate forbids it (FG_REVALIDATION_FAILED)')
  t.equal((await get(`${proxy.url}/nc`)).status, 502, 'no-cache forbids it')
  t.equal((await get(`${proxy.url}/s`)).status, 504, 's-maxage forbids it')
  t.equal((await get(`${proxy.url}/x`, { headers: { 'cache-control': 'no-cache' } })).status, 502, 'a client asking for no-cache gets the error')
  clock.advance(40)
  t.equal((await get(`${proxy.url}/x`)).status, 502, 'past the grace the error goes to the client')
  t.equal(origin.count('/x'), 4)
})

t.test('an origin answering 5xx is not covered by the grace (only stale-if-error)', async t => {
  let fail = false
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    if (fail) { res.writeHead(503); return res.end('down') }
    res.writeHead(200, { 'cache-control': 'max-age=10', etag: '"e"', date: dateAt(clock) })
    res.end('good')
  })
  await get(`${proxy.url}/x`)
  clock.advance(20)
  fail = true
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 503)
  t.equal(r.body, 'down')
  t.equal(origin.count('/x'), 2)
})

t.test('setCookie: store keeps Set-Cookie in the stored response and replays it', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'set-cookie': 'session=shared', date: dateAt(clock) })
    res.end('c')
  }, { 'cache.setCookie': 'store' })
  const a = await get(`${proxy.url}/c`)
  t.equal(a.headers['set-cookie'], 'session=shared')
  t.equal(a.cs, 'freshgate; fwd=uri-miss; stored')
  const b = await get(`${proxy.url}/c`)
  t.match(b.cs, /^freshgate; hit/)
  t.equal(b.headers['set-cookie'], 'session=shared', 'the hit replays the cookie')
  t.equal(origin.count(), 1)
})

t.test('setCookie default: the stored copy never carries Set-Cookie', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'public, max-age=60', 'set-cookie': 'session=mine', date: dateAt(clock) })
    res.end('c')
  })
  t.equal((await get(`${proxy.url}/c`)).headers['set-cookie'], 'session=mine')
  const b = await get(`${proxy.url}/c`)
  t.match(b.cs, /^freshgate; hit/)
  t.equal(b.headers['set-cookie'], undefined)
  t.equal(origin.count(), 1)
})

t.test('an interim 103 before the final response is never stored: hits serve the final 200', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style', 'cache-control': 'max-age=600' })
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end('final')
  })
  const a = await get(`${proxy.url}/hints`)
  t.equal(a.status, 200)
  t.equal(a.body, 'final')
  t.equal(a.cs, 'freshgate; fwd=uri-miss; stored')
  const b = await get(`${proxy.url}/hints`)
  t.equal(b.status, 200)
  t.equal(b.body, 'final')
  t.equal(b.cs, 'freshgate; hit; ttl=60', 'the stored response is the final one, with its own freshness')
  t.equal(origin.count('/hints'), 1)
})
