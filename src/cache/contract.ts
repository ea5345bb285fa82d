// The store contract: what any cache tier (memory, Redis/Valkey, disk) keeps and how it is
// addressed. A tier keeps serialisable records and body bytes; it never reads HTTP headers.
// Policy (cache/policy.ts) computes every time below; the store only keeps and evicts.

import type { CacheControl } from '../http/cache-control.ts'

/** Header map with lowercased names, as stored. */
export type Headers = Record<string, string | string[] | undefined>

/**
 * The serialisable facts of one stored variant (JSON-safe: no Buffers, no functions).
 * A 304 fold or HEAD freshening produces a new record with the same `id`.
 */
export interface StoredRecord {
  /** variant id: unique per stored response, assigned when it is first written (url-safe) */
  id: string
  /** primary key (cache/key.ts `keyFor`) */
  key: string
  status: number
  statusMessage: string
  /** stored header fields, as sent to clients, without Age */
  headers: Headers
  /** sorted Vary field names of this response */
  varyFields: readonly string[]
  /** the secondary key of the request that produced it (cache/key.ts `secondaryKey`) */
  varyKey: string
  /** the targeted field that governed it, if any (RFC 9213) */
  target: string | undefined
  /** effective response directives */
  cc: CacheControl
  /** freshness lifetime, ms */
  lifetime: number
  /** corrected initial age, ms */
  initialAge: number
  /** when the response arrived, ms since the epoch */
  responseTime: number
  /** when no policy rule can use the response any more, ms since the epoch: the store may drop it then */
  keepUntil: number
  etag: string | undefined
  lastModified: string | undefined
  date: string | undefined
  /** surrogate keys (tags), for purges by tag */
  tags: readonly string[]
  /** body length in bytes */
  bodySize: number
}

/** A stored variant as a tier returns it. */
export interface Variant {
  record: StoredRecord
  /** the body, when the tier holds it in memory; otherwise read it with `Store.body` */
  body: Buffer | undefined
  /**
   * Serving heads prepared from the record by the cache layer, memoised on the object by tiers
   * that hand out the same object on every get (memory). Opaque to stores.
   */
  prepared?: unknown
}

/** Writes one new variant's body. The variant becomes visible only when `end()` resolves. */
export interface BodyWriter {
  /** appends body bytes; false when the variant can no longer be stored (too large): stop writing */
  write (chunk: Buffer): boolean
  /** commits the variant (only a whole body is ever committed); resolves when it is visible */
  end (): Promise<void>
  /** discards what was written; nothing becomes visible */
  abort (): void
}

/** Options for writing a variant. */
export interface PutOptions {
  /** ids of variants the new one replaces (same secondary key): removed when it commits */
  replaces: readonly string[]
  /** most variants kept per primary key; the oldest beyond it are removed when it commits */
  maxVariants: number
}

/** Store statistics. */
export interface StoreStats {
  /** variants held */
  entries: number
  /** bytes held (bodies and records) */
  bytes: number
  /** the byte bound */
  maxBytes: number
  /** variants dropped to stay within the bound */
  evictions: number
}

/** Why a variant left a store, for metrics. */
export type RemovalReason =
  /** dropped to stay within the byte bound */
  | 'size'
  /** its keepUntil passed */
  | 'ttl'
  /** removed by a purge, an invalidation or a replacement */
  | 'delete'

/**
 * A cache tier. Every method that can be remote may return a Promise; the memory tier answers
 * `get` synchronously so the hit path allocates no promise. Callers await only a returned Promise.
 * Every method must tolerate concurrent callers on other instances sharing the tier: variants are
 * addressed by id, never rewritten as a whole set.
 */
export interface Store {
  /** the variants of a primary key, newest first; [] when none */
  get (key: string): Variant[] | Promise<Variant[]>
  /** the body of a variant, or undefined when it is gone */
  body (key: string, id: string): Buffer | undefined | Promise<Buffer | undefined>
  /** starts writing a new variant; undefined when the tier will not take it (e.g. larger than its entry limit) */
  put (record: StoredRecord, opts: PutOptions): BodyWriter | undefined
  /** replaces the record of an existing variant, keeping its body (304 fold, HEAD freshening, soft purge); false when it is gone */
  update (record: StoredRecord): Promise<boolean>
  /** removes variants of a key by id; resolves to how many were removed */
  remove (key: string, ids: readonly string[]): Promise<number>
  /** removes every variant of a key; resolves to how many were removed */
  delete (key: string): Promise<number>
  /** primary keys whose variants carry `tag` */
  tagged (tag: string): Promise<string[]>
  /** primary keys held, at most `limit` of them (purges by prefix) */
  keys (limit: number): Promise<string[]>
  stats (): StoreStats
  /** called when a variant leaves this tier (for metrics); set by the owner */
  onRemove?: ((record: StoredRecord, reason: RemovalReason) => void) | undefined
  /** releases connections and timers */
  close (): Promise<void>
}
