// The tag index is bounded by the store: evicted, expired, deleted and replaced entries leave it.

import t from 'tap'
import { MemoryStore } from '../../src/cache/store.ts'
import { HttpCache, type VariantSet } from '../../src/cache/cache.ts'
import { buildStored, type EntryOptions } from '../../src/cache/entry.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'

const opts: EntryOptions = { heuristicFraction: 0.1, heuristicMaxAge: 86_400_000, setCookie: 'unless-public', stripFields: [], via: '1.1 freshgate' }
const now = Date.UTC(2026, 0, 1)

function entry (tags: string[], bytes = 1000) {
  return buildStored({
    status: 200,
    statusMessage: 'OK',
    headers: { 'cache-control': 'max-age=60', date: new Date(now).toUTCString() },
    body: Buffer.alloc(bytes),
    cc: parseCacheControl('max-age=60'),
    target: undefined,
    varyFields: [],
    varyKey: '',
    times: { requestTime: now, responseTime: now },
    age: undefined,
    tags
  }, opts)
}

t.test('when entries are evicted → their tags leave the index', async t => {
  const store = new MemoryStore<VariantSet>(64 * 1024, 64 * 1024)
  const cache = new HttpCache(store, { maxVariants: 4, keepStale: 0, staleIfErrorGrace: 0 })
  for (let i = 0; i < 1000; i++) await cache.put(`http://h/p${i}`, entry([`product-${i}`]), {}, now)
  t.ok(store.stats().evictions > 900, 'most entries were evicted')
  t.equal(cache.tagCount, store.stats().entries, 'one tag per stored entry, none for evicted ones')
})

t.test('when an entry is purged or replaced → its tags leave the index', async t => {
  const store = new MemoryStore<VariantSet>(1024 * 1024, 64 * 1024)
  const cache = new HttpCache(store, { maxVariants: 4, keepStale: 0, staleIfErrorGrace: 0 })
  await cache.put('http://h/a', entry(['a', 'shared']), {}, now)
  await cache.put('http://h/b', entry(['b', 'shared']), {}, now)
  t.equal(cache.tagCount, 3)
  await cache.purge('http://h/a', false, now)
  t.equal(cache.tagCount, 2, 'tag a is gone, shared remains for b')
  await cache.put('http://h/b', entry(['b2']), {}, now)
  t.equal(cache.tagCount, 1, 'the replaced response took its tags with it')
  t.equal(await cache.purgeTags(['b2'], false, now), 1)
  t.equal(cache.tagCount, 0)
})
