// The byte-bounded store: string keys to opaque values with a size and a lifetime.
// It knows nothing of HTTP; policy decides staleness, the store only keeps and evicts bytes.

import { LRUCache } from 'lru-cache'

/** Options for one stored value. */
export interface SetOptions {
  /** bytes the value occupies; counts against the store's total */
  size: number
  /** when the store may drop the value, ms from now (policy keeps stale entries for revalidation) */
  ttl: number
}

/**
 * A cache store. A second tier (e.g. Redis) implements the same three methods; `get` may then
 * return a Promise, which callers await only when one is returned.
 */
export interface Store<V> {
  get (key: string): V | undefined | Promise<V | undefined>
  set (key: string, value: V, opts: SetOptions): void
  delete (key: string): void
  /** every key held (for purges by prefix); a tier that cannot list keys omits it */
  keys? (): Iterable<string>
  /** set by the cache to hear of values leaving the store, so its indexes stay bounded */
  onRemove?: ((key: string, value: V) => void) | undefined
}

/** Statistics of the memory store. */
export interface StoreStats {
  entries: number
  bytes: number
  maxBytes: number
  evictions: number
}

/** In-memory store over lru-cache, bounded in total bytes and bytes per value. */
export class MemoryStore<V extends object> implements Store<V> {
  readonly #lru: LRUCache<string, V>
  readonly #maxBytes: number
  #evictions = 0

  /** called when a value leaves the store by eviction, expiry or deletion (not by replacement) */
  onRemove: ((key: string, value: V) => void) | undefined

  /** @param maxBytes total bytes (must be > 0); @param maxEntryBytes largest single value */
  constructor (maxBytes: number, maxEntryBytes: number) {
    if (!(maxBytes > 0)) throw new TypeError(`MemoryStore maxBytes must be a positive number, got ${maxBytes}`)
    this.#maxBytes = maxBytes
    this.#lru = new LRUCache<string, V>({
      maxSize: maxBytes,
      maxEntrySize: Math.max(1, Math.min(maxEntryBytes, maxBytes)),
      ttlAutopurge: false,
      dispose: (v, k, reason) => {
        if (reason === 'evict') this.#evictions++
        if (reason !== 'set') this.onRemove?.(k, v)
      }
    })
  }

  get (key: string): V | undefined {
    return this.#lru.get(key)
  }

  set (key: string, value: V, opts: SetOptions): void {
    this.#lru.set(key, value, { size: Math.max(1, opts.size), ttl: Math.max(1, Math.ceil(opts.ttl)) })
  }

  delete (key: string): void {
    this.#lru.delete(key)
  }

  /** Every key currently held (for purges by prefix). */
  keys (): IterableIterator<string> {
    return this.#lru.keys()
  }

  stats (): StoreStats {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize, maxBytes: this.#maxBytes, evictions: this.#evictions }
  }
}
