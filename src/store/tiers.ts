// Picks the store from the config: memory alone (stores.ts), or memory in front of a shared
// (Redis/Valkey) or disk tier.

import type { Config } from '../config/schema.ts'
import { ConfigError } from '../errors.ts'
import type { Store } from '../cache/contract.ts'
import { DiskStore } from './disk-store.ts'
import type { RedisStore } from './redis-store.ts'
import { checkPrefix, parseSharedTarget } from './shared-url.ts'
import { MemoryStore } from './memory-store.ts'
import { createStore } from './stores.ts'
import { TieredStore } from './tiered-store.ts'

/** The store and, when there is one, the shared tier (for invalidations, locks and its state). */
export interface Tiers {
  /** undefined when storing is disabled (cache.maxSize 0) */
  store: Store | undefined
  /** set when store.shared is: the pub/sub channel, fill locks, state and counters live here */
  shared: RedisStore | undefined
}

/** Checks the store.* settings without opening anything; throws ConfigError naming the key. */
export function checkStoreConfig (config: Pick<Config, 'store'>): void {
  if (config.store.shared !== undefined) parseSharedTarget(config.store.shared)
  checkPrefix(config.store.prefix)
  if (config.store.shared !== undefined && config.store.disk.dir !== undefined) {
    throw new ConfigError('store.disk.dir', config.store.disk.dir, 'unset when store.shared is set (one second tier: shared or disk)')
  }
}

/** Opens the configured tiers (the disk tier scans its directory first). */
export async function openTiers (config: Config, clock: () => number): Promise<Tiers> {
  checkStoreConfig(config)
  const memory = createStore(config, clock)
  if (!(memory instanceof MemoryStore)) return { store: memory, shared: undefined }
  // The same bound as L1's: a body of cache.maxEntrySize plus its header fields.
  const maxEntryBytes = config.cache.maxEntrySize + config.maxHeaderSize + 1024
  const tiered = { maxVariants: config.cache.maxVariants }
  if (config.store.shared !== undefined) {
    // Loaded only when configured: ioredis and its dependencies cost ~8 MiB of resident memory.
    const { RedisStore } = await import('./redis-store.ts')
    const shared = new RedisStore({
      target: parseSharedTarget(config.store.shared),
      prefix: config.store.prefix,
      commandTimeout: config.store.commandTimeout,
      maxEntryBytes,
      clock
    })
    return { store: new TieredStore(memory, shared, tiered), shared }
  }
  if (config.store.disk.dir !== undefined) {
    const dir = config.store.disk.dir
    // A directory that cannot be created, read or locked stops start-up like any bad setting.
    const disk = await DiskStore.open({
      dir,
      maxBytes: config.store.disk.maxSize,
      maxEntryBytes: Math.min(maxEntryBytes, config.store.disk.maxSize),
      maxVariants: config.cache.maxVariants,
      clock
    }).catch((err: unknown) => { throw new ConfigError('store.disk.dir', dir, `a writable directory no other process uses (${(err as Error).message})`) })
    return { store: new TieredStore(memory, disk, tiered), shared: undefined }
  }
  return { store: memory, shared: undefined }
}
