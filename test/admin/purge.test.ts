// Purges over real sockets: POST /purge on the admin listener by URL, path or URL prefix and tag,
// soft purges that force revalidation, refused bodies, and PURGE <url> on the proxy port.

import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setup, get, raw, type Proxy } from '../proxy/harness.ts'
import { post } from './fixture.ts'
import { createMetrics } from '../../src/admin/metrics.ts'
import { startAdmin, adminRuntimeOf, type Admin } from '../../src/admin/server.ts'

/** Starts the admin listener for a proxy from the harness (no metrics observer needed here). */
async function withAdmin (t: { teardown: (fn: () => unknown) => void }, proxy: Proxy): Promise<Admin> {
  const metrics = createMetrics(() => proxy.fg.store?.stats(), proxy.fg.handler.config.cache.maxSize)
  const admin = await startAdmin(proxy.fg.handler.config, adminRuntimeOf(proxy.fg), metrics)
  t.teardown(() => admin.close())
  return admin
}

/** An origin that stores everything for a minute, with an ETag per path, answering 304 to a match. */
function cacheable (extra: (req: IncomingMessage) => Record<string, string> = () => ({})) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const etag = `"${req.url}"`
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'max-age=60' })
      res.end()
      return
    }
    res.writeHead(200, { 'cache-control': 'max-age=60', etag, ...extra(req) })
    res.end(`body of ${req.url}`)
  }
}

const hit = (cs: string): boolean => cs.startsWith('freshgate; hit')

t.test('purge by URLs removes every variant of those URLs only', async t => {
  const { origin, proxy } = await setup(t, cacheable())
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/a`)
  await get(`${proxy.url}/b`)
  await get(`${proxy.url}/a?x=1`)

  const r = await post(`${admin.url}/purge`, { urls: [`${proxy.url}/a`, `${proxy.url}/nothing-here`] })
  t.equal(r.status, 200)
  t.same(JSON.parse(r.body), { purged: 1, soft: false })

  const a = await get(`${proxy.url}/a`)
  t.equal(a.cs, 'freshgate; fwd=uri-miss; stored', 'the purged URL is fetched again')
  t.equal(a.body, 'body of /a')
  t.equal(origin.count('/a'), 2)
  t.ok(hit((await get(`${proxy.url}/b`)).cs), 'another path is still stored')
  t.ok(hit((await get(`${proxy.url}/a?x=1`)).cs), 'another query is another URL')
  t.equal(origin.count('/b'), 1)
  t.equal(origin.count('/a?x=1'), 1)
})

t.test('a bare path in "urls" purges that exact path and query on every host (issue 12 snag 10)', async t => {
  const { origin, proxy } = await setup(t, cacheable())
  const admin = await withAdmin(t, proxy)
  const other = { headers: { host: 'other.example' } }
  await get(`${proxy.url}/a`)
  await get(`${proxy.url}/a`, other)
  await get(`${proxy.url}/a?x=1`)
  await get(`${proxy.url}/ab`)
  t.equal(origin.count(), 4)

  const r = await post(`${admin.url}/purge`, { urls: ['/a'] })
  t.equal(r.status, 200)
  t.same(JSON.parse(r.body), { purged: 2, soft: false }, 'the path on both hosts, nothing else')
  t.equal((await get(`${proxy.url}/a`)).cs, 'freshgate; fwd=uri-miss; stored', 'this host fetches it again')
  t.equal((await get(`${proxy.url}/a`, other)).cs, 'freshgate; fwd=uri-miss; stored', 'the other host too')
  t.ok(hit((await get(`${proxy.url}/a?x=1`)).cs), 'another query is another URL')
  t.ok(hit((await get(`${proxy.url}/ab`)).cs), 'a path is not a prefix')
  t.equal(origin.count(), 6)

  const withQuery = await post(`${admin.url}/purge`, { urls: ['/a?x=1', `${proxy.url}/ab`] })
  t.same(JSON.parse(withQuery.body), { purged: 2, soft: false }, 'paths with a query and absolute URLs mix')
  t.equal((await get(`${proxy.url}/a?x=1`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal(origin.count('/a?x=1'), 2)
})

t.test('a URL names the entry its route keys: sorted or ignored query parameters', async t => {
  const { origin, proxy } = await setup(t, cacheable(), {
    routes: [{ prefix: '/sorted/', cache: { sortQuery: true } }, { prefix: '/noquery/', cache: { ignoreQuery: true } }]
  })
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/sorted/x?b=2&a=1`)
  await get(`${proxy.url}/noquery/y?utm=1`)
  t.equal(origin.count(), 2)

  const entry = await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${proxy.url}/sorted/x?b=2&a=1`)}`)
  t.equal(entry.status, 200)
  t.equal(JSON.parse(entry.body).key, `${proxy.url}/sorted/x?a=1&b=2`)
  t.same(JSON.parse((await post(`${admin.url}/purge`, { urls: [`${proxy.url}/sorted/x?a=1&b=2`, `${proxy.url}/noquery/y?utm=2`] })).body), { purged: 2, soft: false })
  t.equal((await get(`${proxy.url}/sorted/x?b=2&a=1`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal((await get(`${proxy.url}/noquery/y?utm=1`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal(origin.count(), 4)
})

t.test('purge by path prefix matches on any host; an absolute URL prefix on its host only', async t => {
  const { origin, proxy } = await setup(t, cacheable())
  const admin = await withAdmin(t, proxy)
  for (const p of ['/api/1', '/api/2', '/apix', '/static/x']) await get(`${proxy.url}${p}`)
  await get(`${proxy.url}/api/1`, { headers: { host: 'other.example' } })
  t.equal(origin.count(), 5)

  const byPath = await post(`${admin.url}/purge`, { prefix: '/api/' })
  t.same(JSON.parse(byPath.body), { purged: 3, soft: false }, 'both hosts\' /api/ entries')
  t.equal((await get(`${proxy.url}/api/1`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal((await get(`${proxy.url}/api/1`, { headers: { host: 'other.example' } })).cs, 'freshgate; fwd=uri-miss; stored')
  t.ok(hit((await get(`${proxy.url}/apix`)).cs), '/apix does not start with /api/')
  t.equal(origin.count('/api/1'), 4)
  t.equal(origin.count('/api/2'), 1)

  const otherHost = await post(`${admin.url}/purge`, { prefix: 'http://elsewhere.example/static/' })
  t.same(JSON.parse(otherHost.body), { purged: 0, soft: false })
  const byUrl = await post(`${admin.url}/purge`, { prefix: `${proxy.url}/static/` })
  t.same(JSON.parse(byUrl.body), { purged: 1, soft: false })
  t.equal((await get(`${proxy.url}/static/x`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal(origin.count('/static/x'), 2)
  t.ok(hit((await get(`${proxy.url}/api/1`, { headers: { host: 'other.example' } })).cs), 'a URL prefix leaves other hosts alone')
  t.equal(origin.count(), 8)
})

t.test('purge by tags from Surrogate-Key and Cache-Tag, which never reach clients', async t => {
  const { origin, proxy } = await setup(t, cacheable((req): Record<string, string> => {
    if (req.url === '/t1') return { 'surrogate-key': 'a b' }
    if (req.url === '/t2') return { 'cache-tag': 'x,y' }
    return {}
  }))
  const admin = await withAdmin(t, proxy)
  for (const p of ['/t1', '/t2', '/t3']) {
    const miss = await get(`${proxy.url}${p}`)
    const again = await get(`${proxy.url}${p}`)
    for (const r of [miss, again]) {
      t.equal(r.headers['surrogate-key'], undefined, `${p}: no Surrogate-Key to the client`)
      t.equal(r.headers['cache-tag'], undefined, `${p}: no Cache-Tag to the client`)
    }
    t.ok(hit(again.cs))
  }
  t.equal(origin.count(), 3)

  t.same(JSON.parse((await post(`${admin.url}/purge`, { tags: ['b'] })).body), { purged: 1, soft: false })
  t.equal((await get(`${proxy.url}/t1`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.ok(hit((await get(`${proxy.url}/t2`)).cs))
  t.same(JSON.parse((await post(`${admin.url}/purge`, { tags: ['y', 'unknown'] })).body), { purged: 1, soft: false })
  t.equal((await get(`${proxy.url}/t2`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.ok(hit((await get(`${proxy.url}/t3`)).cs), 'untagged responses stay')
  t.same(JSON.parse((await post(`${admin.url}/purge`, { tags: ['nobody'] })).body), { purged: 0, soft: false })
  t.equal(origin.count('/t1'), 2)
  t.equal(origin.count('/t2'), 2)
  t.equal(origin.count('/t3'), 1)
})

t.test('a soft purge keeps the entry but the next request revalidates it', async t => {
  const { origin, proxy } = await setup(t, cacheable())
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/s`)
  const r = await post(`${admin.url}/purge`, { urls: [`${proxy.url}/s`], soft: true })
  t.same(JSON.parse(r.body), { purged: 1, soft: true })

  const entry = await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${proxy.url}/s`)}`)
  t.equal(entry.status, 200, 'still stored')
  t.ok(JSON.parse(entry.body).variants[0].ttl <= 0, 'but stale')

  const next = await get(`${proxy.url}/s`)
  t.equal(next.status, 200)
  t.equal(next.body, 'body of /s', 'the stored body, validated')
  t.equal(next.cs, 'freshgate; fwd=stale; fwd-status=304; ttl=60')
  t.equal(origin.count('/s'), 2)
  t.equal(origin.seen[1]!.headers['if-none-match'], '"/s"', 'the origin was asked with If-None-Match')
  t.ok(hit((await get(`${proxy.url}/s`)).cs), 'fresh again after the 304')
  t.equal(origin.count('/s'), 2)
})

t.test('purge.soft is the default that "soft" overrides either way', async t => {
  const { origin, proxy } = await setup(t, cacheable(), { 'purge.soft': true })
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/d`)
  t.same(JSON.parse((await post(`${admin.url}/purge`, { prefix: '/d' })).body), { purged: 1, soft: true })
  t.equal((await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${proxy.url}/d`)}`)).status, 200)
  t.same(JSON.parse((await post(`${admin.url}/purge`, { prefix: '/d', soft: false })).body), { purged: 1, soft: false })
  t.equal((await get(`${admin.url}/cache/entry?url=${encodeURIComponent(`${proxy.url}/d`)}`)).status, 404)
  const again = await get(`${proxy.url}/d`)
  t.equal(again.cs, 'freshgate; fwd=uri-miss; stored')
  t.equal(origin.seen[1]!.headers['if-none-match'], undefined, 'a hard purge leaves nothing to revalidate')
  t.equal(origin.count('/d'), 2)
})

t.test('bad purge bodies are refused with 400 or 413 and purge nothing', async t => {
  const { origin, proxy } = await setup(t, cacheable())
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/keep`)
  const cases: Array<[unknown, RegExp]> = [
    ['{"urls": [', /not valid JSON/],
    ['', /not valid JSON/],
    [[`${proxy.url}/keep`], /JSON object/],
    ['"text"', /JSON object/],
    [{}, /exactly one of "urls", "prefix", "pattern" or "tags" is required, got none/],
    [{ urls: [`${proxy.url}/keep`], tags: ['a'] }, /got urls and tags/],
    [{ urls: [] }, /"urls" must be a non-empty array/],
    [{ urls: `${proxy.url}/keep` }, /"urls" must be a non-empty array/],
    [{ urls: [`${proxy.url}/keep`, 'keep'] }, /"urls"\[1\]: "keep" is neither an absolute http\(s\) URL nor a path starting with "\/"/],
    [{ urls: ['//evil.example/keep'] }, /"urls"\[0\]/],
    [{ urls: ['ftp://h/keep'] }, /"urls"\[0\]/],
    [{ prefix: 'keep' }, /"prefix" must be a path starting with "\/"/],
    [{ prefix: '' }, /"prefix"/],
    [{ tags: [] }, /"tags" must be a non-empty array of non-empty strings/],
    [{ tags: ['a', 1] }, /"tags"/],
    [{ tags: [''] }, /"tags"/],
    [{ tags: ['a'], soft: 'yes' }, /"soft" must be true or false/],
    [{ url: `${proxy.url}/keep` }, /unknown field "url"/]
  ]
  for (const [body, message] of cases) {
    const r = await post(`${admin.url}/purge`, body)
    t.equal(r.status, 400, `400 for ${JSON.stringify(body)}`)
    t.match(JSON.parse(r.body).error, message)
  }
  const huge = await post(`${admin.url}/purge`, JSON.stringify({ tags: ['x'.repeat(1024 * 1024)] }))
  t.equal(huge.status, 413)
  t.match(JSON.parse(huge.body).error, /larger than 1048576 bytes/)
  // Without Content-Length the body is counted as it arrives.
  const big = 'x'.repeat(1024 * 1024 + 1)
  const chunked = await raw(admin.url, `POST /purge HTTP/1.1\r\nhost: ${new URL(admin.url).host}\r\ntransfer-encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`, /\}\n$/)
  t.match(chunked, /^HTTP\/1\.1 413 /)
  t.match(chunked, /larger than 1048576 bytes/)

  t.ok(hit((await get(`${proxy.url}/keep`)).cs), 'still stored')
  t.equal(origin.count(), 1)
})

t.test('PURGE on the proxy port is refused with 405 unless enabled', async t => {
  const { origin, proxy } = await setup(t, cacheable())
  await get(`${proxy.url}/p`)
  const r = await get(`${proxy.url}/p`, { method: 'PURGE' })
  t.equal(r.status, 405)
  t.ok(hit((await get(`${proxy.url}/p`)).cs), 'still stored')
  t.same(origin.seen.map(s => s.method), ['GET'], 'PURGE never reaches the origin')
})

t.test('PURGE is refused with 405 when enabled but the client address is not allowed', async t => {
  const { origin, proxy } = await setup(t, cacheable(), { 'purge.method': true, 'purge.allow': ['10.0.0.0/8'] })
  await get(`${proxy.url}/p`)
  const r = await get(`${proxy.url}/p`, { method: 'PURGE' })
  t.equal(r.status, 405)
  t.ok(hit((await get(`${proxy.url}/p`)).cs), 'still stored')
  t.same(origin.seen.map(s => s.method), ['GET'])
})

t.test('PURGE from an allowed address removes the entry, and is 404 when nothing is stored', async t => {
  const { origin, proxy } = await setup(t, cacheable(), { 'purge.method': true })
  await get(`${proxy.url}/p`)
  const r = await get(`${proxy.url}/p`, { method: 'PURGE' })
  t.equal(r.status, 200)
  t.match(JSON.parse(r.body), { purged: 1 })
  const after = await get(`${proxy.url}/p`)
  t.equal(after.cs, 'freshgate; fwd=uri-miss; stored', 'the entry is gone')
  t.equal(origin.count('/p'), 2)

  const none = await get(`${proxy.url}/never-stored`, { method: 'PURGE' })
  t.equal(none.status, 404)
  t.match(JSON.parse(none.body), { purged: 0 })
  t.same(origin.seen.map(s => s.method), ['GET', 'GET'], 'PURGE never reaches the origin')
})

t.test('a purge a browser sends from a page of another origin is refused (cross-site request forgery), the admin\'s own page is not', async t => {
  const { proxy } = await setup(t, cacheable())
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/csrf`)
  const evil = await post(`${admin.url}/purge`, { urls: ['/csrf'] }, { origin: 'http://evil.example' })
  t.equal(evil.status, 403)
  t.equal(JSON.parse(evil.body).code, 'FG_ADMIN_CROSS_SITE')
  const fetchMeta = await post(`${admin.url}/purge`, { urls: ['/csrf'] }, { 'sec-fetch-site': 'cross-site' })
  t.equal(fetchMeta.status, 403, 'Sec-Fetch-Site: cross-site is refused too')
  t.match((await get(`${proxy.url}/csrf`)).cs, /^freshgate; hit/, 'nothing was purged')
  const own = await post(`${admin.url}/purge`, { urls: ['/csrf'] }, { origin: admin.url })
  t.equal(own.status, 200, 'the status page (same origin) may purge')
  t.equal(JSON.parse(own.body).purged, 1)
  const curl = await post(`${admin.url}/purge`, { urls: ['/csrf'] })
  t.equal(curl.status, 200, 'a client that sends no Origin (curl) is unaffected')
})
