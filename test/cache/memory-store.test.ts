// The memory tier against the store contract, plus what only memory does: a byte bound with LRU
// eviction, synchronous gets, and a tag index that never outlives its entries.

import t from 'tap'
import { MemoryStore } from '../../src/store/memory-store.ts'
import { storeContract, record, write } from './contract.ts'

const make = (maxBytes = 1_000_000, maxEntryBytes = 100_000, maxVariants = 16, clock = { t: Date.now() }): { store: MemoryStore, clock: { t: number } } =>
  ({ store: new MemoryStore({ maxBytes, maxEntryBytes, maxVariants, clock: () => clock.t }), clock })

storeContract(t, 'MemoryStore', async () => make())

t.test('MemoryStore refuses unbounded or useless settings with a TypeError', async t => {
  const rows = [
    { name: 'when maxBytes is 0 → should throw', opts: { maxBytes: 0, maxEntryBytes: 1, maxVariants: 1 } },
    { name: 'when maxBytes is NaN → should throw', opts: { maxBytes: Number.NaN, maxEntryBytes: 1, maxVariants: 1 } },
    { name: 'when maxEntryBytes is 0 → should throw', opts: { maxBytes: 10, maxEntryBytes: 0, maxVariants: 1 } },
    { name: 'when maxVariants is 0 → should throw', opts: { maxBytes: 10, maxEntryBytes: 10, maxVariants: 0 } }
  ]
  for (const r of rows) t.throws(() => new MemoryStore({ ...r.opts, clock: Date.now }), TypeError, r.name)
})

t.test('when more is written than the byte bound → the least recently used keys should be evicted and counted', async t => {
  const { store, clock } = make(64 * 1024, 8 * 1024)
  const removed: string[] = []
  store.onRemove = (r, reason) => removed.push(`${r.key}:${reason}`)
  for (let i = 0; i < 40; i++) await write(store, record(`http://a/${i}`, { tags: [`t${i}`] }, clock.t), 'x'.repeat(4000))
  const s = store.stats()
  t.ok(s.bytes <= 64 * 1024, `bytes ${s.bytes} within the bound`)
  t.ok(s.evictions > 20, `evictions counted (${s.evictions})`)
  t.equal(s.entries, 40 - s.evictions, 'entries = written - evicted')
  t.same(await store.tagged('t0'), [], 'an evicted key leaves the tag index')
  t.same(await store.tagged('t39'), ['http://a/39'])
  t.ok(removed.includes('http://a/0:size'), 'eviction reported with reason size')
})

t.test('when a variant is read → get should answer synchronously with the same object', async t => {
  const { store, clock } = make()
  const r = record('http://a/x', {}, clock.t)
  await write(store, r, 'abc')
  const first = store.get('http://a/x')
  t.ok(Array.isArray(first), 'not a promise')
  t.equal(store.get('http://a/x')[0], first[0], 'same object, so prepared heads can be memoised on it')
})

t.test('when a known-length body is written → it should be stored in one allocation', async t => {
  const { store, clock } = make()
  const r = record('http://a/x', { bodySize: 6 }, clock.t)
  await write(store, r, 'abcdef')
  t.equal(store.get('http://a/x')[0]!.body!.toString(), 'abcdef')
  const w = store.put(record('http://a/y', { bodySize: 2 }, clock.t), { replaces: [], maxVariants: 4 })!
  t.notOk(w.write(Buffer.from('abc')), 'more than announced stops the write')
  await t.rejects(w.end())
})

t.test('when Content-Length is wrong → the body should never be stored truncated or overlong', async t => {
  const rows = [
    { name: 'when fewer bytes arrive than announced → end should reject and nothing be stored', announced: 8, sent: 'abcdef' },
    { name: 'when more bytes arrive than announced → the write should stop and nothing be stored', announced: 4, sent: 'abcdef' },
    { name: 'when an empty body was announced and bytes arrive → nothing should be stored', announced: 0, sent: 'a' }
  ]
  for (const r of rows) {
    const { store, clock } = make()
    const key = `http://a/${r.announced}`
    const w = store.put(record(key, { bodySize: r.announced }, clock.t), { replaces: [], maxVariants: 4 })!
    const taken = w.write(Buffer.from(r.sent.slice(0, 3))) && w.write(Buffer.from(r.sent.slice(3)))
    if (!taken) w.abort()
    await t.rejects(w.end(), r.name)
    t.same(store.get(key), [], `${r.name} (get)`)
  }
})

t.test('when a chunked body arrives in one chunk → the store should keep its own copy, not the caller\'s chunk', async t => {
  const { store, clock } = make()
  const chunk = Buffer.from('abcdef')
  const w = store.put(record('http://a/x', {}, clock.t), { replaces: [], maxVariants: 4 })!
  t.ok(w.write(chunk))
  await w.end()
  // The proxy goes on using its chunk (it is written to the client too); the store must not share it.
  chunk.fill('z')
  t.equal(store.get('http://a/x')[0]!.body!.toString(), 'abcdef')
})

t.test('when bodies no one read are evicted → their memory should be released at once, not at the next full GC', async t => {
  const MiB = 1024 * 1024
  const { store, clock } = make(4 * MiB + 64 * 1024, 2 * MiB)
  const before = process.memoryUsage().arrayBuffers
  for (let i = 0; i < 24; i++) await write(store, record(`http://a/${i}`, { bodySize: MiB }, clock.t), Buffer.alloc(MiB, i))
  const grown = (process.memoryUsage().arrayBuffers - before) / MiB
  t.ok(store.stats().evictions >= 20, `evicted ${store.stats().evictions}`)
  // 4 bodies held, 24 written: without the release, the 20 evicted bodies stay until a full collection.
  t.ok(grown < 12, `array buffers grew by ${grown.toFixed(1)} MiB for 4 MiB held`)
})

t.test('when a body was handed out and is then evicted, deleted or purged → it should stay whole for whoever holds it', async t => {
  const MiB = 1024 * 1024
  const rows: Array<{ name: string, leave: (store: MemoryStore, key: string) => Promise<unknown>, read: (store: MemoryStore, key: string) => Buffer | undefined }> = [
    { name: 'read by get, then evicted', read: (s, k) => s.get(k)[0]!.body, leave: async s => { for (let i = 0; i < 8; i++) await write(s, record(`http://b/${i}`, { bodySize: MiB }), Buffer.alloc(MiB)) } },
    { name: 'read by body(), then deleted', read: (s, k) => s.body(k, s.get(k)[0]!.record.id), leave: async (s, k) => await s.delete(k) },
    { name: 'read by get, then the store closed', read: (s, k) => s.get(k)[0]!.body, leave: async s => await s.close() }
  ]
  for (const r of rows) {
    const { store, clock } = make(2 * MiB + 64 * 1024, 2 * MiB)
    const key = 'http://a/held'
    await write(store, record(key, { bodySize: MiB }, clock.t), Buffer.alloc(MiB, 7))
    const held = r.read(store, key)!
    await r.leave(store, key)
    t.same(store.get(key), [], `${r.name}: gone from the store`)
    t.equal(held.length, MiB, `${r.name}: the held body keeps its length`)
    t.ok(held.every(b => b === 7), `${r.name}: and its bytes`)
  }
})

t.test('when writes are cut short, overrun or aborted → the preallocated bodies should be released at once', async t => {
  const MiB = 1024 * 1024
  const overrun = Buffer.alloc(4 * MiB + 1)
  const rows: Array<{ name: string, finish: (w: NonNullable<ReturnType<MemoryStore['put']>>) => Promise<unknown> }> = [
    { name: 'an origin that announces 4 MiB and sends 1 byte', finish: async w => { w.write(Buffer.from('a')); await w.end().catch(() => undefined) } },
    { name: 'an origin that sends more than it announced', finish: async w => { w.write(overrun); await w.end().catch(() => undefined) } },
    { name: 'an exchange aborted midway', finish: async w => { w.write(Buffer.from('a')); w.abort() } }
  ]
  for (const r of rows) {
    const { store, clock } = make(64 * MiB, 8 * MiB)
    const before = process.memoryUsage().arrayBuffers
    // 8 × 4 MiB stays below the 64 MiB of external memory at which V8 would collect on its own.
    for (let i = 0; i < 8; i++) await r.finish(store.put(record(`http://a/${i}`, { bodySize: 4 * MiB }, clock.t), { replaces: [], maxVariants: 4 })!)
    const grown = (process.memoryUsage().arrayBuffers - before) / MiB
    t.ok(grown < 12, `${r.name}: array buffers grew by ${grown.toFixed(1)} MiB after 8 failed 4 MiB writes`)
    t.equal(store.stats().entries, 0, `${r.name}: nothing stored`)
  }
})
