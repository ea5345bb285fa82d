// The memory tier: the store contract (contract.ts) over lru-cache, bounded in total bytes and
// bytes per variant. One LRU slot per primary key holds its variants, newest first; the tag
// index lives here too and is pruned with the slots, so it is bounded by the same bound.
// A body never handed out is freed the moment its slot leaves (see #release).

import { LRUCache } from 'lru-cache'
import type { Store, StoredRecord, Variant, BodyWriter, PutOptions, StoreStats, RemovalReason } from '../cache/contract.ts'
import { bufferedWriter, variantSize } from './writer.ts'
import { TEXT_BODY_MAX } from '../cache/entry.ts'

export { variantSize } from './writer.ts'

/**
 * The bytes the memory tier counts for a variant: its record and body, and a small body twice, as
 * it is also held as a string once served (cache/entry.ts TEXT_BODY_MAX).
 */
export function heldSize (record: StoredRecord): number {
  return variantSize(record) + (record.bodySize <= TEXT_BODY_MAX ? record.bodySize : 0)
}

/** Settings of the memory tier. */
export interface MemoryStoreOptions {
  /** total bytes held (must be > 0) */
  maxBytes: number
  /** largest single variant in bytes (body plus record) */
  maxEntryBytes: number
  /** most variants kept per primary key */
  maxVariants: number
  /** the policy clock, ms since the epoch: records' keepUntil is measured against it */
  clock: () => number
}


/** The variants of one primary key; a new array on every change, so readers never see it mutate. */
interface Slot {
  variants: Variant[]
  /** some variant's body may still be in the store's unlent set (skips the set on the hit path once read) */
  unlent: boolean
}

/** In-memory tier over lru-cache. `get` answers synchronously. */
export class MemoryStore implements Store {
  readonly #lru: LRUCache<string, Slot>
  readonly #opts: MemoryStoreOptions
  /** tag → primary keys whose variants carry it */
  readonly #tags = new Map<string, Set<string>>()
  #evictions = 0
  #entries = 0
  /** why the slot being disposed leaves, when lru-cache cannot know (delete vs purge) */
  #reason: RemovalReason = 'delete'
  /** bodies this store allocated (writer.ts) and never handed out: no one else can hold them */
  readonly #unlent = new WeakSet<Buffer>()
  /**
   * the variants #write is putting in place: a slot lru-cache disposes meanwhile may share their
   * bodies (one that expired since the caller read it; lru-cache's clock ticks once per task today,
   * which is not a promise of its API)
   */
  #writing: readonly Variant[] = []

  onRemove: ((record: StoredRecord, reason: RemovalReason) => void) | undefined

  constructor (opts: MemoryStoreOptions) {
    if (!(opts.maxBytes > 0)) throw new TypeError(`MemoryStore maxBytes must be a positive number, got ${opts.maxBytes}`)
    if (!(opts.maxEntryBytes > 0)) throw new TypeError(`MemoryStore maxEntryBytes must be a positive number, got ${opts.maxEntryBytes}`)
    if (!(opts.maxVariants >= 1)) throw new TypeError(`MemoryStore maxVariants must be at least 1, got ${opts.maxVariants}`)
    this.#opts = opts
    this.#lru = new LRUCache<string, Slot>({
      maxSize: opts.maxBytes,
      ttlAutopurge: false,
      dispose: (slot, key, reason) => {
        if (reason === 'set') return
        const why: RemovalReason = reason === 'evict' ? 'size' : reason === 'expire' ? 'ttl' : this.#reason
        if (why === 'size') this.#evictions += slot.variants.length
        this.#entries -= slot.variants.length
        const records = slot.variants.map(v => v.record)
        this.#forget(key, records, [], records, why)
        if (slot.unlent) for (const v of slot.variants) if (!this.#writing.some(w => w.body === v.body)) this.#release(v.body)
      }
    })
  }

  get (key: string): Variant[] {
    const slot = this.#lru.get(key)
    if (slot === undefined) return []
    if (slot.unlent) this.#lend(slot)
    return slot.variants
  }

  body (key: string, id: string): Buffer | undefined {
    const slot = this.#lru.get(key)
    if (slot?.unlent === true) this.#lend(slot)
    return slot?.variants.find(v => v.record.id === id)?.body
  }

  put (record: StoredRecord, opts: PutOptions): BodyWriter | undefined {
    return bufferedWriter(record, Math.min(this.#opts.maxEntryBytes, this.#opts.maxBytes), async (r, body) => {
      if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) this.#unlent.add(body)
      this.#commit({ record: r, body }, opts)
    })
  }

  async update (record: StoredRecord): Promise<boolean> {
    const slot = this.#lru.get(record.key, { updateAgeOnGet: false })
    const i = slot?.variants.findIndex(v => v.record.id === record.id) ?? -1
    if (slot === undefined || i === -1) return false
    const old = slot.variants[i]!
    const variants = slot.variants.slice()
    variants[i] = { record: { ...record, bodySize: old.record.bodySize }, body: old.body }
    this.#write(record.key, variants, [])
    return true
  }

  async remove (key: string, ids: readonly string[]): Promise<number> {
    const slot = this.#lru.get(key, { updateAgeOnGet: false })
    if (slot === undefined) return 0
    const kept = slot.variants.filter(v => !ids.includes(v.record.id))
    const gone = slot.variants.length - kept.length
    if (gone === 0) return 0
    if (kept.length === 0) return await this.delete(key)
    this.#write(key, kept, slot.variants.filter(v => ids.includes(v.record.id)).map(v => v.record))
    return gone
  }

  async delete (key: string): Promise<number> {
    const n = this.#lru.get(key, { updateAgeOnGet: false })?.variants.length ?? 0
    this.#reason = 'delete'
    this.#lru.delete(key)
    return n
  }

  async tagged (tag: string): Promise<string[]> {
    return [...this.#tags.get(tag) ?? []]
  }

  async keys (limit: number): Promise<string[]> {
    const out: string[] = []
    for (const k of this.#lru.keys()) {
      if (out.length >= limit) break
      out.push(k)
    }
    return out
  }

  stats (): StoreStats {
    return { entries: this.#entries, bytes: this.#lru.calculatedSize, maxBytes: this.#opts.maxBytes, evictions: this.#evictions }
  }

  async close (): Promise<void> {
    this.#reason = 'delete'
    this.#lru.clear()
  }

  /** Adds a committed variant: it replaces `opts.replaces` and any variant with its secondary key. */
  #commit (v: Variant, opts: PutOptions): void {
    const key = v.record.key
    const old = this.#lru.get(key, { updateAgeOnGet: false })?.variants ?? []
    const same = (o: Variant): boolean => opts.replaces.includes(o.record.id) || (o.record.varyKey === v.record.varyKey && sameFields(o.record, v.record))
    const kept = old.filter(o => !same(o))
    const next = [v, ...kept].slice(0, Math.max(1, opts.maxVariants))
    this.#write(key, next, old.filter(o => !next.includes(o)).map(o => o.record))
  }

  /** Writes a slot's variants, or drops it when none is still needed; `gone` are the records removed for good. */
  #write (key: string, variants: Variant[], gone: StoredRecord[]): void {
    this.#writing = variants
    try {
      this.#place(key, variants, gone)
    } finally {
      this.#writing = []
    }
  }

  #place (key: string, variants: Variant[], gone: StoredRecord[]): void {
    const now = this.#opts.clock()
    let size = 0
    let until = 0
    for (const v of variants) {
      size += heldSize(v.record)
      until = Math.max(until, v.record.keepUntil)
    }
    if (until - now <= 0 || size > this.#opts.maxBytes) {
      this.#reason = 'delete'
      this.#lru.delete(key)
      return
    }
    const previous = this.#lru.get(key, { updateAgeOnGet: false })?.variants ?? []
    // lru-cache disposes a replaced value silently ('set'): prune and report here instead.
    this.#forget(key, previous.filter(p => !variants.includes(p)).map(p => p.record), variants, [])
    for (const r of gone) this.onRemove?.(r, 'delete')
    for (const v of variants) for (const tag of v.record.tags) {
      let keys = this.#tags.get(tag)
      if (keys === undefined) this.#tags.set(tag, keys = new Set())
      keys.add(key)
    }
    this.#entries += variants.length - previous.length
    const unlent = variants.some(v => v.body !== undefined && this.#unlent.has(v.body))
    this.#lru.set(key, { variants, unlent }, { size: Math.max(1, size), ttl: Math.max(1, Math.ceil(until - now)) })
  }

  /** The slot's bodies are handed out: from now on someone may be writing them to a socket. */
  #lend (slot: Slot): void {
    slot.unlent = false
    for (const v of slot.variants) if (v.body !== undefined) this.#unlent.delete(v.body)
  }

  /**
   * Frees a body leaving the store, when it was never handed out. A miss storm evicts bodies no
   * one read: left to the garbage collector, each would wait in V8's old generation for a full
   * collection, which V8 starts only once 64 MiB of such memory has piled up; detached here, its
   * memory returns at once. A body handed out is left alone: a socket write may still be reading it.
   */
  #release (body: Buffer | undefined): void {
    if (body === undefined || !this.#unlent.delete(body)) return
    ;(body.buffer as ArrayBuffer).transfer(0)
  }

  /** Prunes the tag index of records leaving a slot (keeping tags the remaining variants carry) and reports `removed`. */
  #forget (key: string, leaving: StoredRecord[], remaining: Variant[], removed: StoredRecord[], reason: RemovalReason = 'delete'): void {
    for (const r of leaving) {
      for (const tag of r.tags) {
        if (remaining.some(v => v.record.tags.includes(tag))) continue
        const keys = this.#tags.get(tag)
        keys?.delete(key)
        if (keys?.size === 0) this.#tags.delete(tag)
      }
    }
    for (const r of removed) this.onRemove?.(r, reason)
  }
}

/** True when two records vary on the same fields. */
function sameFields (a: StoredRecord, b: StoredRecord): boolean {
  if (a.varyFields.length !== b.varyFields.length) return false
  for (let i = 0; i < a.varyFields.length; i++) if (a.varyFields[i] !== b.varyFields[i]) return false
  return true
}
