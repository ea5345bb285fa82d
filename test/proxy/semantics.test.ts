// RFC 9111 semantics end to end: Vary, request and response directives, Range, stale-while-
// revalidate / stale-if-error, targeted Cache-Control, invalidation of related URIs, freshening.

import t from 'tap'
import { setup, get, dateAt } from './harness.ts'

t.test('Vary: variants per request header, normalised, replaced one at a time', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language, Accept-Encoding' })
    res.end(`lang=${req.headers['accept-language'] ?? ''} enc=${req.headers['accept-encoding'] ?? ''} n=${origin.count()}`)
  })
  const en = await get(`${proxy.url}/v`, { headers: { 'accept-language': 'en', 'accept-encoding': 'gzip, br' } })
  t.equal(en.cs, 'freshgate; fwd=uri-miss; stored')
  const fr = await get(`${proxy.url}/v`, { headers: { 'accept-language': 'fr', 'accept-encoding': 'gzip, br' } })
  t.equal(fr.cs, 'freshgate; fwd=vary-miss; stored', 'another variant of a stored URL is a vary-miss')
  const en2 = await get(`${proxy.url}/v`, { headers: { 'accept-language': ' en ', 'accept-encoding': 'br, deflate, gzip, unknown' } })
  t.match(en2.cs, /hit/, 'whitespace and Accept-Encoding lists that lead to the same coding do not split variants')
  t.equal(en2.body, en.body)
  const fr2 = await get(`${proxy.url}/v`, { headers: { 'accept-language': 'fr', 'accept-encoding': 'gzip,br' } })
  t.equal(fr2.body, fr.body, 'both variants are kept')
  const none = await get(`${proxy.url}/v`, { headers: { 'accept-encoding': 'gzip, br' } })
  t.equal(none.cs, 'freshgate; fwd=vary-miss; stored', 'an absent header is its own variant')
  t.equal(origin.count(), 3)
})

t.test('Vary: the number of variants per URL is bounded', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'x-v' })
    res.end(String(req.headers['x-v']))
  }, { 'cache.maxVariants': 2 })
  for (const v of ['1', '2', '3']) await get(`${proxy.url}/b`, { headers: { 'x-v': v } })
  t.match((await get(`${proxy.url}/b`, { headers: { 'x-v': '3' } })).cs, /hit/)
  t.match((await get(`${proxy.url}/b`, { headers: { 'x-v': '2' } })).cs, /hit/)
  t.match((await get(`${proxy.url}/b`, { headers: { 'x-v': '1' } })).cs, /vary-miss/, 'the oldest variant was dropped')
  t.equal(origin.count(), 4)
})

t.test('request directives: max-age, min-fresh, max-stale, only-if-cached, no-store', async t => {
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=100', etag: '"d"', date: dateAt(clock) })
    res.end('d')
  })
  const only = await get(`${proxy.url}/d`, { headers: { 'cache-control': 'only-if-cached' } })
  t.equal(only.status, 504, 'only-if-cached with nothing stored → 504')
  t.equal(only.headers['x-freshgate-error'], 'FG_ONLY_IF_CACHED')
  t.equal(origin.count(), 0)
  await get(`${proxy.url}/d`)
  clock.advance(50)
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'max-age=60' } })).cs, /hit/, 'age 50 ≤ max-age 60')
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'min-fresh=40' } })).cs, /hit/, '50 s left ≥ min-fresh 40')
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'max-age=abc' } })).cs, /hit/, 'a malformed request max-age is ignored')
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'min-fresh=90' } })).cs, /fwd=request/, '50 s left < min-fresh 90')
  clock.advance(50)
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'max-age=40' } })).cs, /fwd=request/, 'age 50 > max-age 40')
  clock.advance(120)
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'only-if-cached, max-stale' } })).cs, /^freshgate; hit; ttl=-/, 'max-stale without a value accepts any staleness')
  t.match((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'max-stale=30' } })).cs, /^freshgate; hit; ttl=-/, 'stale by 20 ≤ 30')
  t.equal((await get(`${proxy.url}/d`, { headers: { 'cache-control': 'only-if-cached, max-stale=5' } })).status, 504, 'stale by 20 > 5 and no forwarding allowed')
  const before = origin.count()
  await get(`${proxy.url}/ns`, { headers: { 'cache-control': 'no-store' } })
  t.match((await get(`${proxy.url}/ns`)).cs, /uri-miss; stored/, 'a request no-store kept the response out of the cache')
  t.equal(origin.count(), before + 2)
})

t.test('response directives: private= and no-cache= fields are not stored; s-maxage forbids serving stale', async t => {
  const { proxy, clock } = await setup(t, (req, res, _b, clock) => {
    if (req.url === '/pf') {
      res.writeHead(200, { 'cache-control': 'max-age=60, private="x-user", no-cache="x-token"', 'x-user': 'alice', 'x-token': 't', 'x-kept': 'k' })
      return res.end('pf')
    }
    res.writeHead(200, { 'cache-control': 's-maxage=1, max-age=100, stale-while-revalidate=100', etag: '"s"', date: dateAt(clock) })
    res.end('s')
  })
  const first = await get(`${proxy.url}/pf`)
  t.equal(first.headers['x-user'], 'alice', 'the filling client gets the whole response')
  const hit = await get(`${proxy.url}/pf`)
  t.match(hit.cs, /hit/)
  t.equal(hit.headers['x-user'], undefined, 'private="x-user" field was not stored')
  t.equal(hit.headers['x-token'], undefined, 'no-cache="x-token" field was not stored')
  t.equal(hit.headers['x-kept'], 'k')
  await get(`${proxy.url}/sm`)
  clock.advance(2)
  t.match((await get(`${proxy.url}/sm`, { headers: { 'cache-control': 'max-stale=100' } })).cs, /fwd=stale/, 's-maxage implies proxy-revalidate: no max-stale, no swr')
})

t.test('Range: 206 from a stored 200, 416 when unsatisfiable, If-Range, several ranges → 200', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    if (req.headers.range !== undefined) {
      res.writeHead(206, { 'content-range': 'bytes 0-1/10', 'cache-control': 'max-age=60' })
      return res.end('01')
    }
    res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"r"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' })
    res.end('0123456789')
  })
  const miss = await get(`${proxy.url}/r`, { headers: { range: 'bytes=0-1' } })
  t.equal(miss.status, 206, 'a Range miss is forwarded and the origin answers it')
  t.equal(origin.seen[0]!.headers.range, 'bytes=0-1')
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(origin.seen[1]?.headers.range, undefined, 'the whole representation was fetched to fill the cache')
  const cases: Array<[Record<string, string>, number, string, string | undefined]> = [
    [{ range: 'bytes=2-4' }, 206, '234', 'bytes 2-4/10'],
    [{ range: 'bytes=7-' }, 206, '789', 'bytes 7-9/10'],
    [{ range: 'bytes=-2' }, 206, '89', 'bytes 8-9/10'],
    [{ range: 'bytes=5-100' }, 206, '56789', 'bytes 5-9/10'],
    [{ range: 'bytes=10-' }, 416, '', 'bytes */10'],
    [{ range: 'bytes=0-1,4-5' }, 200, '0123456789', undefined],
    [{ range: 'items=0-1' }, 200, '0123456789', undefined],
    [{ range: 'bytes=2-4', 'if-range': '"r"' }, 206, '234', 'bytes 2-4/10'],
    [{ range: 'bytes=2-4', 'if-range': '"other"' }, 200, '0123456789', undefined],
    [{ range: 'bytes=2-4', 'if-range': 'W/"r"' }, 200, '0123456789', undefined]
  ]
  for (const [headers, status, body, contentRange] of cases) {
    const r = await get(`${proxy.url}/r`, { headers })
    t.equal(r.status, status, `${JSON.stringify(headers)} → ${status}`)
    t.equal(r.body, body)
    t.equal(r.headers['content-range'], contentRange)
    if (status !== 416) t.equal(r.headers['content-length'], String(body.length))
  }
  t.equal(origin.count(), 2)
})

t.test('stale-while-revalidate: stale served at once while exactly one background revalidation runs', async t => {
  let n = 0
  const { origin, proxy, clock } = await setup(t, async (_req, res, _b, clock) => {
    n++
    await new Promise(resolve => setTimeout(resolve, 50))
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-while-revalidate=30', date: dateAt(clock) })
    res.end(`v${n}`)
  })
  await get(`${proxy.url}/swr`)
  clock.advance(15)
  const burst = await Promise.all(Array.from({ length: 10 }, () => get(`${proxy.url}/swr`)))
  t.ok(burst.every(r => r.body === 'v1' && /^freshgate; hit; ttl=-5; detail=stale-while-revalidate$/.test(r.cs)), 'all served stale at once')
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(origin.count(), 2, 'one background revalidation')
  const after = await get(`${proxy.url}/swr`)
  t.equal(after.body, 'v2', 'the background result was stored')
  clock.advance(50)
  t.match((await get(`${proxy.url}/swr`)).cs, /fwd=stale/, 'past the window: revalidated in the foreground')
})

t.test('stale-if-error: stale served on 5xx and when unreachable, within the window only', async t => {
  let mode: 'ok' | '500' | 'drop' = 'ok'
  const { proxy, clock } = await setup(t, (req, res, _b, clock) => {
    if (mode === '500') { res.writeHead(500); return res.end('down') }
    if (mode === 'drop') return res.socket?.destroy()
    const cc = req.url === '/grace' ? 'max-age=10' : 'max-age=10, stale-if-error=60'
    res.writeHead(200, { 'cache-control': cc, etag: '"e"', date: dateAt(clock) })
    res.end('good')
  }, { 'cache.staleIfErrorGrace': 0 })
  await get(`${proxy.url}/sie`)
  await get(`${proxy.url}/grace`)
  clock.advance(20)
  mode = '500'
  const a = await get(`${proxy.url}/sie`)
  t.equal(a.status, 200)
  t.equal(a.body, 'good')
  t.equal(a.cs, 'freshgate; fwd=stale; fwd-status=500; ttl=-10; detail=stale-if-error')
  mode = 'drop'
  const b = await get(`${proxy.url}/sie`)
  t.equal(b.body, 'good', 'also when the origin cannot answer')
  t.match(b.cs, /detail=stale-if-error/)
  const g = await get(`${proxy.url}/grace`)
  t.equal(g.status, 502, 'no stale-if-error and no grace: the error goes to the client')
  clock.advance(100)
  mode = '500'
  t.equal((await get(`${proxy.url}/sie`)).status, 500, 'past the window the 500 passes')
})

t.test('stale-if-error: the configured grace covers responses without the directive', async t => {
  let down = false
  const { proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    if (down) return res.socket?.destroy()
    res.writeHead(200, { 'cache-control': 'max-age=10', date: dateAt(clock) })
    res.end('good')
  }, { 'cache.staleIfErrorGrace': '60s' })
  await get(`${proxy.url}/x`)
  clock.advance(30)
  down = true
  const r = await get(`${proxy.url}/x`)
  t.equal(r.body, 'good')
  t.match(r.cs, /detail=stale-if-error/)
})

t.test('targeted Cache-Control: the freshgate field, then CDN-Cache-Control, win over Cache-Control', async t => {
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const h: Record<string, string> = { 'cache-control': 'no-store', date: dateAt(clock) }
    if (req.url === '/fg') { h['freshgate-cache-control'] = 'max-age=30'; h['cdn-cache-control'] = 'max-age=5' }
    if (req.url === '/cdn') h['cdn-cache-control'] = 'max-age=20'
    if (req.url === '/invalid') h['cdn-cache-control'] = 'MAX-AGE=20'
    res.writeHead(200, h)
    res.end('t')
  })
  const fg = await get(`${proxy.url}/fg`)
  t.equal(fg.cs, 'freshgate; fwd=uri-miss; stored')
  t.equal(fg.headers['freshgate-cache-control'], undefined, 'our targeted field is removed')
  t.equal(fg.headers['cdn-cache-control'], 'max-age=5', 'the CDN field is passed on')
  t.equal(fg.headers['cache-control'], 'no-store', 'Cache-Control passes unchanged')
  await get(`${proxy.url}/cdn`)
  await get(`${proxy.url}/invalid`)
  clock.advance(10)
  t.equal((await get(`${proxy.url}/fg`)).cs, 'freshgate; hit; ttl=20')
  t.equal((await get(`${proxy.url}/cdn`)).cs, 'freshgate; hit; ttl=10')
  t.match((await get(`${proxy.url}/invalid`)).cs, /detail=no-store/, 'an invalid targeted field is ignored')
  t.equal(origin.count(), 4)
})

t.test('invalidation also covers same-origin Location and Content-Location, all variants', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    if (req.method === 'POST') {
      res.writeHead(201, { location: '/items/1', 'content-location': `http://${req.headers.host}/items/2` })
      return res.end()
    }
    res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'x-v' })
    res.end(req.url)
  })
  for (const p of ['/items', '/items/1', '/items/2']) {
    await get(proxy.url + p, { headers: { 'x-v': 'a' } })
    await get(proxy.url + p, { headers: { 'x-v': 'b' } })
  }
  await get(`${proxy.url}/items`, { method: 'POST', body: '{}' })
  for (const p of ['/items', '/items/1', '/items/2']) {
    for (const v of ['a', 'b']) t.match((await get(proxy.url + p, { headers: { 'x-v': v } })).cs, /uri-miss|vary-miss/, `${p} variant ${v} was invalidated`)
  }
  t.equal(origin.count(), 13)
})

t.test('HEAD freshening: a HEAD response with a changed validator invalidates the stored GET', async t => {
  let etag = '"1"'
  const { proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', etag })
    res.end('x')
  })
  await get(`${proxy.url}/hf`)
  await get(`${proxy.url}/hf`, { method: 'HEAD', headers: { 'cache-control': 'no-cache' } })
  t.match((await get(`${proxy.url}/hf`)).cs, /hit/, 'unchanged validator: still stored')
  etag = '"2"'
  await get(`${proxy.url}/hf`, { method: 'HEAD', headers: { 'cache-control': 'no-cache' } })
  t.match((await get(`${proxy.url}/hf`)).cs, /uri-miss/, 'changed validator: the stored GET is gone')
})

t.test('a 304 carrying a different strong validator refreshes nothing; the response is fetched whole', async t => {
  let n = 0
  const { proxy, clock } = await setup(t, (req, res, _b, clock) => {
    n++
    if (req.headers['if-none-match'] !== undefined) {
      res.writeHead(304, { etag: '"different"', 'cache-control': 'max-age=60', date: dateAt(clock) })
      return res.end()
    }
    res.writeHead(200, { etag: '"a"', 'cache-control': 'max-age=1', date: dateAt(clock) })
    res.end(`full ${n}`)
  })
  await get(`${proxy.url}/s`)
  clock.advance(5)
  const r = await get(`${proxy.url}/s`)
  t.equal(r.status, 200)
  t.equal(r.body, 'full 3', 'fetched again unconditionally')
})
