// The admin listener over real sockets: probes, Prometheus metrics fed by real proxied requests,
// cache statistics and inspection, the bearer token, and routing errors.

import t from 'tap'
import { spawn } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { get, dateAt } from '../proxy/harness.ts'
import { setupAdmin, sample } from './fixture.ts'
import { loadConfig } from '../../src/config/load.ts'
import { startAdmin, adminRuntimeOf } from '../../src/admin/server.ts'

const cacheable = (body = 'body'): Parameters<typeof setupAdmin>[1] => (_req, res) => {
  res.writeHead(200, { 'cache-control': 'max-age=60', etag: '"e1"', 'content-type': 'text/plain' })
  res.end(body)
}

t.test('/healthz answers ok without touching the origin', async t => {
  const { origin, admin } = await setupAdmin(t, cacheable())
  const r = await get(`${admin.url}/healthz`)
  t.equal(r.status, 200)
  t.same(JSON.parse(r.body), { status: 'ok' })
  t.match(r.headers['content-type'], /^application\/json/)
  t.equal(r.headers['cache-control'], 'no-store')
  const head = await get(`${admin.url}/healthz`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.equal(origin.count(), 0)
})

t.test('/readyz is 200 while the origin accepts connections and 503 once it is gone', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable())
  const up = await get(`${admin.url}/readyz`)
  t.equal(up.status, 200)
  t.equal(JSON.parse(up.body).status, 'ready')
  t.equal(origin.count(), 0, 'the probe opens a TCP connection only; no request reaches the origin')

  await origin.close()
  const down = await get(`${admin.url}/readyz`)
  t.equal(down.status, 503)
  const body = JSON.parse(down.body)
  t.equal(body.status, 'unavailable')
  t.match(body.reason, /ECONNREFUSED/)

  // The proxy itself answers 502, and the failure is counted.
  const proxied = await get(`${url}/x`)
  t.equal(proxied.status, 502)
  const text = (await get(`${admin.url}/metrics`)).body
  t.equal(sample(text, 'freshgate_upstream_errors_total{code="FG_UPSTREAM_REFUSED"}'), 1)
  t.equal(sample(text, 'freshgate_requests_total{cache="error"}'), 1)
  t.equal(origin.count(), 0)
})

t.test('/readyz is 503 when the proxy no longer listens', async t => {
  const { origin, admin, fg } = await setupAdmin(t, cacheable())
  await new Promise(resolve => fg.server.close(resolve))
  const r = await get(`${admin.url}/readyz`)
  t.equal(r.status, 503)
  t.match(JSON.parse(r.body).reason, /proxy is not listening/)
  t.equal(origin.count(), 0)
})

/**
 * An address whose listener never accepts: a child process listens with a backlog of 1 and blocks,
 * and connections fill its accept queue until new SYNs go unanswered (Linux drops them).
 */
async function unresponsiveOrigin (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer()
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(s.address().port + '\\n')
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
    })`], { stdio: ['ignore', 'pipe', 'inherit'] })
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.destroy(); child.kill('SIGKILL') })
  const port = await new Promise<number>(resolve => child.stdout.once('data', d => resolve(Number(String(d).trim()))))
  for (let i = 0; i < 16; i++) {
    const s = connect(port, '127.0.0.1')
    sockets.push(s)
    const accepted = await new Promise<boolean>(resolve => {
      s.once('connect', () => resolve(true))
      s.once('error', () => resolve(true))
      setTimeout(() => resolve(false), 250)
    })
    if (!accepted) return `http://127.0.0.1:${port}`
  }
  throw new Error('the accept queue never filled')
}

t.test('/readyz is 503 when the origin does not accept within admin.readyTimeout', async t => {
  const hanging = await unresponsiveOrigin(t)
  const { admin, origin } = await setupAdmin(t, cacheable(), { origin: hanging, 'admin.readyTimeout': '200ms' })
  const started = performance.now()
  const r = await get(`${admin.url}/readyz`)
  const took = performance.now() - started
  t.equal(r.status, 503)
  t.equal(JSON.parse(r.body).reason, `origin ${hanging.slice(7)} did not accept a connection within 200 ms`)
  t.ok(took >= 190 && took < 1500, `answered after the ready timeout (${Math.round(took)} ms)`)
  t.equal(origin.count(), 0)
})

t.test('/metrics exposes every metric and counts a miss and a hit from real requests', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable('twelve bytes'))
  const miss = await get(`${url}/m`)
  const hit = await get(`${url}/m`)
  const notModified = await get(`${url}/m`, { headers: { 'if-none-match': '"e1"' } })
  t.equal(miss.cs, 'freshgate; fwd=uri-miss; stored')
  t.match(hit.cs, /^freshgate; hit/)
  t.equal(notModified.status, 304)
  t.equal(origin.count('/m'), 1, 'only the miss reached the origin')

  const r = await get(`${admin.url}/metrics`)
  t.equal(r.status, 200)
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = r.body
  for (const name of [
    'freshgate_requests_total', 'freshgate_responses_304_total', 'freshgate_upstream_requests_total',
    'freshgate_upstream_duration_seconds', 'freshgate_upstream_errors_total', 'freshgate_cache_bytes',
    'freshgate_cache_entries', 'freshgate_cache_evictions_total', 'freshgate_cache_max_bytes',
    'freshgate_request_duration_seconds', 'freshgate_response_bytes_total', 'freshgate_client_connections',
    'freshgate_build_info', 'freshgate_route_requests_total',
    'process_cpu_user_seconds_total', 'nodejs_heap_size_total_bytes'
  ]) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exposed`)
  }
  t.equal(sample(text, 'freshgate_requests_total{cache="miss"}'), 1)
  t.equal(sample(text, 'freshgate_requests_total{cache="hit"}'), 2, 'the 304 answered from the cache is a hit')
  t.equal(sample(text, 'freshgate_requests_total{cache="stale"}'), 0, 'known kinds start at 0')
  t.equal(sample(text, 'freshgate_responses_304_total'), 1)
  t.equal(sample(text, 'freshgate_upstream_requests_total{status="200"}'), 1)
  t.equal(sample(text, 'freshgate_upstream_duration_seconds_count'), 1)
  t.equal(sample(text, 'freshgate_upstream_duration_seconds_bucket{le="30"}'), 1)
  t.equal(sample(text, 'freshgate_upstream_errors_total{code="FG_UPSTREAM_REFUSED"}'), 0)
  t.equal(sample(text, 'freshgate_cache_entries{tier="memory"}'), 1)
  t.ok((sample(text, 'freshgate_cache_bytes{tier="memory"}') ?? 0) > 12, 'bytes include the body and headers')
  t.equal(sample(text, 'freshgate_cache_max_bytes'), 256 * 1024 * 1024)
  for (const reason of ['size', 'ttl', 'purge']) t.equal(sample(text, `freshgate_cache_evictions_total{tier="memory",reason="${reason}"}`), 0)
})

t.test('evictions to stay within cache.maxSize are counted with reason "size"', async t => {
  const { origin, admin, url } = await setupAdmin(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('x'.repeat(1500))
  }, { 'cache.maxSize': 4096, 'cache.maxEntrySize': 4096 })
  for (const p of ['/e1', '/e2', '/e3', '/e4']) t.equal((await get(`${url}${p}`)).status, 200)
  t.equal(origin.count(), 4)
  const text = (await get(`${admin.url}/metrics`)).body
  const evicted = sample(text, 'freshgate_cache_evictions_total{tier="memory",reason="size"}') ?? 0
  t.ok(evicted >= 2, `evictions counted (${evicted})`)
  t.equal(sample(text, 'freshgate_cache_max_bytes'), 4096)
  const stats = JSON.parse((await get(`${admin.url}/cache/stats`)).body)
  t.equal(stats.evictions, evicted)
  t.equal(stats.entries + evicted, 4)
  t.ok(stats.bytes <= 4096)
  t.equal(sample((await get(`${admin.url}/metrics`)).body, 'freshgate_cache_evictions_total{tier="memory",reason="size"}'), evicted, 'a second scrape adds nothing')
})

t.test('/cache/stats reports the store and the hit ratio', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable())
  const empty = JSON.parse((await get(`${admin.url}/cache/stats`)).body)
  t.same(empty, { enabled: true, entries: 0, bytes: 0, maxBytes: 256 * 1024 * 1024, evictions: 0, requests: { hit: 0, stale: 0, revalidated: 0, miss: 0, pass: 0, collapsed: 0, error: 0 }, hitRatio: null })
  await get(`${url}/s`)
  await get(`${url}/s`)
  await get(`${url}/s`, { method: 'POST', body: 'x' })
  t.equal(origin.count('/s'), 2, 'the miss and the POST reached the origin')
  const r = await get(`${admin.url}/cache/stats`)
  t.equal(r.status, 200)
  const stats = JSON.parse(r.body)
  t.equal(stats.entries, 0, 'the POST invalidated the stored response')
  t.equal(stats.requests.hit, 1)
  t.equal(stats.requests.miss, 1)
  t.equal(stats.requests.pass, 1)
  t.equal(stats.hitRatio, 0.5, 'passes are not lookups')
})

t.test('/cache/stats when caching is disabled', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable(), { 'cache.maxSize': 0 })
  await get(`${url}/d`)
  t.equal(origin.count('/d'), 1)
  const stats = JSON.parse((await get(`${admin.url}/cache/stats`)).body)
  t.equal(stats.enabled, false)
  t.equal(stats.entries, 0)
  t.equal(stats.requests.pass, 1)
  t.equal((await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${url}/d`)}`)).status, 404)
})

t.test('/cache/entry shows each Vary variant without its body, and 404 for an unknown URL', async t => {
  const { origin, admin, url, clock } = await setupAdmin(t, (req, res, _b, clock) => {
    const lang = String(req.headers['accept-language'])
    res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language', date: dateAt(clock), etag: `"${lang}"`, 'surrogate-key': `page lang-${lang}` })
    res.end(`SECRET-BODY-${lang}`)
  })
  const en = await get(`${url}/v?q=1`, { headers: { 'accept-language': 'en' } })
  const fr = await get(`${url}/v?q=1`, { headers: { 'accept-language': 'fr' } })
  t.equal(en.body, 'SECRET-BODY-en')
  t.equal(fr.body, 'SECRET-BODY-fr')
  t.equal(origin.count('/v?q=1'), 2)
  clock.advance(10)

  const r = await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${url}/v?q=1`)}`)
  t.equal(r.status, 200)
  t.notMatch(r.body, /SECRET-BODY/, 'never the body')
  const entry = JSON.parse(r.body)
  t.equal(entry.key, `${url}/v?q=1`)
  t.equal(entry.variants.length, 2)
  const [newest, oldest] = entry.variants
  t.same(newest.varyValues, { 'accept-language': 'fr' })
  t.same(oldest.varyValues, { 'accept-language': 'en' })
  for (const [v, lang] of [[newest, 'fr'], [oldest, 'en']] as const) {
    t.equal(v.status, 200)
    t.equal(v.headers.etag, `"${lang}"`)
    t.equal(v.headers.vary, 'Accept-Language')
    t.equal(v.headers['surrogate-key'], undefined, 'tag fields are stripped from stored heads')
    t.equal(v.age, 10)
    t.equal(v.ttl, 50)
    t.same(v.varyFields, ['accept-language'])
    t.same(v.tags, ['page', `lang-${lang}`])
    t.equal(v.bodyBytes, `SECRET-BODY-${lang}`.length)
    t.ok(v.size > v.bodyBytes)
    t.equal(v.body, undefined)
  }

  clock.advance(60)
  const stale = JSON.parse((await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${url}/v?q=1`)}`)).body)
  t.equal(stale.variants[0].ttl, -10, 'ttl is negative once stale')

  const unknown = await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${url}/v?q=2`)}`)
  t.equal(unknown.status, 404)
  t.equal(JSON.parse(unknown.body).key, `${url}/v?q=2`)
  const otherHost = await get(`${admin.url}/cache/entry?url=${encodeURIComponent('http://elsewhere.example/v?q=1')}`)
  t.equal(otherHost.status, 404)
  t.equal((await get(`${admin.url}/cache/entry`)).status, 400)
  const relative = await get(`${admin.url}/cache/entry?url=/v`)
  t.equal(relative.status, 400)
  t.match(JSON.parse(relative.body).error, /absolute http\(s\) URL/)
  t.equal(origin.count(), 2, 'inspection never reaches the origin')
})

t.test('admin.token: every route but the probes needs the bearer token', async t => {
  const { origin, admin, url } = await setupAdmin(t, cacheable(), { 'admin.token': 's3cret' })
  await get(`${url}/p`)
  const auth = { authorization: 'Bearer s3cret' }

  t.equal((await get(`${admin.url}/healthz`)).status, 200, 'healthz is open')
  t.equal((await get(`${admin.url}/readyz`)).status, 200, 'readyz is open')
  for (const [path, method] of [['/metrics', 'GET'], ['/cache/stats', 'GET'], ['/stats', 'GET'], ['/cache/entry?url=http://a/', 'GET'], ['/purge', 'POST'], ['/nope', 'GET']]) {
    const none = await get(`${admin.url}${path}`, { method, body: method === 'POST' ? JSON.stringify({ prefix: '/' }) : undefined })
    t.equal(none.status, 401, `${method} ${path} without a token`)
    t.equal(none.headers['www-authenticate'], 'Bearer realm="freshgate-admin"')
    for (const wrong of ['Bearer s3cre', 'Bearer s3cretX', 'Bearer S3CRET', 'Basic s3cret', 's3cret', 'Bearer']) {
      const r = await get(`${admin.url}${path}`, { method, headers: { authorization: wrong }, body: method === 'POST' ? JSON.stringify({ prefix: '/' }) : undefined })
      t.equal(r.status, 401, `${method} ${path} with "${wrong}"`)
    }
  }
  t.equal((await get(`${url}/p`)).cs.startsWith('freshgate; hit'), true, 'the refused purge purged nothing')
  t.equal(origin.count('/p'), 1)

  const ok = await get(`${admin.url}/metrics`, { headers: auth })
  t.equal(ok.status, 200)
  t.equal(sample(ok.body, 'freshgate_requests_total{cache="hit"}'), 1)
  t.equal((await get(`${admin.url}/metrics`, { headers: { authorization: 'bearer  s3cret' } })).status, 200, 'the scheme is case-insensitive')
  t.equal((await get(`${admin.url}/nope`, { headers: auth })).status, 404, 'unknown routes are 404 once authorized')
})

t.test('unknown routes are 404 and wrong methods 405 with Allow', async t => {
  const { origin, admin } = await setupAdmin(t, cacheable())
  const nope = await get(`${admin.url}/nope`)
  t.equal(nope.status, 404)
  t.match(JSON.parse(nope.body).error, /no such admin route: \/nope/)
  const postMetrics = await get(`${admin.url}/metrics`, { method: 'POST', body: '{}' })
  t.equal(postMetrics.status, 405)
  t.equal(postMetrics.headers.allow, 'GET, HEAD')
  const getPurge = await get(`${admin.url}/purge`)
  t.equal(getPurge.status, 405)
  t.equal(getPurge.headers.allow, 'POST')
  t.equal((await get(`${admin.url}/healthz`, { method: 'DELETE' })).status, 405)
  t.equal(origin.count(), 0)
})

t.test('startAdmin refuses the proxy port', async t => {
  const { fg, metrics, origin } = await setupAdmin(t, cacheable())
  const config = loadConfig({ flags: { origin: origin.url, port: 0, 'admin.port': fg.address.port } })
  await t.rejects(startAdmin(config, adminRuntimeOf(fg), metrics), { code: 'FG_CONFIG_INVALID', message: /admin\.port/ })
  t.equal((await get(`${fg.url}/still-a-proxy`)).status, 200)
  t.equal(origin.count('/still-a-proxy'), 1)
})
