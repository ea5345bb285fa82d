// The disk tier against the store contract, plus what only it does: entries survive a restart,
// a torn or corrupted file is never served, the byte bound holds with LRU eviction, one process per directory.

import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { DiskStore, type DiskStoreOptions } from '../../src/store/disk-store.ts'
import { storeContract, record, write } from './contract.ts'

function tempDir (t: { teardown: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-disk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function open (t: { teardown: (fn: () => unknown) => void }, dir: string, over: Partial<DiskStoreOptions> = {}, clock = { t: Date.now() }): Promise<DiskStore> {
  const store = await DiskStore.open({ dir, maxBytes: 10_000_000, maxEntryBytes: 1_000_000, maxVariants: 16, clock: () => clock.t, ...over })
  t.teardown(() => store.close())
  return store
}

/** The files of a variant, by extension. */
function filesOf (dir: string, ext: string): string[] {
  const out: string[] = []
  for (const sub of readdirSync(dir)) {
    if (!/^[0-9a-f]{2}$/.test(sub)) continue
    for (const name of readdirSync(join(dir, sub))) if (name.endsWith(ext)) out.push(join(dir, sub, name))
  }
  return out
}

storeContract(t, 'DiskStore', async () => {
  const clock = { t: Date.now() }
  return { store: await open(t, tempDir(t), {}, clock), clock }
})

t.test('when the store is closed and opened again → the entries, their order, tags and bodies should be back', async t => {
  const dir = tempDir(t)
  const clock = { t: Date.now() }
  const first = await open(t, dir, {}, clock)
  const en = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=en\n', tags: ['news'] }, clock.t)
  const de = record('http://a/x', { varyFields: ['accept-language'], varyKey: 'accept-language=de\n' }, clock.t)
  await write(first, en, 'english')
  await write(first, de, 'deutsch')
  t.equal(await first.update({ ...en, lifetime: 5 }), true)
  await first.close()

  const again = await open(t, dir, {}, clock)
  const got = await again.get('http://a/x')
  t.same(got.map(v => v.record.id), [de.id, en.id], 'newest first')
  t.equal(got[1]!.record.lifetime, 5, 'the update persisted')
  t.equal((await again.body('http://a/x', en.id))?.toString(), 'english')
  t.same(await again.tagged('news'), ['http://a/x'])
  t.equal(again.stats().entries, 2)
  t.equal(again.discarded, 0, 'nothing thrown away')
})

t.test('when a record file is truncated → the variant should be ignored and its files removed, at start and at read', async t => {
  const dir = tempDir(t)
  const clock = { t: Date.now() }
  const first = await open(t, dir, {}, clock)
  await write(first, record('http://a/torn', {}, clock.t), 'torn')
  await write(first, record('http://a/ok', {}, clock.t), 'ok')
  await first.close()
  const rec = filesOf(dir, '.rec').find(p => readFileSync(p).includes('http://a/torn'))!
  truncateSync(rec, 40)
  const again = await open(t, dir, {}, clock)
  t.same(await again.get('http://a/torn'), [], 'torn record ignored at start')
  t.equal((await again.get('http://a/ok')).length, 1, 'the intact one is kept')
  t.equal(again.discarded, 2, 'the torn record and its orphaned body removed')
  t.equal(filesOf(dir, '.rec').length, 1)
  t.equal(filesOf(dir, '.body').length, 1)

  // At read: corrupt a record while the store runs.
  writeFileSync(filesOf(dir, '.rec')[0]!, 'garbage')
  t.same(await again.get('http://a/ok'), [], 'a corrupted record is not served')
  t.equal(filesOf(dir, '.rec').length, 0, 'and removed')
})

t.test('when a body file is corrupted or cut short → it should never be served', async t => {
  const dir = tempDir(t)
  const clock = { t: Date.now() }
  const store = await open(t, dir, {}, clock)
  const a = record('http://a/a', {}, clock.t)
  const b = record('http://a/b', {}, clock.t)
  await write(store, a, 'aaaaaaaa')
  await write(store, b, 'bbbbbbbb')
  const bodyA = filesOf(dir, '.body').find(p => readFileSync(p).toString() === 'aaaaaaaa')!
  writeFileSync(bodyA, 'aaaaXaaa')
  t.equal(await store.body('http://a/a', a.id), undefined, 'same length, wrong bytes: the checksum catches it')
  t.same(await store.get('http://a/a'), [], 'and the variant is dropped')
  await store.close()

  const bodyB = filesOf(dir, '.body')[0]!
  truncateSync(bodyB, 3)
  const again = await open(t, dir, {}, clock)
  t.same(await again.get('http://a/b'), [], 'a short body is ignored at start')
  t.equal(filesOf(dir, '.body').length + filesOf(dir, '.rec').length, 0, 'and both files removed')
})

t.test('when a crash left temporary files → they should be removed at start', async t => {
  const dir = tempDir(t)
  const store = await open(t, dir)
  await write(store, record('http://a/x'), 'x')
  await store.close()
  const sub = readdirSync(dir).find(n => /^[0-9a-f]{2}$/.test(n))!
  writeFileSync(join(dir, sub, 'abc.rec.tmp-1234'), 'half')
  const again = await open(t, dir)
  t.equal(again.discarded, 1)
  t.notOk(readdirSync(join(dir, sub)).some(n => n.includes('.tmp-')))
})

t.test('when more is written than the byte bound → least recently used keys should be evicted, on disk too, and the bound hold across a restart', async t => {
  const dir = tempDir(t)
  const clock = { t: Date.now() }
  const store = await open(t, dir, { maxBytes: 64 * 1024, maxEntryBytes: 16 * 1024 }, clock)
  const removed: string[] = []
  store.onRemove = (r, reason) => removed.push(`${r.key}:${reason}`)
  await write(store, record('http://a/hot', {}, clock.t), 'h'.repeat(4000))
  for (let i = 0; i < 40; i++) {
    await write(store, record(`http://a/${i}`, { tags: [`t${i}`] }, clock.t), 'x'.repeat(4000))
    await store.get('http://a/hot')
  }
  const s = store.stats()
  t.ok(s.bytes <= 64 * 1024, `bytes ${s.bytes} within the bound`)
  t.ok(s.evictions > 20, `evictions counted (${s.evictions})`)
  t.equal(s.entries, 41 - s.evictions)
  t.equal((await store.get('http://a/hot')).length, 1, 'a key in use stays')
  t.same(await store.get('http://a/0'), [], 'the least recently used went')
  t.same(await store.tagged('t0'), [])
  t.ok(removed.includes('http://a/0:size'))
  const onDisk = filesOf(dir, '.body').length
  t.equal(onDisk, s.entries, 'evicted files are gone from disk')
  await store.close()
  const again = await open(t, dir, { maxBytes: 32 * 1024, maxEntryBytes: 16 * 1024 }, clock)
  t.ok(again.stats().bytes <= 32 * 1024, 'a smaller bound at start evicts down to it')
})

t.test('when entries are past keepUntil → they should not come back after a restart or be served', async t => {
  const dir = tempDir(t)
  const clock = { t: Date.now() }
  const store = await open(t, dir, {}, clock)
  await write(store, record('http://a/short', { keepUntil: clock.t + 1000 }, clock.t), 'x')
  clock.t += 2000
  t.same(await store.get('http://a/short'), [], 'not served once past keepUntil')
  await write(store, record('http://a/short2', { keepUntil: clock.t + 1000 }, clock.t), 'y')
  await store.close()
  clock.t += 2000
  const again = await open(t, dir, {}, clock)
  t.same(await again.keys(10), [])
})

t.test('when another live process holds the directory → open should refuse it', async t => {
  const dir = tempDir(t)
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  await once(child, 'spawn')
  writeFileSync(join(dir, 'LOCK'), String(child.pid))
  await t.rejects(DiskStore.open({ dir, maxBytes: 1000, maxEntryBytes: 100, maxVariants: 1, clock: Date.now }), /in use by process/)
  child.kill('SIGKILL')
  await once(child, 'exit')
  const store = await open(t, dir)
  t.ok(store, 'a dead holder\'s lock is taken over')
})
