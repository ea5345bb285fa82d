// The shared tier against the store contract on a real redis-server (and a real local Cluster),
// plus what only it does: handles sharing variants, surviving an outage, invalidations, locks.

import t from 'tap'
import { RedisStore } from '../../src/store/redis-store.ts'
import { parseSharedTarget } from '../../src/store/shared-url.ts'
import { storeContract, record, write } from './contract.ts'
import { ask, haveRedis, startRedis, startCluster, startSentinel, type RedisServer } from '../redis.ts'
import type { Test } from 'tap'

if (!haveRedis() && process.env.CI !== 'true') {
  t.plan(0, 'redis-server is not installed (.ci/run installs it)')
} else {
  run()
}

/** A handle on `url`, ready, closed at teardown. */
async function open (t: Test, url: string, clock = { t: Date.now() }, prefix = 'fgtest:', timeout = 100): Promise<RedisStore> {
  const store = new RedisStore({ target: parseSharedTarget(url), prefix, commandTimeout: timeout, maxEntryBytes: 1_000_000, clock: () => clock.t })
  t.teardown(() => store.close())
  t.ok(await store.ready(5000), 'connected')
  return store
}

function run (): void {
  let server: RedisServer
  let db = 0
  t.before(async () => { server = await startRedis(t) })

  // Each subject gets its own prefix, so tests never see each other's keys.
  storeContract(t, 'RedisStore', async () => {
    const clock = { t: Date.now() }
    const prefix = `c${++db}:`
    const make = (): RedisStore => new RedisStore({ target: parseSharedTarget(server.url), prefix, commandTimeout: 500, maxEntryBytes: 1_000_000, clock: () => clock.t })
    const store = make()
    await store.ready(5000)
    return { store, clock, peer: async () => { const p = make(); await p.ready(5000); return p } }
  })

  t.test('when two handles share one Redis → each should see the variants the other stored', async t => {
    const clock = { t: Date.now() }
    const a = await open(t, server.url, clock, 'share:')
    const b = await open(t, server.url, clock, 'share:')
    const en = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=en\n', tags: ['news'] }, clock.t)
    const de = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=de\n', tags: ['news'] }, clock.t)
    await write(a, en, 'english')
    await write(b, de, 'deutsch')
    const seen = await a.get('http://a/x')
    t.same(seen.map(v => v.record.id), [de.id, en.id], 'newest first, both kept')
    t.equal(seen[0]!.body?.toString(), 'deutsch', 'a get carries the bodies: one round trip per L2 hit')
    t.same(await b.tagged('news'), ['http://a/x'])
    t.equal(await b.update({ ...en, lifetime: 1 }), true, 'b folds a variant a stored')
    t.equal((await a.get('http://a/x')).find(v => v.record.id === en.id)?.record.lifetime, 1)
    t.equal(await a.remove('http://a/x', [de.id]), 1)
    t.same((await b.get('http://a/x')).map(v => v.record.id), [en.id])
  })

  t.test('when two handles write 40 variants of one key at once → none should be lost (the variant list is never rewritten from a stale copy)', async t => {
    const clock = { t: Date.now() }
    const a = await open(t, server.url, clock, 'race:')
    const b = await open(t, server.url, clock, 'race:')
    const records = Array.from({ length: 40 }, (_, i) => record('http://a/race', { varyFields: ['x'], varyKey: `x=${i}\n`, tags: ['race'] }, clock.t))
    await Promise.all(records.map(async (r, i) => { await write(i % 2 === 0 ? a : b, r, `body ${i}`, { maxVariants: 64 }) }))
    const got = await a.get('http://a/race')
    t.equal(got.length, 40, 'all 40 variants kept')
    t.same(got.map(v => v.record.id).sort(), records.map(r => r.id).sort())
    t.ok(got.every(v => v.body?.toString() === `body ${records.findIndex(r => r.id === v.record.id)}`), 'each with its own body')
    t.same(await b.tagged('race'), ['http://a/race'])
    t.equal(await b.delete('http://a/race'), 40)
    t.equal(await ask(server.port, 'SCARD race:tag:race'), ':0', 'and every tag link went with them (the set itself, not just the answer)')
    t.same(await a.tagged('race'), [])
  })

  t.test('when an entry is stored → its Redis TTL should be its keepUntil', async t => {
    const clock = { t: Date.now() }
    const store = await open(t, server.url, clock, 'ttl:')
    await write(store, record('http://a/ttl', { keepUntil: clock.t + 1500 }, clock.t), 'x')
    t.equal((await store.get('http://a/ttl')).length, 1)
    await new Promise(resolve => setTimeout(resolve, 1700))
    t.same(await store.get('http://a/ttl'), [], 'gone once keepUntil passed')
    t.same(await store.tagged('none'), [])
  })

  t.test('when purging by prefix → scanKeys should find the keys under it, escaping glob characters', async t => {
    const clock = { t: Date.now() }
    const store = await open(t, server.url, clock, 'scan:')
    for (const path of ['/a/1', '/a/2', '/b/1', '/a*[x]']) await write(store, record(`http://h${path}`, {}, clock.t), path)
    t.same((await store.scanKeys('http://h/a/', 100)).sort(), ['http://h/a/1', 'http://h/a/2'])
    t.same(await store.scanKeys('http://h/a*', 100), ['http://h/a*[x]'], '* in the prefix matches only itself')
    t.equal((await store.keys(3)).length, 3, 'bounded by the limit')
  })

  t.test('when a tagged variant expires in Redis → tagged should drop it from the set', async t => {
    const clock = { t: Date.now() }
    const store = await open(t, server.url, clock, 'tagttl:')
    await write(store, record('http://a/short', { tags: ['t'], keepUntil: clock.t + 300 }, clock.t), 'x')
    await write(store, record('http://a/long', { tags: ['t'] }, clock.t), 'y')
    await new Promise(resolve => setTimeout(resolve, 500))
    t.same(await store.tagged('t'), ['http://a/long'])
  })

  t.test('when one replica publishes an invalidation → the others should receive it and the sender should not', async t => {
    const a = await open(t, server.url, undefined, 'inv:')
    const b = await open(t, server.url, undefined, 'inv:')
    const other = await open(t, server.url, undefined, 'other:')
    const got: { a: unknown[], b: unknown[], other: unknown[] } = { a: [], b: [], other: [] }
    a.onInvalidation(m => got.a.push(m))
    b.onInvalidation(m => got.b.push(m))
    other.onInvalidation(m => got.other.push(m))
    t.ok(await b.subscribed(5000), 'b subscribed')
    t.ok(await other.subscribed(5000), 'other subscribed')
    t.ok(await a.publishInvalidation({ kind: 'tags', tags: ['red'], soft: true }))
    for (let i = 0; i < 100 && got.b.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
    t.same(got.b, [{ kind: 'tags', tags: ['red'], soft: true, from: a.id }], 'b got it, naming a')
    t.same(got.a, [], 'a ignores its own')
    t.same(got.other, [], 'a cache with another prefix is not told')
  })

  t.test('when replicas race for a fill lock → one should win and the others wait until it is released', async t => {
    const a = await open(t, server.url, undefined, 'lock:')
    const b = await open(t, server.url, undefined, 'lock:')
    t.equal(await a.tryLock('http://a/x', 5000), true, 'a takes it')
    t.equal(await b.tryLock('http://a/x', 5000), false, 'b does not')
    t.equal(await b.waitUnlock('http://a/x', 50), false, 'waiting is bounded by the timeout')
    const waiting = b.waitUnlock('http://a/x', 5000)
    await b.unlock('http://a/x')
    t.equal(await b.tryLock('http://a/y', 5000), true, 'another key is free')
    await a.unlock('http://a/x')
    t.equal(await waiting, true, 'released')
    t.equal(await b.tryLock('http://a/x', 30), true, 'then b can take it')
    await new Promise(resolve => setTimeout(resolve, 60))
    t.equal(await a.tryLock('http://a/x', 5000), true, 'a lock expires by itself (PX)')
  })

  t.test('when Redis is killed mid-use → calls should answer within the timeout without throwing, and work again after a restart', async t => {
    const own = await startRedis(t)
    const clock = { t: Date.now() }
    const store = await open(t, own.url, clock, 'outage:', 100)
    await write(store, record('http://a/x', { tags: ['t'] }, clock.t), 'kept')
    await own.kill()
    const started = Date.now()
    t.same(await store.get('http://a/x'), [], 'get answers no variants')
    t.equal(await store.body('http://a/x', 'id'), undefined, 'body answers undefined')
    t.same(await store.tagged('t'), [])
    t.same(await store.keys(10), [])
    t.equal(await store.delete('http://a/x'), 0)
    t.equal(await store.update(record('http://a/x', {}, clock.t)), false)
    t.equal(await store.tryLock('http://a/x', 1000), true, 'a lock is granted: nobody waits on a dead tier')
    t.equal(await store.waitUnlock('http://a/x', 1000), true)
    t.equal(await store.publishInvalidation({ kind: 'key', key: 'http://a/x', soft: false }), false)
    await t.rejects(write(store, record('http://a/y', {}, clock.t), 'y'), 'a write reports it was not stored')
    t.ok(Date.now() - started < 1000, `all of it answered quickly (${Date.now() - started} ms)`)
    // The failed commands may be seen before the socket's close event: give it a moment.
    for (let i = 0; i < 100 && store.state() !== 'down'; i++) await new Promise(resolve => setTimeout(resolve, 10))
    t.equal(store.state(), 'down', 'the state says down')
    t.ok(store.counters().errors > 0, 'errors counted')

    await own.restart()
    t.ok(await store.ready(10_000), 'reconnected')
    t.equal(store.state(), 'ready')
    await write(store, record('http://a/z', {}, clock.t), 'after')
    t.equal((await store.get('http://a/z'))[0]?.body?.toString(), 'after', 'works again')
    const c = store.counters()
    t.ok(c.hits >= 1 && c.misses >= 1 && c.latencyCount === c.hits + c.misses, 'hits, misses and latency counted')
  })

  t.test('when Redis does not answer in time (paused) → get should give up after the command timeout', async t => {
    const own = await startRedis(t)
    const store = await open(t, own.url, undefined, 'slow:', 100)
    process.kill(own.pid, 'SIGSTOP')
    t.teardown(() => { try { process.kill(own.pid, 'SIGCONT') } catch {} })
    const started = Date.now()
    t.same(await store.get('http://a/x'), [])
    const took = Date.now() - started
    t.ok(took >= 90 && took < 1500, `answered after the timeout, not hanging (${took} ms)`)
    process.kill(own.pid, 'SIGCONT')
  })

  t.test('through a real Sentinel', async t => {
    const primary = await startRedis(t)
    const sentinel = await startSentinel(t, primary)
    if (sentinel === undefined) return t.plan(0, 'this redis-server cannot run a Sentinel')
    storeContract(t, 'RedisStore via Sentinel', async () => {
      const clock = { t: Date.now() }
      const prefix = `s${++db}:`
      const make = (): RedisStore => new RedisStore({ target: parseSharedTarget(sentinel.url), prefix, commandTimeout: 500, maxEntryBytes: 1_000_000, clock: () => clock.t })
      const store = make()
      await store.ready(10_000)
      return { store, clock, peer: async () => { const p = make(); await p.ready(10_000); return p } }
    })
  })

  t.test('against a real local Redis Cluster', async t => {
    const cluster = await startCluster(t)
    if (cluster === undefined) return t.plan(0, 'this redis-server cannot run a local cluster')
    storeContract(t, 'RedisStore on a Cluster', async () => {
      const clock = { t: Date.now() }
      const prefix = `k${++db}:`
      const make = (): RedisStore => new RedisStore({ target: parseSharedTarget(cluster.url), prefix, commandTimeout: 1000, maxEntryBytes: 1_000_000, clock: () => clock.t })
      const store = make()
      await store.ready(10_000)
      return { store, clock, peer: async () => { const p = make(); await p.ready(10_000); return p } }
    })
  })
}
