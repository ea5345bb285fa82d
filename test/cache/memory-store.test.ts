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
