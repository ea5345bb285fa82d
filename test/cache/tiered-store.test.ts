// Memory in front of Redis and in front of disk, against the store contract, plus what only the
// tiers together do: synchronous L1 hits, promotion from L2, writes that survive an L2 outage.

import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryStore } from '../../src/store/memory-store.ts'
import { RedisStore } from '../../src/store/redis-store.ts'
import { DiskStore } from '../../src/store/disk-store.ts'
import { TieredStore } from '../../src/store/tiered-store.ts'
import { parseSharedTarget } from '../../src/store/shared-url.ts'
import { storeContract, record, write } from './contract.ts'
import { haveRedis, startRedis, type RedisServer } from '../redis.ts'

const memory = (clock: { t: number }, maxBytes = 1_000_000, maxEntryBytes = 100_000): MemoryStore =>
  new MemoryStore({ maxBytes, maxEntryBytes, maxVariants: 16, clock: () => clock.t })

let prefixes = 0

/** A memory + Redis pair on `url`; each call with a new prefix is a fresh, empty tier. */
async function redisTiered (url: string, clock: { t: number }, prefix: string, timeout = 500): Promise<TieredStore> {
  const l2 = new RedisStore({ target: parseSharedTarget(url), prefix, commandTimeout: timeout, maxEntryBytes: 1_000_000, clock: () => clock.t })
  await l2.ready(5000)
  return new TieredStore(memory(clock), l2, { maxVariants: 16 })
}

t.test('memory in front of disk', async t => {
  const dirs: string[] = []
  t.teardown(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })
  const disk = async (clock: { t: number }, maxEntryBytes = 1_000_000): Promise<DiskStore> => {
    const dir = mkdtempSync(join(tmpdir(), 'freshgate-tiered-'))
    dirs.push(dir)
    return await DiskStore.open({ dir, maxBytes: 10_000_000, maxEntryBytes, maxVariants: 16, clock: () => clock.t })
  }

  storeContract(t, 'TieredStore(memory, disk)', async () => {
    const clock = { t: Date.now() }
    return { store: new TieredStore(memory(clock), await disk(clock), { maxVariants: 16 }), clock }
  })

  t.test('when L1 misses and L2 holds the key → get should promote it with bodies, and the next get hit L1 synchronously', async t => {
    const clock = { t: Date.now() }
    const l2 = await disk(clock)
    t.teardown(() => l2.close())
    const en = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=en\n' }, clock.t)
    const de = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=de\n' }, clock.t)
    await write(l2, en, 'english')
    await write(l2, de, 'deutsch')
    const tiered = new TieredStore(memory(clock), l2, { maxVariants: 16 })
    const first = tiered.get('http://a/x')
    t.ok(first instanceof Promise, 'an L1 miss answers with a promise')
    const got = await first
    t.same(got.map(v => v.record.id), [de.id, en.id], 'order kept')
    t.same(got.map(v => v.body?.toString()), ['deutsch', 'english'], 'bodies promoted')
    const second = tiered.get('http://a/x')
    t.ok(Array.isArray(second), 'an L1 hit answers synchronously')
    t.equal((second as unknown[])[0], got[0], 'the same L1 objects')
  })

  t.test('when a body fits L2 but not L1 → it should be stored in L2 alone and served from there', async t => {
    const clock = { t: Date.now() }
    const tiered = new TieredStore(memory(clock, 1_000_000, 1000), await disk(clock), { maxVariants: 16 })
    t.teardown(() => tiered.close())
    const r = record('http://a/big', {}, clock.t)
    await write(tiered, r, 'b'.repeat(5000))
    t.same(tiered.l1.get('http://a/big'), [], 'not in L1')
    const got = await tiered.get('http://a/big')
    t.equal(got.length, 1)
    t.equal((got[0]!.body ?? await tiered.body('http://a/big', r.id))?.length, 5000)
  })
})

if (!haveRedis() && process.env.CI !== 'true') {
  t.test('memory in front of Redis', async t => t.plan(0, 'redis-server is not installed (.ci/run installs it)'))
} else {
  t.test('memory in front of Redis', async t => {
    let server: RedisServer
    t.before(async () => { server = await startRedis(t) })

    storeContract(t, 'TieredStore(memory, redis)', async () => {
      const clock = { t: Date.now() }
      return { store: await redisTiered(server.url, clock, `tc${++prefixes}:`), clock }
    })

    t.test('when replica A stores a response → replica B should find it in L2, and a purge on B should reach L2', async t => {
      const clock = { t: Date.now() }
      const prefix = `ab${++prefixes}:`
      const a = await redisTiered(server.url, clock, prefix)
      const b = await redisTiered(server.url, clock, prefix)
      t.teardown(() => Promise.all([a.close(), b.close()]))
      const r = record('http://a/x', { tags: ['red'] }, clock.t)
      await write(a, r, 'from a')
      const got = await b.get('http://a/x')
      t.equal(got[0]?.body?.toString(), 'from a', 'B hits in L2')
      t.same(await b.tagged('red'), ['http://a/x'])
      t.equal(await b.delete('http://a/x'), 1)
      t.same(await (a.l2 as RedisStore).get('http://a/x'), [], 'gone from L2')
      t.equal(a.l1.get('http://a/x').length, 1, 'A\'s L1 still holds it: the invalidation channel is what clears it')
    })

    t.test('when a replica purges and publishes → the others should drop the key from L1 and find the purged state in L2', async t => {
      const clock = { t: Date.now() }
      const prefix = `pub${++prefixes}:`
      const replicas = await Promise.all([0, 1, 2].map(async () => await redisTiered(server.url, clock, prefix)))
      t.teardown(() => Promise.all(replicas.map(r => r.close())))
      const [a, b, c] = replicas as [TieredStore, TieredStore, TieredStore]
      const heard: number[] = []
      for (const r of [b, c]) {
        const l2 = r.l2 as RedisStore
        l2.onInvalidation(msg => { r.dropLocal(msg).then(n => heard.push(n), () => heard.push(-1)) })
        t.ok(await l2.subscribed(5000))
      }
      await write(a, record('http://a/p/1', { tags: ['red'] }, clock.t), '1')
      await write(a, record('http://a/p/2', {}, clock.t), '2')
      await write(a, record('http://a/q/1', {}, clock.t), '3')
      for (const r of [b, c]) for (const k of ['http://a/p/1', 'http://a/p/2', 'http://a/q/1']) t.equal((await r.get(k)).length, 1, 'every replica holds every key in L1')
      const wait = async (n: number): Promise<void> => { for (let i = 0; i < 200 && heard.length < n; i++) await new Promise(resolve => setTimeout(resolve, 10)) }

      // by tag
      for (const k of await a.tagged('red')) await a.delete(k)
      await (a.l2 as RedisStore).publishInvalidation({ kind: 'tags', tags: ['red'], soft: false })
      await wait(2)
      t.same(heard, [1, 1], 'both others dropped one variant')
      t.same(b.l1.get('http://a/p/1'), [], 'gone from B\'s L1')
      t.same(await c.get('http://a/p/1'), [], 'and C finds nothing in L2 either')

      // by prefix
      await a.delete('http://a/p/2')
      await (a.l2 as RedisStore).publishInvalidation({ kind: 'prefix', prefix: 'http://a/p/', soft: false })
      await wait(4)
      t.same(b.l1.get('http://a/p/2'), [])
      t.equal(b.l1.get('http://a/q/1').length, 1, 'a key outside the prefix stays')

      // by key
      await a.delete('http://a/q/1')
      await (a.l2 as RedisStore).publishInvalidation({ kind: 'key', key: 'http://a/q/1', soft: true })
      await wait(6)
      t.same(c.l1.get('http://a/q/1'), [])
      t.same(await b.get('http://a/q/1'), [])
    })

    t.test('when another replica stored a different variant of a key L1 holds → refresh should merge it in', async t => {
      const clock = { t: Date.now() }
      const prefix = `vary${++prefixes}:`
      const a = await redisTiered(server.url, clock, prefix)
      const b = await redisTiered(server.url, clock, prefix)
      t.teardown(() => Promise.all([a.close(), b.close()]))
      const en = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=en\n' }, clock.t)
      const de = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=de\n' }, clock.t)
      await write(a, en, 'english')
      await write(b, de, 'deutsch')
      t.same((a.get('http://a/x') as Array<{ record: { id: string } }>).map(v => v.record.id), [en.id], 'an L1 hit answers from L1 alone')
      const merged = await a.refresh('http://a/x')
      t.same(merged.map(v => v.record.id).sort(), [en.id, de.id].sort(), 'refresh brings B\'s variant into A\'s L1')
      t.equal(a.l1.get('http://a/x').length, 2)
    })

    t.test('when L1 holds a newer response than L2 for a secondary key (an L2 write failed) → refresh should keep L1\'s', async t => {
      const clock = { t: Date.now() }
      const tiered = await redisTiered(server.url, clock, `newer${++prefixes}:`)
      t.teardown(() => tiered.close())
      const old = record('http://a/x', { responseTime: clock.t - 1000 }, clock.t)
      await write(tiered.l2, old, 'old')
      const fresh = record('http://a/x', {}, clock.t)
      await write(tiered.l1, fresh, 'new')
      const got = await tiered.refresh('http://a/x')
      t.same(got.map(v => v.record.id), [fresh.id], 'the older L2 copy does not replace it')
      t.equal(got[0]!.body?.toString(), 'new')
    })

    t.test('when Redis is down → writes should still land in L1, and reads answer from L1 or nothing, without throwing', async t => {
      const own = await startRedis(t)
      const clock = { t: Date.now() }
      const tiered = await redisTiered(own.url, clock, 'down:', 100)
      t.teardown(() => tiered.close())
      await own.kill()
      const r = record('http://a/x', {}, clock.t)
      await write(tiered, r, 'local')
      t.equal(tiered.l2WriteFailures, 1, 'the L2 failure is counted')
      t.equal((tiered.get('http://a/x') as unknown[]).length, 1, 'served from L1')
      t.same(await tiered.get('http://a/missing'), [], 'a miss is a miss')
      t.equal(await tiered.update({ ...r, lifetime: 1 }), true, 'L1 updated')
      t.same(await tiered.tagged('x'), [])
      t.equal(await tiered.delete('http://a/x'), 1)
    })
  })
}
