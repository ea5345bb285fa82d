// The store picked from config: memory alone, memory + Redis, memory + disk; bad store.* settings stop start-up.

import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { loadConfig } from '../../src/config/load.ts'
import { openTiers, checkStoreConfig } from '../../src/store/tiers.ts'
import { MemoryStore } from '../../src/store/memory-store.ts'
import { TieredStore } from '../../src/store/tiered-store.ts'
import { RedisStore } from '../../src/store/redis-store.ts'
import { DiskStore } from '../../src/store/disk-store.ts'
import { ConfigError } from '../../src/errors.ts'

const config = (flags: Record<string, unknown>): ReturnType<typeof loadConfig> => loadConfig({ flags: { origin: 'http://127.0.0.1:1', ...flags } })

t.test('when no second tier is set → memory alone', async t => {
  const { store, shared } = await openTiers(config({}), Date.now)
  t.teardown(() => store?.close())
  t.ok(store instanceof MemoryStore)
  t.equal(shared, undefined)
})

t.test('when storing is disabled (cache.maxSize 0) → no store at all, whatever tiers are set', async t => {
  const { store, shared } = await openTiers(config({ 'cache.maxSize': 0, 'cache.maxEntrySize': 0, 'store.shared': 'redis://127.0.0.1:1' }), Date.now)
  t.equal(store, undefined)
  t.equal(shared, undefined)
})

t.test('when store.shared is set → memory in front of Redis, the Redis handle returned for invalidations', async t => {
  const c = config({ 'store.shared': 'redis://127.0.0.1:1', 'store.commandTimeout': '50ms' })
  t.equal(c.store.commandTimeout, 50)
  t.equal(c.store.prefix, 'freshgate:')
  const { store, shared } = await openTiers(c, Date.now)
  t.teardown(() => store?.close())
  t.ok(store instanceof TieredStore)
  t.ok(shared instanceof RedisStore)
  t.equal((store as TieredStore).l2, shared)
  t.same(await store?.get('http://a/x'), [], 'nothing listens on port 1: a miss, not an error')
})

t.test('when store.disk.dir is set → memory in front of disk, bounded by store.disk.maxSize', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-tiers-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = config({ 'store.disk.dir': dir, 'store.disk.maxSize': '2MiB' })
  const { store } = await openTiers(c, Date.now)
  t.teardown(() => store?.close())
  t.ok(store instanceof TieredStore && store.l2 instanceof DiskStore)
  t.equal((store as TieredStore).stats().l2.maxBytes, 2 * 1024 * 1024)
})

t.test('bad store settings → ConfigError naming the key', async t => {
  const rows = [
    { name: 'an http URL for store.shared', flags: { 'store.shared': 'http://cache:6379' }, key: 'store.shared' },
    { name: 'a prefix with braces', flags: { 'store.prefix': 'a{b}' }, key: 'store.prefix' },
    { name: 'both a shared and a disk tier', flags: { 'store.shared': 'redis://h:6379', 'store.disk.dir': '/tmp/x' }, key: 'store.disk.dir' }
  ]
  for (const r of rows) {
    let err: unknown
    try { checkStoreConfig(config(r.flags)) } catch (e) { err = e }
    t.ok(err instanceof ConfigError && err.key === r.key, r.name)
  }
  t.throws(() => config({ 'store.commandTimeout': '0ms' }), ConfigError, 'a zero command timeout is refused by the schema')
  const file = join(mkdtempSync(join(tmpdir(), 'freshgate-tiers-')), 'a-file')
  writeFileSync(file, 'not a directory')
  t.teardown(() => rmSync(dirname(file), { recursive: true, force: true }))
  await t.rejects(openTiers(config({ 'store.disk.dir': file }), Date.now), { name: 'ConfigError', key: 'store.disk.dir' }, 'a disk dir that is a file stops start-up naming the key')
})
