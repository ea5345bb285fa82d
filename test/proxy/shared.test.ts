// Two proxies sharing one real redis-server (store.shared): what one stores is a hit on the other,
// purges reach both, a restarted proxy keeps the shared entries, and a Redis outage fails nothing.

import t from 'tap'
import { Origin, FakeClock, startFreshgate, get as plainGet, type Proxy, type Got } from './harness.ts'
import { haveRedis, startRedis } from '../redis.ts'
import { startAdmin, adminRuntimeOf } from '../../src/admin/server.ts'
import { createMetrics } from '../../src/admin/metrics.ts'

/** Every request names one host, as behind a load balancer: the proxies' own ports differ, the keys must not. */
async function get (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Got> {
  return await plainGet(url, { ...opts, headers: { host: 'shared.test', ...opts.headers } })
}

if (!haveRedis() && process.env.CI !== 'true') {
  t.pass('skipped: redis-server is not installed (.ci/run installs it)')
} else {
  t.test('two proxies on one Redis', async t => {
    const redis = await startRedis(t)
    const clock = new FakeClock()
    const origin = await new Origin((req, res) => {
      if (req.url === '/etag') {
        // Short-lived with a validator: a revalidation answers 304 with a fresh max-age.
        if (req.headers['if-none-match'] === '"e1"') { res.writeHead(304, { etag: '"e1"', 'cache-control': 'max-age=600' }); return res.end() }
        res.writeHead(200, { etag: '"e1"', 'cache-control': 'max-age=1' })
        return res.end('validated')
      }
      const tag = req.url!.startsWith('/tagged/') ? { 'surrogate-key': 'red' } : {}
      const vary = req.url === '/lang' ? { vary: 'accept-language', 'content-language': String(req.headers['accept-language']) } : {}
      res.writeHead(200, { 'cache-control': 'max-age=600', ...tag, ...vary })
      res.end(`body of ${req.url} (${String(req.headers['accept-language'] ?? '')})`)
    }, clock).start()
    t.teardown(() => origin.close())
    const start = async (): Promise<Proxy> => {
      const p = await startFreshgate(origin.url, { 'store.shared': redis.url, 'store.prefix': `t${redis.port}:`, 'collapse.waitTimeout': '2s', 'purge.method': true }, clock)
      t.teardown(() => p.fg.close())
      t.ok(await p.fg.shared!.ready(5000), 'the shared tier answers')
      t.ok(await p.fg.shared!.subscribed(5000), 'subscribed to invalidations')
      return p
    }
    const a = await start()
    const b = await start()

    await t.test('a response stored by one is a hit on the other', async t => {
      t.equal((await get(`${a.url}/one`)).body, 'body of /one ()')
      const r = await get(`${b.url}/one`)
      t.equal(r.body, 'body of /one ()')
      t.match(r.cs, /hit/, `served from the shared tier: ${r.cs}`)
      t.equal(origin.count('/one'), 1, 'the origin saw one request')
    })

    await t.test('a variant stored by one is found by the other even when its L1 holds another variant', async t => {
      await get(`${a.url}/lang`, { headers: { 'accept-language': 'en' } })
      await get(`${b.url}/lang`, { headers: { 'accept-language': 'fr' } })
      const en = await get(`${b.url}/lang`, { headers: { 'accept-language': 'en' } })
      t.equal(en.body, 'body of /lang (en)')
      t.equal(origin.count('/lang'), 2, 'one fetch per variant across both proxies')
    })

    const settle = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 150)) }

    await t.test('a PURGE on one reaches the other', async t => {
      await get(`${a.url}/p`)
      await get(`${b.url}/p`)
      t.equal(origin.count('/p'), 1)
      const purged = await get(`${a.url}/p`, { method: 'PURGE' })
      t.equal(purged.status, 200)
      await settle()
      t.equal((await get(`${b.url}/p`)).body, 'body of /p ()')
      t.equal(origin.count('/p'), 2, 'the other proxy fetched again')
    })

    const admin = await startAdmin(a.fg.handler.config, adminRuntimeOf(a.fg), createMetrics(() => a.fg.store?.stats(), 1, { tier: 'shared', source: () => a.fg.shared }))
    t.teardown(() => admin.close())
    const post = async (body: unknown): Promise<number> => {
      const r = await plainGet(`${admin.url}/purge`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
      return (JSON.parse(r.body) as { purged: number }).purged
    }

    await t.test('purges by URL, prefix and tag on one reach the other', async t => {
      // The tagged one is stored by B: A's tag purge finds it through the tag set in Redis.
      for (const path of ['/u', '/pre/1', '/pre/2', '/tagged/1']) {
        const [first, second] = path === '/tagged/1' ? [b, a] : [a, b]
        await get(`${first.url}${path}`)
        t.match((await get(`${second.url}${path}`)).cs, /hit/, `${path} shared`)
      }
      t.equal(await post({ urls: ['http://shared.test/u'] }), 1)
      t.equal(await post({ prefix: 'http://shared.test/pre/' }), 2)
      t.equal(await post({ tags: ['red'] }), 1)
      await settle()
      for (const path of ['/u', '/pre/1', '/pre/2', '/tagged/1']) {
        t.notMatch((await get(`${b.url}${path}`)).cs, /hit/, `${path} purged on the other proxy`)
        t.match((await get(`${a.url}${path}`)).cs, /hit/, `${path} then shared again`)
        t.equal(origin.count(path), 2, `${path} fetched again once`)
      }
    })

    await t.test('purges by bare path and by path prefix (any host) on one reach the other', async t => {
      for (const path of ['/bare', '/pp/1', '/pp/2']) {
        await get(`${a.url}${path}`)
        t.match((await get(`${b.url}${path}`)).cs, /hit/, `${path} shared`)
      }
      t.equal(await post({ urls: ['/bare'] }), 1)
      t.equal(await post({ prefix: '/pp/' }), 2)
      await settle()
      for (const path of ['/bare', '/pp/1', '/pp/2']) {
        t.notMatch((await get(`${b.url}${path}`)).cs, /hit/, `${path} purged on the other proxy`)
        t.equal(origin.count(path), 2, `${path} fetched again once`)
      }
    })

    await t.test('a 304 fold on one updates the shared record: the other serves it fresh', async t => {
      await get(`${a.url}/etag`)
      clock.advance(5)
      const folded = await get(`${a.url}/etag`)
      t.equal(folded.body, 'validated')
      t.equal(origin.seen.filter(s => s.url === '/etag' && s.headers['if-none-match'] === '"e1"').length, 1, 'A revalidated once')
      const fromB = await get(`${b.url}/etag`)
      t.match(fromB.cs, /hit/, `B read the freshened record: ${fromB.cs}`)
      t.equal(origin.count('/etag'), 2, 'B did not revalidate again')
    })

    await t.test('a soft purge on one makes the other revalidate', async t => {
      await get(`${b.url}/etag`)
      t.equal(await post({ urls: ['http://shared.test/etag'], soft: true }), 1)
      await settle()
      const r = await get(`${b.url}/etag`)
      t.equal(r.body, 'validated')
      t.equal(origin.seen.filter(s => s.url === '/etag' && s.headers['if-none-match'] === '"e1"').length, 2, 'B revalidated the soft-purged entry')
    })

    await t.test('/readyz reports the tier, and metrics count its lookups with the tier label', async t => {
      const ready = JSON.parse((await plainGet(`${admin.url}/readyz`)).body) as { status: string, shared: string }
      t.same(ready, { status: 'ready', shared: 'ready' })
      const text = (await plainGet(`${admin.url}/metrics`)).body
      t.match(text, /freshgate_shared_lookups_total\{tier="shared",result="miss"\} [1-9]/, 'L1 misses looked in L2')
      t.match(text, /freshgate_shared_up\{tier="shared"\} 1/)
      t.match(text, /freshgate_cache_entries\{tier="shared"\} [1-9]/)
    })

    await t.test('a restarted proxy keeps the shared entries, even one stored just before it stopped', async t => {
      const c = await start()
      await get(`${c.url}/kept`)
      await c.fg.close()
      const d = await start()
      t.match((await get(`${d.url}/kept`)).cs, /hit/)
      t.equal(origin.count('/kept'), 1)
    })

    await t.test('a burst of 40 split across both proxies reaches the origin at most twice', async t => {
      const slow = new Origin((_req, res) => {
        setTimeout(() => {
          res.writeHead(200, { 'cache-control': 'max-age=600' })
          res.end('slow')
        }, 200)
      }, clock)
      await slow.start()
      t.teardown(() => slow.close())
      const pa = await startFreshgate(slow.url, { 'store.shared': redis.url, 'store.prefix': `s${redis.port}:`, 'collapse.waitTimeout': '3s' }, clock)
      const pb = await startFreshgate(slow.url, { 'store.shared': redis.url, 'store.prefix': `s${redis.port}:`, 'collapse.waitTimeout': '3s' }, clock)
      t.teardown(async () => { await pa.fg.close(); await pb.fg.close() })
      await Promise.all([pa.fg.shared!.ready(5000), pb.fg.shared!.ready(5000)])
      const all = await Promise.all(Array.from({ length: 40 }, async (_, i) => await get(`${i % 2 === 0 ? pa.url : pb.url}/burst`)))
      t.ok(all.every(r => r.status === 200 && r.body === 'slow'), 'every request answered')
      t.ok(slow.count('/burst') <= 2, `origin saw ${slow.count('/burst')} requests`)
      // Each proxy collapses its own half; the Redis fill lock makes the second wait for the first.
      t.equal(slow.count('/burst'), 1, 'one replica fetched, the other waited on its lock')
    })

    await t.test('with Redis stalled (SIGSTOP) requests wait at most about store.commandTimeout per command, and none fails', async t => {
      process.kill(redis.pid, 'SIGSTOP')
      try {
        for (let i = 0; i < 10; i++) {
          const started = Date.now()
          const r = await get(`${a.url}/stalled/${i}`)
          t.equal(r.status, 200)
          t.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms`)
        }
      } finally {
        process.kill(redis.pid, 'SIGCONT')
      }
      t.ok(a.fg.shared!.counters().errors > 0, 'the timeouts were counted as errors')
      t.ok(await a.fg.shared!.ready(5000))
    })

    await t.test('with Redis killed mid-traffic no request fails, and once it is back the proxies share again', async t => {
      const statuses: number[] = []
      const run = async (): Promise<void> => {
        for (let i = 0; i < 200; i++) {
          const p = i % 2 === 0 ? a : b
          const r = await get(`${p.url}/during/${i % 10}`)
          statuses.push(r.status)
          if (i === 50) await redis.kill()
        }
      }
      const started = Date.now()
      await run()
      t.equal(statuses.length, 200)
      t.ok(statuses.every(s => s === 200), 'every request answered 200 while Redis was down')
      t.ok(Date.now() - started < 30_000, 'bounded in time')
      t.equal(a.fg.shared!.state(), 'down', 'the tier reports down')
      const down = await plainGet(`${admin.url}/readyz`)
      t.equal(down.status, 200, 'still ready: the origin is what matters')
      t.match(down.body, /"shared": "down"/)
      await redis.restart()
      t.ok(await a.fg.shared!.ready(10_000), 'a reconnected')
      t.ok(await b.fg.shared!.ready(10_000), 'b reconnected')
      await get(`${a.url}/after`)
      t.match((await get(`${b.url}/after`)).cs, /hit/, 'shared again')
      t.equal(origin.count('/after'), 1)
    })
  })
}
