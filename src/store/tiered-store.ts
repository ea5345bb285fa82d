// Two tiers as one store: memory (L1) in front of a shared or disk tier (L2). A hit in L1 stays
// synchronous; an L1 miss looks in L2 and promotes what it finds, bodies included. Writes go to
// both, and L2's failures never fail L1's: L2 is an optimisation, the origin is the truth.

import type { Store, StoredRecord, Variant, BodyWriter, PutOptions, StoreStats, RemovalReason } from '../cache/contract.ts'
import type { MemoryStore } from './memory-store.ts'
import type { Invalidation } from './redis-store.ts'
import { sameSecondary } from './secondary.ts'
import { pathOf } from '../cache/cache.ts'

/** Store statistics of both tiers: L1's at the top level. */
export interface TieredStats extends StoreStats {
  l2: StoreStats
}

/** Settings of the tiered store. */
export interface TieredStoreOptions {
  /** most variants kept per primary key (used when promoting from L2) */
  maxVariants: number
}

/** L1 in memory in front of an L2 tier. */
export class TieredStore implements Store {
  /** the memory tier; invalidations from other replicas are applied to it alone */
  readonly l1: MemoryStore
  /** the shared or disk tier */
  readonly l2: Store
  readonly #opts: TieredStoreOptions
  /** promotions in flight, so concurrent L1 misses of one key read L2 once */
  readonly #loading = new Map<string, Promise<Variant[]>>()
  /** L2 writes that failed (the L1 write stood) */
  l2WriteFailures = 0

  onRemove: ((record: StoredRecord, reason: RemovalReason) => void) | undefined

  constructor (l1: MemoryStore, l2: Store, opts: TieredStoreOptions) {
    this.l1 = l1
    this.l2 = l2
    this.#opts = opts
    // L1's removals are the ones this process sees (evictions, expiry, purges): report those.
    l1.onRemove = (record, reason) => this.onRemove?.(record, reason)
  }

  get (key: string): Variant[] | Promise<Variant[]> {
    const hit = this.l1.get(key)
    if (hit.length > 0) return hit
    return this.refresh(key)
  }

  /**
   * Reads a key from L2 and merges its variants into L1, even when L1 has some: for a request
   * none of L1's variants matches (Vary), since another replica may have stored its variant.
   */
  async refresh (key: string): Promise<Variant[]> {
    let loading = this.#loading.get(key)
    if (loading === undefined) {
      loading = this.#promote(key).finally(() => this.#loading.delete(key))
      this.#loading.set(key, loading)
    }
    return await loading
  }

  /** Reads a key from L2 and copies its variants, with bodies, into L1 (oldest first, so the newest ends first). */
  async #promote (key: string): Promise<Variant[]> {
    const found = await this.l2.get(key)
    if (found.length === 0) return this.l1.get(key)
    const whole: Variant[] = []
    for (const v of found) {
      const body = v.body ?? await this.l2.body(key, v.record.id)
      if (body !== undefined && body.length === v.record.bodySize) whole.push({ record: v.record, body })
    }
    const local = this.l1.get(key)
    for (const v of whole.slice().reverse()) {
      // L1 may hold the same variant, or a newer response for its secondary key (an L2 write that failed): keep L1's.
      if (local.some(l => l.record.id === v.record.id || (sameSecondary(l.record, v.record) && l.record.responseTime >= v.record.responseTime))) continue
      const w = this.l1.put(v.record, { replaces: [], maxVariants: this.#opts.maxVariants })
      if (w === undefined) continue
      if (w.write(v.body!)) await w.end().catch(() => undefined)
      else w.abort()
    }
    // The L1 objects where L1 took them (so heads prepared on them are memoised), then any only L2 holds (too large for L1).
    const promoted = this.l1.get(key)
    return [...promoted, ...whole.filter(v => !promoted.some(p => p.record.id === v.record.id || sameSecondary(p.record, v.record)))]
  }

  /**
   * Carries out another replica's purge here: drops the keys it names from L1 alone, since the
   * sender already purged L2. Soft purges too: L2 holds the soft-purged records, and the next
   * request reads them from there. Resolves to how many variants left L1.
   */
  async dropLocal (msg: Invalidation): Promise<number> {
    let keys: string[]
    if (msg.kind === 'key') keys = [msg.key]
    else if (msg.kind === 'urls') {
      const paths = new Set(msg.paths)
      const local = paths.size === 0 ? [] : (await this.l1.keys(Number.MAX_SAFE_INTEGER)).filter(k => paths.has(pathOf(k)))
      keys = [...msg.keys, ...local]
    } else if (msg.kind === 'prefix') {
      // The cache layer's prefix rule (cache.ts purgePrefix): "/…" matches the path on any host.
      const p = msg.prefix
      keys = (await this.l1.keys(Number.MAX_SAFE_INTEGER)).filter(k => p.startsWith('/') ? pathOf(k).startsWith(p) : k.startsWith(p))
    } else keys = [...new Set((await Promise.all(msg.tags.map(async tag => await this.l1.tagged(tag)))).flat())]
    let n = 0
    for (const k of keys) n += await this.l1.delete(k)
    return n
  }

  body (key: string, id: string): Buffer | undefined | Promise<Buffer | undefined> {
    return this.l1.body(key, id) ?? this.l2.body(key, id)
  }

  put (record: StoredRecord, opts: PutOptions): BodyWriter | undefined {
    const w1 = this.l1.put(record, opts)
    const w2 = this.l2.put(record, opts)
    if (w1 === undefined && w2 === undefined) return undefined
    let open1 = w1 !== undefined
    let open2 = w2 !== undefined
    return {
      write: (chunk: Buffer): boolean => {
        if (open1) open1 = w1!.write(chunk)
        if (open2) open2 = w2!.write(chunk)
        return open1 || open2
      },
      end: async (): Promise<void> => {
        const [r1, r2] = await Promise.allSettled([
          w1 === undefined ? Promise.reject(new Error('not taken')) : w1.end(),
          w2 === undefined ? Promise.reject(new Error('not taken')) : w2.end()
        ])
        if (w2 !== undefined && r2.status === 'rejected' && r1.status === 'fulfilled') this.l2WriteFailures++
        // Stored when either tier committed it (L2 alone takes bodies too large for L1).
        if (r1.status === 'rejected' && r2.status === 'rejected') throw w1 !== undefined ? r1.reason : r2.reason
      },
      abort: (): void => {
        w1?.abort()
        w2?.abort()
      }
    }
  }

  async update (record: StoredRecord): Promise<boolean> {
    const [a, b] = await Promise.all([this.l1.update(record), this.l2.update(record).catch(() => false)])
    return a || b
  }

  async remove (key: string, ids: readonly string[]): Promise<number> {
    const [a, b] = await Promise.all([this.l1.remove(key, ids), this.l2.remove(key, ids).catch(() => 0)])
    return Math.max(a, b)
  }

  async delete (key: string): Promise<number> {
    const [a, b] = await Promise.all([this.l1.delete(key), this.l2.delete(key).catch(() => 0)])
    return Math.max(a, b)
  }

  async tagged (tag: string): Promise<string[]> {
    const [a, b] = await Promise.all([this.l1.tagged(tag), this.l2.tagged(tag).catch(() => [])])
    return [...new Set([...a, ...b])]
  }

  async keys (limit: number): Promise<string[]> {
    const [a, b] = await Promise.all([this.l1.keys(limit), this.l2.keys(limit).catch(() => [])])
    return [...new Set([...a, ...b])].slice(0, limit)
  }

  stats (): TieredStats {
    return { ...this.l1.stats(), l2: this.l2.stats() }
  }

  async close (): Promise<void> {
    await Promise.all([this.l1.close(), this.l2.close()])
  }
}
