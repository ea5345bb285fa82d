// The tag index is kept by the store and bounded by it: evicted, deleted and replaced variants
// leave it, and variants dropped on write never enter it; purges by tag go through it.

import t from 'tap'
import { entryOptions } from './fixtures.ts'
import { MemoryStore } from '../../src/store/memory-store.ts'
import { HttpCache } from '../../src/cache/cache.ts'
import { buildRecord } from '../../src/cache/entry.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'

const opts = entryOptions({ keepStale: 0 })
const now = Date.UTC(2026, 0, 1)

function newCache (maxBytes: number, maxEntryBytes: number, clock = { t: now }): { cache: HttpCache, store: MemoryStore, clock: { t: number } } {
  const store = new MemoryStore({ maxBytes, maxEntryBytes, maxVariants: 4, clock: () => clock.t })
  return { cache: new HttpCache(store, { maxVariants: 4, maxPurgeKeys: 10_000 }), store, clock }
}

/** Stores a 1000-byte, 60-second response for `key` carrying `tags`. */
async function put (cache: HttpCache, key: string, tags: string[], bytes = 1000): Promise<void> {
  const record = buildRecord({
    key,
    status: 200,
    statusMessage: 'OK',
    headers: { 'cache-control': 'max-age=60', date: new Date(now).toUTCString() },
    bodySize: bytes,
    cc: parseCacheControl('max-age=60'),
    target: undefined,
    varyFields: [],
    varyKey: '',
    times: { requestTime: now, responseTime: now },
    age: undefined,
    tags
  }, opts)
  const w = cache.put(record, {}, await cache.variants(key))
  if (w === undefined) throw new Error('refused')
  w.write(Buffer.alloc(bytes))
  await w.end()
}

t.test('when entries are evicted → their tags leave the index', async t => {
  const { cache, store } = newCache(64 * 1024, 64 * 1024)
  for (let i = 0; i < 1000; i++) await put(cache, `http://h/p${i}`, [`product-${i}`])
  t.ok(store.stats().evictions > 900, 'most entries were evicted')
  let indexed = 0
  for (let i = 0; i < 1000; i++) {
    const keys = await store.tagged(`product-${i}`)
    if (keys.length > 0) indexed++
    if (keys.length > 0 && (await cache.variants(`http://h/p${i}`)).length === 0) t.fail(`product-${i} indexed but not stored`)
  }
  t.equal(indexed, store.stats().entries, 'one tag per stored entry, none for evicted ones')
  t.same(await store.tagged('product-0'), [], 'the first, evicted, is gone')
  t.same(await store.tagged('product-999'), ['http://h/p999'], 'the last is indexed')
})

t.test('when an entry is already past the time policy needs it → it is not stored, and its tags not indexed', async t => {
  const { cache, store } = newCache(1024 * 1024, 64 * 1024, { t: now + 10 * 60_000 })
  await put(cache, 'http://h/a', ['a'])
  t.same(await cache.variants('http://h/a'), [], 'past keepUntil, the variant is dropped')
  t.same(await store.tagged('a'), [], 'and its tag never indexed')
})

t.test('when an entry is purged or replaced → its tags leave the index', async t => {
  const { cache, store } = newCache(1024 * 1024, 64 * 1024)
  await put(cache, 'http://h/a', ['a', 'shared'])
  await put(cache, 'http://h/b', ['b', 'shared'])
  t.same([await store.tagged('a'), await store.tagged('b'), (await store.tagged('shared')).sort()], [['http://h/a'], ['http://h/b'], ['http://h/a', 'http://h/b']])
  await cache.purge('http://h/a', false, now)
  t.same([await store.tagged('a'), await store.tagged('shared')], [[], ['http://h/b']], 'tag a is gone, shared remains for b')
  await put(cache, 'http://h/b', ['b2'])
  t.same([await store.tagged('b'), await store.tagged('shared'), await store.tagged('b2')], [[], [], ['http://h/b']], 'the replaced response took its tags with it')
  t.equal(await cache.purgeTags(['b2'], false, now), 1)
  t.same(await store.tagged('b2'), [])
  t.equal(store.stats().entries, 0)
})

t.test('when a URL is invalidated → its tags leave the index', async t => {
  const { cache, store } = newCache(1024 * 1024, 64 * 1024)
  await put(cache, 'http://h/a', ['a'])
  await cache.invalidate('http://h/a')
  t.same(await store.tagged('a'), [])
})

t.test('when entries are soft-purged by tag → they stay stored and tagged, stale', async t => {
  const { cache, store } = newCache(1024 * 1024, 64 * 1024)
  await put(cache, 'http://h/a', ['t'])
  await put(cache, 'http://h/b', ['t', 'u'])
  await put(cache, 'http://h/c', ['u'])
  t.equal(await cache.purgeTags(['t'], true, now + 5000), 2)
  t.same((await store.tagged('t')).sort(), ['http://h/a', 'http://h/b'])
  const lifetimes = []
  for (const k of ['http://h/a', 'http://h/b', 'http://h/c']) lifetimes.push((await cache.variants(k))[0]?.record.lifetime)
  t.same(lifetimes, [5000, 5000, 60_000], 'the tagged ones are stale from the purge on; the others untouched')
})
