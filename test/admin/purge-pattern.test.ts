// Purge by pattern over real sockets: POST /purge {"pattern": …} through the admin listener, a
// regular expression on the path of every stored URL, refused when invalid, too long or too slow.

import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setup, get, type Proxy } from '../proxy/harness.ts'
import { post } from './fixture.ts'
import { createMetrics } from '../../src/admin/metrics.ts'
import { startAdmin, adminRuntimeOf, type Admin } from '../../src/admin/server.ts'
import { matchWithDeadline, MAX_PATTERN_LENGTH } from '../../src/admin/purge.ts'

async function withAdmin (t: { teardown: (fn: () => unknown) => void }, proxy: Proxy): Promise<Admin> {
  const metrics = createMetrics(() => proxy.fg.store?.stats(), proxy.fg.handler.config.cache.maxSize)
  const admin = await startAdmin(proxy.fg.handler.config, adminRuntimeOf(proxy.fg), metrics)
  t.teardown(() => admin.close())
  return admin
}

function cacheable (req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'cache-control': 'max-age=60', etag: `"${req.url}"` })
  res.end(`body of ${req.url}`)
}

const hit = (cs: string): boolean => cs.startsWith('freshgate; hit')

t.test('a pattern purges every stored path it matches, on any host, and nothing else', async t => {
  const { origin, proxy } = await setup(t, cacheable)
  const admin = await withAdmin(t, proxy)
  const paths = ['/api/v1/items', '/api/v2/items/7', '/api/vx/items', '/api/v1/users', '/static/api/v1/items']
  for (const p of paths) await get(`${proxy.url}${p}`)
  await get(`${proxy.url}/api/v3/items?page=2`, { headers: { host: 'other.example' } })

  const r = await post(`${admin.url}/purge`, { pattern: '^/api/v[0-9]+/items' })
  t.equal(r.status, 200)
  t.same(JSON.parse(r.body), { purged: 3, soft: false })

  t.equal((await get(`${proxy.url}/api/v1/items`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal((await get(`${proxy.url}/api/v2/items/7`)).cs, 'freshgate; fwd=uri-miss; stored')
  t.equal((await get(`${proxy.url}/api/v3/items?page=2`, { headers: { host: 'other.example' } })).cs, 'freshgate; fwd=uri-miss; stored', 'the query is part of the path matched, on any host')
  for (const p of ['/api/vx/items', '/api/v1/users', '/static/api/v1/items']) t.ok(hit((await get(`${proxy.url}${p}`)).cs), `${p} is still stored`)
  t.equal(origin.count('/api/v1/items'), 2)
  t.equal(origin.count('/api/v1/users'), 1)
})

t.test('a soft pattern purge marks entries stale: they are revalidated', async t => {
  const { origin, proxy } = await setup(t, cacheable)
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/news/1`)
  t.same(JSON.parse((await post(`${admin.url}/purge`, { pattern: '^/news/', soft: true })).body), { purged: 1, soft: true })
  await get(`${proxy.url}/news/1`)
  t.equal(origin.seen[1]!.headers['if-none-match'], '"/news/1"', 'revalidated with the stored validator')
})

t.test('bad patterns are refused with 400 and purge nothing', async t => {
  const { origin, proxy } = await setup(t, cacheable)
  const admin = await withAdmin(t, proxy)
  await get(`${proxy.url}/keep`)
  const cases: Array<[unknown, RegExp]> = [
    [{ pattern: '' }, /"pattern" must be a non-empty regular expression/],
    [{ pattern: 5 }, /"pattern" must be a non-empty regular expression/],
    [{ pattern: '^/(unclosed' }, /"pattern" is not a valid regular expression/],
    [{ pattern: 'a'.repeat(MAX_PATTERN_LENGTH + 1) }, /at most 256 are accepted/],
    [{ pattern: '^/(a+)\\1$' }, /backreferences/],
    [{ pattern: '^/(?<x>a)\\k<x>' }, /backreferences/],
    [{ pattern: '^/', prefix: '/' }, /got prefix and pattern/]
  ]
  for (const [body, message] of cases) {
    const r = await post(`${admin.url}/purge`, body)
    t.equal(r.status, 400, `400 for ${JSON.stringify(body)}`)
    t.match(JSON.parse(r.body).error, message)
  }
  t.ok(hit((await get(`${proxy.url}/keep`)).cs), 'still stored')
  t.equal(origin.count(), 1)
})

t.test('a catastrophic pattern is stopped at the deadline; the proxy keeps serving', async t => {
  const { proxy } = await setup(t, cacheable)
  const admin = await withAdmin(t, proxy)
  const evil = '/' + 'a'.repeat(40) + '!'
  await get(`${proxy.url}${evil}`)
  const started = Date.now()
  const pending = post(`${admin.url}/purge`, { pattern: '^/(a+)+$' })
  // While the pattern runs, the proxy still answers from the cache.
  t.ok(hit((await get(`${proxy.url}${evil}`)).cs), 'served while the pattern runs')
  const r = await pending
  t.equal(r.status, 400)
  t.match(JSON.parse(r.body).error, /did not finish matching 1 stored URLs within 1000ms; nothing was purged/)
  t.ok(Date.now() - started < 5000, 'bounded in time')
  t.ok(hit((await get(`${proxy.url}${evil}`)).cs), 'nothing was purged')
})

t.test('matchWithDeadline', async t => {
  t.same(await matchWithDeadline('^/a', ['/a', '/b', '/ab'], 1000), [0, 2], 'when paths match → should give their indexes')
  t.same(await matchWithDeadline('^/a', [], 1000), [], 'when nothing is stored → should give none without a worker')
})
