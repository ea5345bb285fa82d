// What an operator watches, over real sockets: the client-side metrics (duration, bytes,
// connections, build, routes), evictions by reason, /readyz without the token, GET /stats and the
// status page's headers. The page in a browser is test/admin/status-page.test.ts.

import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { get } from '../proxy/harness.ts'
import { setupAdmin, sample, post } from './fixture.ts'
import { MAX_ROUTE_LABELS } from '../../src/admin/metrics.ts'
import { VERSION } from '../../src/version.ts'

const cacheable = (body = 'body'): Parameters<typeof setupAdmin>[1] => (req, res) => {
  if (req.url?.startsWith('/private')) {
    res.writeHead(200, { 'cache-control': 'private', 'content-type': 'text/plain' })
    return res.end(body)
  }
  if (req.url?.startsWith('/missing')) {
    res.writeHead(404, { 'content-type': 'text/plain' })
    return res.end('nope')
  }
  res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' })
  res.end(body)
}

const metricsOf = async (adminUrl: string, headers: Record<string, string> = {}): Promise<string> => (await get(`${adminUrl}/metrics`, { headers })).body

t.test('the request duration histogram is labelled by cache result and status class', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable('twelve bytes'))
  await get(`${url}/d`)
  await get(`${url}/d`)
  await get(`${url}/d`)
  await get(`${url}/missing`)
  t.equal(origin.count(), 2)
  const text = await metricsOf(admin.url)
  t.equal(sample(text, 'freshgate_request_duration_seconds_count{cache="miss",status="2xx"}'), 1)
  t.equal(sample(text, 'freshgate_request_duration_seconds_count{cache="hit",status="2xx"}'), 2)
  t.equal(sample(text, 'freshgate_request_duration_seconds_count{cache="miss",status="4xx"}'), 1)
  t.equal(sample(text, 'freshgate_request_duration_seconds_bucket{le="30",cache="hit",status="2xx"}'), 2, 'every hit is within the last bucket')
  t.ok((sample(text, 'freshgate_request_duration_seconds_sum{cache="hit",status="2xx"}') ?? -1) > 0, 'durations are summed')
  t.equal(sample(text, 'freshgate_response_bytes_total{cache="hit"}'), 24, 'two hits of twelve bytes')
  t.equal(sample(text, 'freshgate_response_bytes_total{cache="miss"}'), 16, 'twelve bytes and "nope"')
  const labels = [...text.matchAll(/^freshgate_request_duration_seconds_count\{cache="(\w+)",status="(\w+)"\}/gm)].map(m => `${m[1]} ${m[2]}`)
  t.same(labels.sort(), ['hit 2xx', 'miss 2xx', 'miss 4xx'], 'series appear as they are observed, with status classes, never codes')
})

t.test('freshgate_build_info names the version and Node.js', async t => {
  const { admin } = await setupAdmin(t, cacheable())
  t.equal(sample(await metricsOf(admin.url), `freshgate_build_info{version="${VERSION}",node="${process.versions.node}"}`), 1)
})

t.test('open client connections are counted as they open and close', async t => {
  const { admin, url } = await setupAdmin(t, cacheable())
  t.equal(sample(await metricsOf(admin.url), 'freshgate_client_connections'), 0)
  const u = new URL(url)
  const sockets = [connect(Number(u.port), u.hostname), connect(Number(u.port), u.hostname)]
  await Promise.all(sockets.map(s => once(s, 'connect')))
  // The server sees the connection a moment after the client does: poll, bounded.
  let open = 0
  for (let i = 0; i < 50 && open !== 2; i++) {
    open = sample(await metricsOf(admin.url), 'freshgate_client_connections') ?? -1
    if (open !== 2) await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(open, 2, 'two idle connections are open')
  for (const s of sockets) s.destroy()
  for (let i = 0; i < 50 && open !== 0; i++) {
    await new Promise(resolve => setTimeout(resolve, 20))
    open = sample(await metricsOf(admin.url), 'freshgate_client_connections') ?? -1
  }
  t.equal(open, 0, 'closed connections are taken off')
})

t.test('route labels name configured routes, "default" for the top-level origin, and stay bounded', async t => {
  const routes = Array.from({ length: MAX_ROUTE_LABELS + 3 }, (_, i) => ({ prefix: `/r${i}/` }))
  const { origin, admin, url } = await setupAdmin(t, cacheable(), { routes })
  for (let i = 0; i < routes.length; i++) t.equal((await get(`${url}/r${i}/x`)).status, 200)
  await get(`${url}/elsewhere`)
  await get(`${url}/elsewhere`)
  t.equal(origin.count(), routes.length + 1)
  const text = await metricsOf(admin.url)
  t.equal(sample(text, 'freshgate_route_requests_total{route="default",cache="miss"}'), 1)
  t.equal(sample(text, 'freshgate_route_requests_total{route="default",cache="hit"}'), 1)
  t.equal(sample(text, 'freshgate_route_requests_total{route="*/r0/",cache="miss"}'), 1)
  const values = new Set([...text.matchAll(/^freshgate_route_requests_total\{route="([^"]+)"/gm)].map(m => m[1]))
  t.equal(values.size, MAX_ROUTE_LABELS, `at most ${MAX_ROUTE_LABELS} route values`)
  t.ok(values.has('other'), 'the routes past the bound are "other"')
  t.equal(sample(text, 'freshgate_route_requests_total{route="other",cache="miss"}'), routes.length + 2 - MAX_ROUTE_LABELS)
})

t.test('a hard purge counts evictions with reason "purge"; a soft purge and a replacement count none', async t => {
  const { admin, url } = await setupAdmin(t, cacheable())
  await get(`${url}/p1`)
  await get(`${url}/p2`)
  await get(`${url}/p3`)
  t.same(JSON.parse((await post(`${admin.url}/purge`, { urls: ['/p1', `${url}/p2`] })).body), { purged: 2, soft: false })
  t.same(JSON.parse((await post(`${admin.url}/purge`, { urls: ['/p3'], soft: true })).body), { purged: 1, soft: true })
  // A request that must refetch (no-cache) replaces the stored variant: no eviction.
  await get(`${url}/p3`, { headers: { 'cache-control': 'no-cache' } })
  const text = await metricsOf(admin.url)
  t.equal(sample(text, 'freshgate_cache_evictions_total{tier="memory",reason="purge"}'), 2)
  t.equal(sample(text, 'freshgate_cache_evictions_total{tier="memory",reason="size"}'), 0)
  t.equal(sample(text, 'freshgate_cache_evictions_total{tier="memory",reason="ttl"}'), 0)
  const stats = JSON.parse((await get(`${admin.url}/stats`)).body)
  t.same(stats.evictions, { size: 0, ttl: 0, purge: 2 }, '/stats shows the same')
})

t.test('/readyz names the origin\'s address and error only with the token, or when none is set (issue 9 #5)', async t => {
  const withToken = await setupAdmin(t, cacheable(), { 'admin.token': 's3cret' })
  await withToken.origin.close()
  const host = new URL(withToken.origin.url).host
  const anonymous = await get(`${withToken.admin.url}/readyz`)
  t.equal(anonymous.status, 503)
  t.equal(JSON.parse(anonymous.body).status, 'unavailable')
  t.notOk(anonymous.body.includes(host), 'no address without the token')
  t.notMatch(anonymous.body, /ECONNREFUSED/, 'no error without the token')
  const authorized = await get(`${withToken.admin.url}/readyz`, { headers: { authorization: 'Bearer s3cret' } })
  t.equal(authorized.status, 503)
  t.match(JSON.parse(authorized.body).reason, new RegExp(`origin ${host} connection failed: .*ECONNREFUSED`))

  const open = await setupAdmin(t, cacheable())
  await open.origin.close()
  const noToken = await get(`${open.admin.url}/readyz`)
  t.match(JSON.parse(noToken.body).reason, /ECONNREFUSED/, 'with no token configured the reason is shown')
})

t.test('GET /stats reports traffic, latency, the store, the origin, top keys and responses not stored', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable('0123456789'), { 'admin.token': 'tk' })
  const auth = { authorization: 'Bearer tk' }
  t.equal((await get(`${admin.url}/stats`)).status, 401, 'the token is needed')
  for (let i = 0; i < 5; i++) await get(`${url}/hot`)
  await get(`${url}/warm`)
  await get(`${url}/warm`)
  await get(`${url}/private/1`)
  await get(`${url}/submit`, { method: 'POST', body: 'x' })
  t.equal(origin.count(), 4)

  const r = await get(`${admin.url}/stats`, { headers: auth })
  t.equal(r.status, 200)
  t.equal(r.headers['cache-control'], 'no-store')
  const s = JSON.parse(r.body)
  t.equal(s.version, VERSION)
  t.same(s.answered, { hit: 5, stale: 0, revalidated: 0, miss: 3, pass: 1, collapsed: 0, error: 0 })
  t.same(s.store, { enabled: true, tier: 'memory', entries: 2, bytes: s.store.bytes, maxBytes: 256 * 1024 * 1024 })
  t.ok(s.store.bytes > 20)
  t.same(s.origin, { url: origin.url, reachable: true, reason: null })
  t.equal(s.series.requests.length, 300, 'five minutes of seconds')
  const total = (a: number[]): number => a.reduce((x, y) => x + y, 0)
  t.equal(total(s.series.requests), 9)
  t.equal(total(s.series.fromCache), 5, 'four hits of /hot and one of /warm')
  t.equal(total(s.series.lookups), 8, 'the POST is no lookup')
  t.equal(total(s.series.origin), 4)
  t.equal(s.latencyMs.hits.count, 5)
  t.equal(s.latencyMs.misses.count, 3)
  t.ok(s.latencyMs.hits.p50 >= 0 && s.latencyMs.hits.p99 >= s.latencyMs.hits.p50, 'percentiles in order')
  t.same(s.topKeys.map((k: { key: string, hits: number }) => [new URL(k.key).pathname, k.hits]), [['/hot', 4], ['/warm', 1]])
  t.same(s.upstream, { lastError: null, statuses: { '2xx': 4 } })
  const why = s.notStored.map((n: { method: string, key: string, status: number, cacheStatus: string }) => [n.method, new URL(n.key).pathname, n.status, n.cacheStatus])
  t.match(why, [
    ['POST', '/submit', 200, /^freshgate; fwd=/],
    ['GET', '/private/1', 200, /^freshgate; fwd=uri-miss; detail=/]
  ], 'newest first, with the Cache-Status that says why')
  t.equal(why.length, 2, 'stored misses and hits are not listed')

  await origin.close()
  await get(`${url}/gone`)
  const after = JSON.parse((await get(`${admin.url}/stats`, { headers: auth })).body)
  t.equal(after.upstream.lastError.code, 'FG_UPSTREAM_REFUSED')
  t.equal(total(after.series.originErrors), 1)
})

t.test('GET / serves the status page: self-contained, small, locked down, and no token in the URL', async t => {
  const { admin } = await setupAdmin(t, cacheable(), { 'admin.token': 'tk' })
  const r = await get(`${admin.url}/`)
  t.equal(r.status, 200, 'the page itself carries no data and loads without the token')
  t.match(r.headers['content-type'], /^text\/html; charset=utf-8/)
  t.ok(Buffer.byteLength(r.body) < 30 * 1024, `under 30 KB (${Buffer.byteLength(r.body)} bytes)`)
  t.notMatch(r.body, /(src|href)\s*=|@import|url\(/, 'nothing is loaded, from elsewhere or here')
  const csp = String(r.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'/, 'only the page\'s own script runs')
  t.match(csp, /connect-src 'self'/)
  t.match(csp, /frame-ancestors 'none'/)
  t.equal(r.headers['x-content-type-options'], 'nosniff')
  t.equal(r.headers['cache-control'], 'no-store')
  t.match(r.body, /sessionStorage/, 'the token is kept per tab')
  t.notMatch(r.body, /innerHTML/, 'reported text is never parsed as HTML')

  const inUrl = await get(`${admin.url}/?token=tk`)
  t.equal(inUrl.status, 400)
  t.match(JSON.parse(inUrl.body).error, /not accepted in the URL/)
})
