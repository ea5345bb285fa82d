// Table tests for the byte-bounded memory store: bounds, LRU eviction, lifetimes.

import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { MemoryStore } from '../../src/cache/store.ts'

interface Box { v: string }
const box = (v: string): Box => ({ v })
const LONG = 60_000

t.test('MemoryStore constructor', async t => {
  const rows: Array<{ name: string, maxBytes: number, throws: boolean }> = [
    { name: 'when maxBytes is 0 → should refuse an unbounded-or-useless store with a TypeError', maxBytes: 0, throws: true },
    { name: 'when maxBytes is negative → should throw a TypeError', maxBytes: -1, throws: true },
    { name: 'when maxBytes is NaN → should throw a TypeError', maxBytes: Number.NaN, throws: true },
    { name: 'when maxBytes is positive → should construct', maxBytes: 1, throws: false }
  ]
  for (const r of rows) {
    if (r.throws) t.throws(() => new MemoryStore<Box>(r.maxBytes, 1), TypeError, r.name)
    else t.doesNotThrow(() => new MemoryStore<Box>(r.maxBytes, 1), r.name)
  }
})

t.test('MemoryStore behaviour', async t => {
  interface Row { name: string, run: () => unknown, want: unknown }
  const rows: Row[] = [
    {
      name: 'when a value is set → should get it back and count its bytes',
      run: () => { const s = new MemoryStore<Box>(100, 100); s.set('a', box('1'), { size: 40, ttl: LONG }); return [s.get('a')?.v, s.stats()] },
      want: ['1', { entries: 1, bytes: 40, maxBytes: 100, evictions: 0 }]
    },
    {
      name: 'when a key was never set → should be undefined',
      run: () => new MemoryStore<Box>(100, 100).get('nope'),
      want: undefined
    },
    {
      name: 'when a value is deleted → should be gone and not count as an eviction',
      run: () => { const s = new MemoryStore<Box>(100, 100); s.set('a', box('1'), { size: 40, ttl: LONG }); s.delete('a'); return [s.get('a'), s.stats().bytes, s.stats().evictions] },
      want: [undefined, 0, 0]
    },
    {
      name: 'when a key is overwritten → should hold the new value, count the new size once, and not count an eviction',
      run: () => { const s = new MemoryStore<Box>(100, 100); s.set('a', box('1'), { size: 40, ttl: LONG }); s.set('a', box('2'), { size: 30, ttl: LONG }); return [s.get('a')?.v, s.stats().bytes, s.stats().evictions] },
      want: ['2', 30, 0]
    },
    {
      name: 'when a size below 1 is given → should count it as 1 byte',
      run: () => { const s = new MemoryStore<Box>(100, 100); s.set('a', box('1'), { size: 0, ttl: LONG }); return s.stats().bytes },
      want: 1
    },
    {
      name: 'when the byte bound is exceeded → should evict the least recently used value',
      run: () => {
        const s = new MemoryStore<Box>(100, 100)
        s.set('a', box('a'), { size: 40, ttl: LONG })
        s.set('b', box('b'), { size: 40, ttl: LONG })
        s.get('a')
        s.set('c', box('c'), { size: 40, ttl: LONG })
        return [s.get('a')?.v, s.get('b')?.v, s.get('c')?.v, s.stats().bytes, s.stats().evictions]
      },
      want: ['a', undefined, 'c', 80, 1]
    },
    {
      name: 'when a value is larger than the per-entry bound → should not store it',
      run: () => { const s = new MemoryStore<Box>(100, 10); s.set('a', box('1'), { size: 11, ttl: LONG }); return [s.get('a'), s.stats().entries] },
      want: [undefined, 0]
    },
    {
      name: 'when an oversized value replaces a stored one → should not keep serving the old value',
      run: () => { const s = new MemoryStore<Box>(100, 10); s.set('a', box('old'), { size: 5, ttl: LONG }); s.set('a', box('new'), { size: 11, ttl: LONG }); return s.get('a') },
      want: undefined
    },
    {
      name: 'when the per-entry bound exceeds the total → should bound entries by the total',
      run: () => { const s = new MemoryStore<Box>(10, 1000); s.set('a', box('1'), { size: 11, ttl: LONG }); return s.get('a') },
      want: undefined
    },
    {
      name: 'when values are held → should list their keys',
      run: () => { const s = new MemoryStore<Box>(100, 100); s.set('a', box('1'), { size: 1, ttl: LONG }); s.set('b', box('2'), { size: 1, ttl: LONG }); return [...s.keys()].sort() },
      want: ['a', 'b']
    }
  ]
  for (const r of rows) t.same(r.run(), r.want, r.name)
})

t.test('when a value outlives its ttl → should be dropped', async t => {
  const s = new MemoryStore<Box>(100, 100)
  s.set('short', box('1'), { size: 1, ttl: 5 })
  s.set('long', box('2'), { size: 1, ttl: LONG })
  await sleep(30)
  t.equal(s.get('short'), undefined, 'when its ttl has passed → should be gone')
  t.equal(s.get('long')?.v, '2', 'when its ttl has not passed → should still be there')
})
