// The operator's controls over real sockets, globally and per route: client no-cache ignored,
// requests with cookies passed, TTLs replaced, raised or lowered by status.

import t from 'tap'
import { setup, get, dateAt } from './harness.ts'
import { loadConfig } from '../../src/config/load.ts'

t.test('ignoreClientNoCache: reloads are answered from the cache', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end('page')
  }, { 'cache.ignoreClientNoCache': true })
  await get(`${proxy.url}/p`)
  for (let i = 0; i < 5; i++) {
    const r = await get(`${proxy.url}/p`, { headers: { 'cache-control': 'no-cache' } })
    t.match(r.cs, /^freshgate; hit/, `reload ${i} with Cache-Control: no-cache is a hit`)
  }
  t.match((await get(`${proxy.url}/p`, { headers: { pragma: 'no-cache' } })).cs, /^freshgate; hit/, 'Pragma: no-cache too')
  t.equal(origin.count('/p'), 1)
})

t.test('ignoreClientNoCache is off by default, and a route may turn it on for itself', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end('page')
  }, { routes: [{ prefix: '/static/', cache: { ignoreClientNoCache: true } }] })
  await get(`${proxy.url}/p`)
  await get(`${proxy.url}/static/p`)
  t.equal((await get(`${proxy.url}/p`, { headers: { 'cache-control': 'no-cache' } })).cs, 'freshgate; fwd=request; fwd-status=200; stored')
  t.match((await get(`${proxy.url}/static/p`, { headers: { 'cache-control': 'no-cache' } })).cs, /^freshgate; hit/)
  t.equal(origin.count('/p'), 2)
  t.equal(origin.count('/static/p'), 1)
})

t.test('requestCookies: pass sends requests with Cookie to the origin, without the cache', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end(`for ${req.headers.cookie ?? 'anyone'}`)
  }, { 'cache.requestCookies': 'pass' })
  t.equal((await get(`${proxy.url}/a`)).body, 'for anyone')
  const c = await get(`${proxy.url}/a`, { headers: { cookie: 'user=1' } })
  t.equal(c.body, 'for user=1', 'the stored anonymous answer is not used')
  t.equal(c.cs, 'freshgate; fwd=bypass')
  t.equal((await get(`${proxy.url}/b`, { headers: { cookie: 'user=1' } })).cs, 'freshgate; fwd=bypass')
  const b = await get(`${proxy.url}/b`)
  t.equal(b.cs, 'freshgate; fwd=uri-miss; stored', 'the cookie request stored nothing')
  t.match((await get(`${proxy.url}/a`)).cs, /^freshgate; hit/, 'requests without Cookie still use the cache')
  t.equal(origin.count('/a'), 2)
  t.equal(origin.count('/b'), 2)
})

t.test('requestCookies: a route may pass cookies while the default stores', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end(req.url)
  }, { routes: [{ prefix: '/account/', cache: { requestCookies: 'pass' } }] })
  await get(`${proxy.url}/home`, { headers: { cookie: 'a=1' } })
  t.match((await get(`${proxy.url}/home`, { headers: { cookie: 'a=1' } })).cs, /^freshgate; hit/)
  await get(`${proxy.url}/account/me`, { headers: { cookie: 'a=1' } })
  t.equal((await get(`${proxy.url}/account/me`, { headers: { cookie: 'a=1' } })).cs, 'freshgate; fwd=bypass')
  t.equal(origin.count('/home'), 1)
  t.equal(origin.count('/account/me'), 2)
})

t.test('overrideTtl by status: named in Cache-Status, and the entry lives as long as it says', async t => {
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const status = req.url === '/missing' ? 404 : 200
    res.writeHead(status, { 'cache-control': 'max-age=5', date: dateAt(clock) })
    res.end(req.url)
  }, { 'cache.overrideTtl': '{"200": "10m", "any": "30s"}' })
  t.equal((await get(`${proxy.url}/ok`)).cs, 'freshgate; fwd=uri-miss; stored; detail=ttl-override')
  t.equal((await get(`${proxy.url}/missing`)).cs, 'freshgate; fwd=uri-miss; stored; detail=ttl-override')
  clock.advance(20)
  t.equal((await get(`${proxy.url}/ok`)).cs, 'freshgate; hit; ttl=580', 'the 200 lives ten minutes, not five seconds')
  t.equal((await get(`${proxy.url}/missing`)).cs, 'freshgate; hit; ttl=10', 'the 404 lives 30 seconds')
  clock.advance(20)
  t.match((await get(`${proxy.url}/missing`)).cs, /fwd=stale/, 'and no longer')
  t.equal(origin.count('/ok'), 1)
  t.equal(origin.count('/missing'), 2)
})

t.test('minTtl and maxTtl clamp the origin\'s lifetime; a route overrides the global table', async t => {
  const { proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': req.url!.endsWith('long') ? 'max-age=86400' : 'max-age=5', date: dateAt(clock) })
    res.end('x')
  }, { 'cache.minTtl': '{"any": "1m"}', 'cache.maxTtl': '{"200": "1h"}', routes: [{ prefix: '/r/', cache: { minTtl: {}, maxTtl: { 200: '2m' } } }] })
  t.equal((await get(`${proxy.url}/short`)).cs, 'freshgate; fwd=uri-miss; stored; detail=ttl-min')
  t.equal((await get(`${proxy.url}/long`)).cs, 'freshgate; fwd=uri-miss; stored; detail=ttl-max')
  t.equal((await get(`${proxy.url}/r/short`)).cs, 'freshgate; fwd=uri-miss; stored', 'the route sets no minimum')
  t.equal((await get(`${proxy.url}/r/long`)).cs, 'freshgate; fwd=uri-miss; stored; detail=ttl-max')
  t.equal((await get(`${proxy.url}/short`)).cs, 'freshgate; hit; ttl=60')
  t.equal((await get(`${proxy.url}/long`)).cs, 'freshgate; hit; ttl=3600')
  t.equal((await get(`${proxy.url}/r/long`)).cs, 'freshgate; hit; ttl=120')
})

t.test('keyHeaders and keyCookies select stored responses like Vary; a purge of the URL removes them all', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end(`${req.headers['x-device'] ?? '-'} ${req.headers.cookie ?? '-'}`)
  }, { 'cache.keyHeaders': 'X-Device', 'cache.keyCookies': 'Lang', 'purge.method': true })
  const m = await get(`${proxy.url}/p`, { headers: { 'x-device': 'mobile', cookie: 'lang=fr; track=1' } })
  t.equal(m.body, 'mobile lang=fr; track=1')
  const d = await get(`${proxy.url}/p`, { headers: { 'x-device': 'desktop', cookie: 'lang=fr' } })
  t.equal(d.cs, 'freshgate; fwd=vary-miss; stored', 'another device is another variant')
  const m2 = await get(`${proxy.url}/p`, { headers: { 'x-device': 'mobile', cookie: 'track=2; lang=fr' } })
  t.match(m2.cs, /^freshgate; hit/, 'the same device and language, other cookies: a hit')
  t.equal(m2.body, 'mobile lang=fr; track=1')
  t.equal((await get(`${proxy.url}/p`, { headers: { 'x-device': 'mobile', cookie: 'lang=de' } })).cs, 'freshgate; fwd=vary-miss; stored', 'another language is another variant')
  t.equal(origin.count('/p'), 3)
  const purged = await get(`${proxy.url}/p`, { method: 'PURGE' })
  t.equal(JSON.parse(purged.body).purged, 3, 'PURGE of the URL removes every variant')
})

t.test('a route\'s keyHeaders replace the global ones; ignoreQuery drops parameters by glob', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock) })
    res.end(req.url)
  }, { 'cache.keyHeaders': 'x-device', routes: [{ prefix: '/shop/', cache: { keyHeaders: [], ignoreQuery: ['utm_*', 'fbclid'] } }] })
  await get(`${proxy.url}/shop/item?id=1&utm_source=mail`, { headers: { 'x-device': 'a' } })
  const r = await get(`${proxy.url}/shop/item?fbclid=z&id=1&utm_campaign=x`, { headers: { 'x-device': 'b' } })
  t.match(r.cs, /^freshgate; hit/, 'tracking parameters and the device do not matter on this route')
  t.equal(r.body, '/shop/item?id=1&utm_source=mail')
  t.equal((await get(`${proxy.url}/shop/item?id=2`)).cs, 'freshgate; fwd=uri-miss; stored', 'other parameters still do')
  t.equal(origin.count(), 2)
})

t.test('the controls follow a reload (SIGHUP) for new requests', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=5', date: dateAt(clock), 'x-internal': '1' })
    res.end(req.url)
  })
  t.equal((await get(`${proxy.url}/a`)).cs, 'freshgate; fwd=uri-miss; stored')
  await proxy.fg.handler.reconfigure(loadConfig({
    flags: { origin: origin.url, port: 0, host: '127.0.0.1', 'admin.port': 0, 'cache.requestCookies': 'pass', 'cache.overrideTtl': { any: '1h' }, 'cache.ignoreClientNoCache': true, 'headers.response.remove': 'x-internal' }
  }))
  t.equal((await get(`${proxy.url}/a`, { headers: { cookie: 'u=1' } })).cs, 'freshgate; fwd=bypass', 'requestCookies')
  t.equal((await get(`${proxy.url}/b`)).cs, 'freshgate; fwd=uri-miss; stored; detail=ttl-override', 'overrideTtl')
  const a = await get(`${proxy.url}/a`, { headers: { 'cache-control': 'no-cache' } })
  t.match(a.cs, /^freshgate; hit/, 'ignoreClientNoCache')
  t.equal(a.headers['x-internal'], undefined, 'headers.response.remove')
  t.equal(origin.count(), 3)
})

t.test('a HEAD that freshens a stored GET keeps the operator\'s TTL (RFC 9111 §4.3.5)', async t => {
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=5', etag: '"v"', date: dateAt(clock) })
    res.end('body')
  }, { 'cache.overrideTtl': { 200: '1m' } })
  await get(`${proxy.url}/h`)
  clock.advance(70)
  // Stale: the HEAD goes to the origin and freshens the stored GET with its fields.
  const h = await get(`${proxy.url}/h`, { method: 'HEAD' })
  t.equal(h.status, 200)
  clock.advance(30)
  t.equal((await get(`${proxy.url}/h`)).cs, 'freshgate; hit; ttl=30', 'a minute from the HEAD, not five seconds')
  t.equal(origin.count('/h'), 2)
})
