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

/** Vary-aware cache over a byte-bounded store, with a tag index for purges. */
export class HttpCache {
  readonly #store: Store<VariantSet>
  readonly #opts: CacheOptions
  /** tag → primary keys whose stored variants carry it; pruned when the store drops a key */
  readonly #tags = new Map<string, Set<string>>()

  constructor (store: Store<VariantSet>, opts: CacheOptions) {
    this.#store = store
    this.#opts = opts
    // The tag index holds only keys the store still has: it is bounded by the store's own bound.
    store.onRemove = (key, set) => {
      for (const v of set.variants) {
        for (const tag of v.tags) {
          const keys = this.#tags.get(tag)
          if (keys === undefined) continue
          keys.delete(key)
          if (keys.size === 0) this.#tags.delete(tag)
        }
      }
    }
  }

  /** Number of tags indexed (for tests and stats). */
  get tagCount (): number {
    return this.#tags.size
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
    const next = [entry, ...kept].slice(0, this.#opts.maxVariants)
    this.#write(key, next, now)
    // Tags only the replaced or dropped variants carried no longer lead to this key.
    for (const old of set?.variants ?? []) {
      if (next.includes(old)) continue
      for (const tag of old.tags) {
        if (next.some(v => v.tags.includes(tag))) continue
        const keys = this.#tags.get(tag)
        keys?.delete(key)
        if (keys?.size === 0) this.#tags.delete(tag)
      }
    }
    for (const tag of entry.tags) {
      let keys = this.#tags.get(tag)
      if (keys === undefined) this.#tags.set(tag, keys = new Set())
      keys.add(key)
    }
  }

  /**
   * Purges every variant of a URL, fresh or stale. A soft purge marks them stale instead, so
   * revalidation, stale-while-revalidate and stale-if-error still apply. Returns variants affected.
   */
  async purge (key: string, soft: boolean, now: number): Promise<number> {
    const set = await this.#store.get(key)
    if (set === undefined) return 0
    if (soft) this.#write(key, set.variants.map(v => markStale(v, now)), now)
    else this.#store.delete(key)
    return set.variants.length
  }

  /** Purges every URL whose key starts with `prefix`; a prefix starting with "/" matches the path on any host. */
  async purgePrefix (prefix: string, soft: boolean, now: number): Promise<number> {
    const keys = [...(this.#store.keys?.() ?? [])].filter(k => prefix.startsWith('/') ? pathOf(k).startsWith(prefix) : k.startsWith(prefix))
    let n = 0
    for (const k of keys) n += await this.purge(k, soft, now)
    return n
  }

  /** Purges every stored response carrying any of the tags (surrogate keys). */
  async purgeTags (tags: readonly string[], soft: boolean, now: number): Promise<number> {
    let n = 0
    for (const tag of tags) {
      const keys = this.#tags.get(tag)
      if (keys === undefined) continue
      if (!soft) this.#tags.delete(tag)
      for (const k of keys) {
        const set = await this.#store.get(k)
        if (set === undefined) continue
        const hit = set.variants.filter(v => v.tags.includes(tag))
        if (hit.length === 0) continue
        n += hit.length
        const rest = soft ? set.variants.map(v => hit.includes(v) ? markStale(v, now) : v) : set.variants.filter(v => !hit.includes(v))
        if (rest.length === 0) this.#store.delete(k)
        else this.#write(k, rest, now)
      }
    }
    return n
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

/** A copy of a stored response that is stale from `now` on (soft purge). */
function markStale (v: StoredResponse, now: number): StoredResponse {
  return { ...v, lifetime: Math.min(v.lifetime, v.initialAge + Math.max(0, now - v.responseTime)) }
}

/** The path-and-query part of a primary key (scheme://host/path). */
function pathOf (key: string): string {
  const i = key.indexOf('/', key.indexOf('://') + 3)
  return i === -1 ? '/' : key.slice(i)
}

function select (set: VariantSet | undefined, headers: Headers): Lookup {
  if (set === undefined) return NONE
  for (const v of set.variants) if (variantMatches(v, headers)) return { entry: v, hasVariants: true }
  return { hasVariants: true }
}
