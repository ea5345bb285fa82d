// The store contract suite (cache/contract.ts): every tier — memory, Redis/Valkey, disk — must
// pass it. A tier's test file calls `storeContract` with a factory for fresh, empty stores.

import type { Test } from 'tap'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import type { Store, StoredRecord } from '../../src/cache/contract.ts'

/** A fresh, empty tier plus the clock its records' times are read against; `peer` opens a second handle on the same tier, when it has one. */
export interface ContractSubject {
  store: Store
  clock: { t: number }
  peer?: () => Promise<Store>
}

let seq = 0

/** A record for tests: fresh for a minute, kept for an hour. */
export function record (key: string, over: Partial<StoredRecord> = {}, now = Date.now()): StoredRecord {
  return {
    id: `v${++seq}-${Math.random().toString(36).slice(2, 8)}`,
    key,
    status: 200,
    statusMessage: 'OK',
    headers: { 'content-type': 'text/plain', etag: '"a"', 'set-by': ['x', 'y'] },
    varyFields: [],
    varyKey: '',
    target: undefined,
    cc: parseCacheControl('max-age=60'),
    lifetime: 60_000,
    initialAge: 0,
    responseTime: now,
    keepUntil: now + 3_600_000,
    etag: '"a"',
    lastModified: undefined,
    date: undefined,
    tags: [],
    bodySize: -1,
    ...over
  }
}

/** Writes a variant whole; resolves when it is visible. */
export async function write (store: Store, r: StoredRecord, body: string | Buffer, opts: { replaces?: string[], maxVariants?: number } = {}): Promise<void> {
  const w = store.put(r, { replaces: opts.replaces ?? [], maxVariants: opts.maxVariants ?? 16 })
  if (w === undefined) throw new Error('store refused the variant')
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body)
  for (let i = 0; i < buf.length; i += 7) if (!w.write(buf.subarray(i, i + 7))) { w.abort(); throw new Error('store stopped the write') }
  await w.end()
}

async function bodyOf (store: Store, key: string, id: string): Promise<string | undefined> {
  const variants = await store.get(key)
  const v = variants.find(x => x.record.id === id)
  const b = v?.body ?? await store.body(key, id)
  return b?.toString()
}

/** Runs the contract against a tier. */
export function storeContract (t: Test, name: string, make: () => Promise<ContractSubject>): void {
  t.test(`${name} meets the store contract`, async t => {
    const fresh = async (): Promise<ContractSubject> => {
      const s = await make()
      t.teardown(() => s.store.close())
      return s
    }

    t.test('when nothing was stored → get should answer no variants and body undefined', async t => {
      const { store } = await fresh()
      t.same(await store.get('http://a/x'), [])
      t.equal(await store.body('http://a/x', 'nope'), undefined)
    })

    t.test('when a variant is written whole → get should return its record and its exact body', async t => {
      const { store, clock } = await fresh()
      const r = record('http://a/x', { tags: ['t1'] }, clock.t)
      await write(store, r, 'hello world, in several chunks')
      const got = await store.get('http://a/x')
      t.equal(got.length, 1)
      t.equal(got[0]!.record.id, r.id)
      t.equal(got[0]!.record.bodySize, 30, 'bodySize is what was written')
      t.same(got[0]!.record.headers, r.headers, 'headers round-trip, lists included')
      t.same(got[0]!.record.cc, r.cc)
      t.equal(await bodyOf(store, 'http://a/x', r.id), 'hello world, in several chunks')
      t.same(JSON.parse(JSON.stringify(got[0]!.record)), JSON.parse(JSON.stringify({ ...r, bodySize: 30 })), 'the record is serialisable and intact')
    })

    t.test('when a writer has not ended or was aborted → nothing should be visible', async t => {
      const { store, clock } = await fresh()
      const w = store.put(record('http://a/x', {}, clock.t), { replaces: [], maxVariants: 4 })!
      w.write(Buffer.from('partial'))
      t.same(await store.get('http://a/x'), [], 'not visible before end()')
      w.abort()
      t.same(await store.get('http://a/x'), [], 'not visible after abort()')
    })

    t.test('when fewer bytes arrive than the record announced → end should reject and nothing be stored', async t => {
      const { store, clock } = await fresh()
      const w = store.put(record('http://a/x', { bodySize: 10 }, clock.t), { replaces: [], maxVariants: 4 })!
      w.write(Buffer.from('12345'))
      await t.rejects(w.end())
      t.same(await store.get('http://a/x'), [])
    })

    t.test('when a body is larger than the tier takes → the write should stop and nothing be stored', async t => {
      const { store, clock } = await fresh()
      const w = store.put(record('http://a/big', {}, clock.t), { replaces: [], maxVariants: 4 })
      if (w !== undefined) {
        let ok = true
        const chunk = Buffer.alloc(64 * 1024, 0x61)
        for (let i = 0; i < 1024 && ok; i++) ok = w.write(chunk)
        t.notOk(ok, 'write() said stop before 64 MiB')
        await t.rejects(w.end())
      }
      t.same(await store.get('http://a/big'), [])
    })

    t.test('when variants differ in secondary key → both should be kept, newest first', async t => {
      const { store, clock } = await fresh()
      const en = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=en\n' }, clock.t)
      const de = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=de\n' }, clock.t)
      await write(store, en, 'en')
      await write(store, de, 'de')
      t.same((await store.get('http://a/x')).map(v => v.record.id), [de.id, en.id])
    })

    t.test('when a variant with the same secondary key is written → it should replace the old one', async t => {
      const { store, clock } = await fresh()
      const a = record('http://a/x', { varyFields: ['accept'], varyKey: 'accept=a\n' }, clock.t)
      const b = record('http://a/x', { varyFields: ['accept'], varyKey: 'accept=a\n' }, clock.t)
      await write(store, a, 'old')
      await write(store, b, 'new')
      const got = await store.get('http://a/x')
      t.same(got.map(v => v.record.id), [b.id])
      t.equal(await bodyOf(store, 'http://a/x', b.id), 'new')
      t.equal(await store.body('http://a/x', a.id), undefined, 'the replaced body is gone')
    })

    t.test('when replaces names ids → those variants should go when the new one commits', async t => {
      const { store, clock } = await fresh()
      const a = record('http://a/x', { varyFields: ['x'], varyKey: 'x=1\n' }, clock.t)
      const b = record('http://a/x', { varyFields: ['y'], varyKey: 'y=1\n' }, clock.t)
      await write(store, a, 'a')
      await write(store, b, 'b', { replaces: [a.id] })
      t.same((await store.get('http://a/x')).map(v => v.record.id), [b.id])
    })

    t.test('when more variants than maxVariants are written → the oldest should be dropped', async t => {
      const { store, clock } = await fresh()
      const ids: string[] = []
      for (let i = 0; i < 4; i++) {
        const r = record('http://a/x', { varyFields: ['x'], varyKey: `x=${i}\n` }, clock.t)
        ids.push(r.id)
        await write(store, r, String(i), { maxVariants: 2 })
      }
      t.same((await store.get('http://a/x')).map(v => v.record.id), [ids[3], ids[2]])
    })

    t.test('when a record is updated by id → the body should stay and the record change', async t => {
      const { store, clock } = await fresh()
      const r = record('http://a/x', {}, clock.t)
      await write(store, r, 'body')
      const next = { ...r, lifetime: 120_000, headers: { ...r.headers, 'x-new': '1' } }
      t.equal(await store.update(next), true)
      const got = await store.get('http://a/x')
      t.equal(got[0]!.record.lifetime, 120_000)
      t.equal(got[0]!.record.headers['x-new'], '1')
      t.equal(got[0]!.record.bodySize, 4, 'bodySize kept')
      t.equal(await bodyOf(store, 'http://a/x', r.id), 'body')
      t.equal(await store.update(record('http://a/x', {}, clock.t)), false, 'an unknown id is not created by update')
      t.equal((await store.get('http://a/x')).length, 1)
    })

    t.test('when variants are removed by id or a key is deleted → they should be gone and counted', async t => {
      const { store, clock } = await fresh()
      const a = record('http://a/x', { varyFields: ['x'], varyKey: 'x=1\n' }, clock.t)
      const b = record('http://a/x', { varyFields: ['x'], varyKey: 'x=2\n' }, clock.t)
      await write(store, a, 'a')
      await write(store, b, 'b')
      t.equal(await store.remove('http://a/x', [a.id, 'unknown']), 1)
      t.same((await store.get('http://a/x')).map(v => v.record.id), [b.id])
      t.equal(await store.delete('http://a/x'), 1)
      t.same(await store.get('http://a/x'), [])
      t.equal(await store.delete('http://a/x'), 0)
    })

    t.test('when variants carry tags → tagged should find their keys until they are gone', async t => {
      const { store, clock } = await fresh()
      await write(store, record('http://a/1', { tags: ['red', 'blue'] }, clock.t), '1')
      await write(store, record('http://a/2', { tags: ['red'] }, clock.t), '2')
      t.same((await store.tagged('red')).sort(), ['http://a/1', 'http://a/2'])
      t.same(await store.tagged('blue'), ['http://a/1'])
      await store.delete('http://a/1')
      t.same(await store.tagged('red'), ['http://a/2'])
      t.same(await store.tagged('blue'), [])
      t.same(await store.tagged('none'), [])
    })

    t.test('when keys are listed → at most the limit should come back', async t => {
      const { store, clock } = await fresh()
      for (let i = 0; i < 5; i++) await write(store, record(`http://a/${i}`, {}, clock.t), String(i))
      t.equal((await store.keys(100)).length, 5)
      t.equal((await store.keys(2)).length, 2)
    })

    t.test('when a record is already past keepUntil → it should not be kept', async t => {
      const { store, clock } = await fresh()
      const r = record('http://a/old', { keepUntil: clock.t - 1 }, clock.t)
      const w = store.put(r, { replaces: [], maxVariants: 4 })
      if (w !== undefined) {
        w.write(Buffer.from('x'))
        await w.end().catch(() => undefined)
      }
      t.same(await store.get('http://a/old'), [])
    })

    t.test('when two handles write different variants of one key → both should survive', async t => {
      const subject = await fresh()
      const other = subject.peer === undefined ? subject.store : await subject.peer()
      if (other !== subject.store) t.teardown(() => other.close())
      const a = record('http://a/x', { varyFields: ['x'], varyKey: 'x=1\n' }, subject.clock.t)
      const b = record('http://a/x', { varyFields: ['x'], varyKey: 'x=2\n' }, subject.clock.t)
      await Promise.all([write(subject.store, a, 'a'), write(other, b, 'b')])
      t.same((await subject.store.get('http://a/x')).map(v => v.record.id).sort(), [a.id, b.id].sort())
      t.same((await other.get('http://a/x')).map(v => v.record.id).sort(), [a.id, b.id].sort())
    })

    t.test('stats should count variants and bytes within the bound', async t => {
      const { store, clock } = await fresh()
      await write(store, record('http://a/1', {}, clock.t), 'x'.repeat(100))
      const s = store.stats()
      t.ok(s.entries >= 1, 'entries counted')
      t.ok(s.bytes >= 100, 'bytes counted')
      t.ok(s.bytes <= s.maxBytes, 'within the bound')
    })
  })
}
