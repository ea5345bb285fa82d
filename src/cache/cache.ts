// The HTTP cache over a store: one value per URL holding its Vary variants (RFC 9111 §4.1),
// newest first, bounded in count. Selection, replacement and invalidation live here.

import type { Store } from './store.ts'
import type { StoredResponse, Headers } from './entry.ts'
import { secondaryKey } from './key.ts'

/** What the store keeps per primary key. */
export interface VariantSet {
  /** newest first */
  readonly variants: readonly StoredResponse[]
}

/** Settings of the variant cache. */
export interface CacheOptions {
  maxVariants: number
  /** how long past staleness a response with a validator is kept, ms */
  keepStale: number
  /** operator's stale-if-error grace, ms (entries are kept at least this long past staleness) */
  staleIfErrorGrace: number
}

/** The result of a lookup. */
export interface Lookup {
  /** the variant that matches the request, if any */
  entry?: StoredResponse
  /** true when the URL has stored variants (so a miss is a vary-miss, not a uri-miss) */
  hasVariants: boolean
}

const NONE: Lookup = Object.freeze({ hasVariants: false })

/** True when stored response `v` was selected by a request with these headers (§4.1). */
export function variantMatches (v: StoredResponse, headers: Headers): boolean {
  if (v.varyFields.length === 0) return true
  // "A stored response with a Vary header field value containing a member "*" always fails to match."
  if (v.varyFields[0] === '*') return false
  return secondaryKey(v.varyFields, headers) === v.varyKey
}

/** Vary-aware cache over a byte-bounded store. */
export class HttpCache {
  readonly #store: Store<VariantSet>
  readonly #opts: CacheOptions

  constructor (store: Store<VariantSet>, opts: CacheOptions) {
    this.#store = store
    this.#opts = opts
  }

  /** Finds the newest stored variant matching the request headers (RFC 9111 §4.1). */
  lookup (key: string, headers: Headers): Lookup | Promise<Lookup> {
    const got = this.#store.get(key)
    if (got instanceof Promise) return got.then(set => select(set, headers))
    return select(got, headers)
  }

  /** The stored variants of a URL (for freshening by validator, §4.3.4). */
  async variants (key: string): Promise<readonly StoredResponse[]> {
    return (await this.#store.get(key))?.variants ?? []
  }

  /**
   * Stores a response, replacing the variants the producing request matches ("a new response for
   * a URL replaces the variant it matches, not all variants"), bounded to maxVariants.
   */
  async put (key: string, entry: StoredResponse, requestHeaders: Headers, now: number): Promise<void> {
    const set = await this.#store.get(key)
    const kept = (set?.variants ?? []).filter(v => !variantMatches(v, requestHeaders))
    this.#write(key, [entry, ...kept].slice(0, this.#opts.maxVariants), now)
  }

  /** Replaces stored variants with freshened copies (same identity → new object). */
  async replace (key: string, updates: ReadonlyMap<StoredResponse, StoredResponse>, now: number): Promise<void> {
    const set = await this.#store.get(key)
    if (set === undefined) return
    this.#write(key, set.variants.map(v => updates.get(v) ?? v), now)
  }

  /** Removes a single variant (e.g. a HEAD showed it changed, §4.3.5). */
  async remove (key: string, entry: StoredResponse, now: number): Promise<void> {
    const set = await this.#store.get(key)
    if (set === undefined) return
    const kept = set.variants.filter(v => v !== entry)
    if (kept.length === 0) this.#store.delete(key)
    else this.#write(key, kept, now)
  }

  /** Drops every variant of a URL (RFC 9111 §4.4). */
  invalidate (key: string): void {
    this.#store.delete(key)
  }

  #write (key: string, variants: StoredResponse[], now: number): void {
    let size = 0
    let until = 0
    for (const v of variants) {
      size += v.size
      until = Math.max(until, this.#keepUntil(v))
    }
    const ttl = until - now
    if (ttl <= 0) { this.#store.delete(key); return }
    this.#store.set(key, { variants }, { size, ttl })
  }

  /** When policy no longer needs a response: fresh lifetime plus whatever may still use it stale. */
  #keepUntil (v: StoredResponse): number {
    const freshUntil = v.responseTime + Math.max(0, v.lifetime - v.initialAge)
    const validator = v.etag !== undefined || v.lastModified !== undefined
    const keep = Math.max(
      validator ? this.#opts.keepStale : 0,
      (v.cc.staleWhileRevalidate ?? 0) * 1000,
      (v.cc.staleIfError ?? 0) * 1000,
      this.#opts.staleIfErrorGrace,
      // a client's max-stale can use any stale response; keep fresh-only entries a minute for it
      60_000
    )
    return freshUntil + keep
  }
}

function select (set: VariantSet | undefined, headers: Headers): Lookup {
  if (set === undefined) return NONE
  for (const v of set.variants) if (variantMatches(v, headers)) return { entry: v, hasVariants: true }
  return { hasVariants: true }
}
