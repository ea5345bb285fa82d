// Picks the store tier from config: the memory tier bounded by cache.maxSize (none when 0).

import type { Config } from '../config/schema.ts'
import type { Store } from '../cache/contract.ts'
import { MemoryStore } from './memory-store.ts'

/** The store for a config, or undefined when storing is disabled (cache.maxSize 0). */
export function createStore (config: Config, clock: () => number): Store | undefined {
  if (config.cache.maxSize <= 0) return undefined
  return new MemoryStore({
    maxBytes: config.cache.maxSize,
    // a variant is its body plus its fields; headers are bounded by maxHeaderSize
    maxEntryBytes: config.cache.maxEntrySize + config.maxHeaderSize + 1024,
    maxVariants: config.cache.maxVariants,
    clock
  })
}
