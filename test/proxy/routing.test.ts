// Routing: Host (exact or wildcard) and path prefix pick the origin and the cache settings.

import t from 'tap'
import { Origin, startFreshgate, setup, get } from './harness.ts'

async function origins (t: { teardown: (fn: () => unknown) => void }, names: string[]): Promise<Record<string, Origin>> {
  const out: Record<string, Origin> = {}
  for (const n of names) {
    const o = await new Origin((req, res) => {
      const h: Record<string, string> = { 'x-origin': n }
      if (!req.url!.startsWith('/nofresh')) h['cache-control'] = 'max-age=60'
      res.writeHead(200, h)
      res.end(`${n} ${req.url}`)
    }).start()
    t.teardown(() => o.close())
    out[n] = o
  }
  return out
}

t.test('routes pick the origin by host and prefix; first match wins; unmatched → default origin', async t => {
  const o = await origins(t, ['api', 'static', 'wild', 'main'])
  const proxy = await startFreshgate(o.main!.url, {
    routes: [
      { host: 'app.example', prefix: '/api/', origin: o.api!.url },
      { host: 'app.example', prefix: '/', origin: o.static!.url },
      { host: '*.tenants.example', origin: o.wild!.url }
    ]
  })
  t.teardown(() => proxy.fg.close())
  const cases: Array<[string, string, string]> = [
    ['app.example', '/api/users', 'api'],
    ['app.example:8080', '/api/users', 'api'],
    ['app.example', '/index.html', 'static'],
    ['a.tenants.example', '/x', 'wild'],
    ['b.c.tenants.example', '/x', 'wild'],
    ['tenants.example', '/x', 'main'],
    ['other.example', '/api/users', 'main']
  ]
  for (const [host, path, want] of cases) {
    const r = await get(proxy.url + path, { headers: { host } })
    t.equal(r.headers['x-origin'], want, `${host}${path} → ${want}`)
  }
  t.equal(o.api!.seen[0]!.headers.host, 'app.example', 'the client Host is forwarded to the route origin')
})

t.test('no default origin: unmatched requests get 404 FG_NO_ROUTE', async t => {
  const o = await origins(t, ['api'])
  const proxy = await startFreshgate(undefined as unknown as string, { routes: [{ prefix: '/api/', origin: o.api!.url }] })
  t.teardown(() => proxy.fg.close())
  t.equal((await get(`${proxy.url}/api/x`)).headers['x-origin'], 'api')
  const miss = await get(`${proxy.url}/other`)
  t.equal(miss.status, 404)
  t.equal(miss.headers['x-freshgate-error'], 'FG_NO_ROUTE')
  t.equal(o.api!.count(), 1)
})

t.test('per-route cache settings: disabled, default TTL, ignored and sorted query', async t => {
  const o = await origins(t, ['main'])
  const proxy = await startFreshgate(o.main!.url, {
    routes: [
      { prefix: '/live/', cache: { enabled: false } },
      { prefix: '/nofresh', cache: { defaultTtl: '30s' } },
      { prefix: '/track', cache: { ignoreQuery: ['utm_source', 'utm_medium'], sortQuery: true } },
      { prefix: '/any', cache: { ignoreQuery: true } }
    ]
  })
  t.teardown(() => proxy.fg.close())
  await get(`${proxy.url}/live/feed`)
  const live = await get(`${proxy.url}/live/feed`)
  t.equal(live.cs, 'freshgate; fwd=bypass')
  t.equal(o.main!.count('/live/feed'), 2, 'a disabled route never uses the cache')

  t.equal((await get(`${proxy.url}/nofresh`)).cs, 'freshgate; fwd=uri-miss; stored', 'a response without freshness is stored under the default TTL')
  proxy.clock.advance(10)
  t.equal((await get(`${proxy.url}/nofresh`)).cs, 'freshgate; hit; ttl=20')

  await get(`${proxy.url}/track?b=2&a=1&utm_source=x`)
  const same = await get(`${proxy.url}/track?a=1&utm_medium=y&b=2`)
  t.match(same.cs, /hit/, 'sorted, without the ignored parameters, both share one key')
  t.equal(same.body, 'main /track?b=2&a=1&utm_source=x')
  t.equal(o.main!.count(), 4)

  await get(`${proxy.url}/any?x=1`)
  t.match((await get(`${proxy.url}/any?y=2`)).cs, /hit/, 'ignoreQuery: true drops the whole query from the key')
})

t.test('cache.ignoreQuery drops parameters by name or glob from every key, and a route may drop more', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end(`for ${req.url}`)
  }, { 'cache.ignoreQuery': ['utm_*', 'fbclid'] })
  const a = await get(`${proxy.url}/page?id=1&utm_source=mail&fbclid=x`)
  const b = await get(`${proxy.url}/page?utm_medium=ad&id=1`)
  t.equal(b.body, a.body, 'one entry for both')
  t.match(b.cs, /^freshgate; hit/)
  t.equal(origin.count(), 1)
  t.equal(origin.seen[0]!.url, '/page?id=1&utm_source=mail&fbclid=x', 'the origin still gets the query as sent')
  const c = await get(`${proxy.url}/page?id=2&utm_source=mail`)
  t.match(c.cs, /fwd=uri-miss/, 'other parameters still make other entries')
})
