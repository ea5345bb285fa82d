// The HTTP cache over a store tier: selects the variant a request matches (RFC 9111 §4.1), writes
// new variants, folds updates into variants by id, and purges by URL, prefix and tag. Everything
// goes through the store contract (contract.ts), so a shared or disk tier behaves the same.

import type { Store, Variant, StoredRecord, BodyWriter, Headers } from './contract.ts'
import { markStale } from './entry.ts'
import { secondaryKey, matchesExcept } from './key.ts'
import { selectLanguage, topLanguage } from '../http/negotiation.ts'

/** A purge as every replica carries it out (admin POST /purge, PURGE, an unsafe method's invalidation). */
export type Purge =
  /** `keys`: primary keys; `paths`: path and query, on any host */
  | { kind: 'urls', keys: string[], paths: string[], soft: boolean }
  /** keys starting with `prefix`; a prefix starting with "/" matches the path on any host */
  | { kind: 'prefix', prefix: string, soft: boolean }
  /** variants carrying any of the tags */
  | { kind: 'tags', tags: string[], soft: boolean }

/** Short cross-replica fill locks (the shared tier's SET NX PX), for collapsing misses across replicas. */
export interface FillLocks {
  /** true when this caller should fetch: it took the lock, or the locks are unavailable */
  tryLock (key: string, ttlMs: number): Promise<boolean>
  /** releases a lock this replica holds */
  unlock (key: string): Promise<void>
  /** resolves once the lock is released (true) or `timeoutMs` passed (false) */
  waitUnlock (key: string, timeoutMs: number): Promise<boolean>
}

/** Settings of the variant cache. */
export interface CacheOptions {
  /** most variants kept per primary key */
  maxVariants: number
  /** most keys a prefix purge visits */
  maxPurgeKeys: number
  /**
   * Re-reads a key from a tier other replicas write to, when the local variants match none
   * (another replica may have stored the one this request selects).
   */
  reload?: ((key: string) => Promise<readonly Variant[]>) | undefined
  /** keys starting with a URL prefix, at most `limit` (a shared tier's SCAN); default: store.keys filtered */
  scanKeys?: ((prefix: string, limit: number) => Promise<string[]>) | undefined
  /** told of every purge and invalidation carried out here, so other replicas carry it out too */
  announce?: ((p: Purge) => Promise<void>) | undefined
  /** cross-replica fill locks (collapsing) */
  locks?: FillLocks | undefined
}

/** The result of a lookup. */
export interface Lookup {
  /** the variant that matches the request, if any */
  entry?: Variant
  /** every stored variant of the URL, newest first (so a miss is a vary-miss, not a uri-miss) */
  variants: readonly Variant[]
}

const NONE: Lookup = Object.freeze({ variants: Object.freeze([]) as readonly Variant[] })

/** True when a stored record was selected by a request with these headers (§4.1). */
export function variantMatches (r: StoredRecord, headers: Headers): boolean {
  if (r.varyFields.length === 0) return true
  // "A stored response with a Vary header field value containing a member "*" always fails to match."
  if (r.varyFields[0] === '*') return false
  return secondaryKey(r.varyFields, headers) === r.varyKey
}

/** Vary-aware cache over a store tier. */
export class HttpCache {
  readonly store: Store
  readonly #opts: CacheOptions
  /** invalidation counts of recently invalidated keys, oldest first; bounded */
  readonly #generations = new Map<string, number>()
  static readonly MAX_GENERATIONS = 10_000

  constructor (store: Store, opts: CacheOptions) {
    this.store = store
    this.#opts = opts
  }

  /** Finds the newest stored variant matching the request headers (RFC 9111 §4.1); synchronous when the tier is. */
  lookup (key: string, headers: Headers): Lookup | Promise<Lookup> {
    const got = this.store.get(key)
    if (got instanceof Promise) return got.then(v => select(v, headers))
    const found = select(got, headers)
    const reload = this.#opts.reload
    // Variants here, none of them this request's (Vary): another replica may hold its variant.
    if (found.entry !== undefined || got.length === 0 || reload === undefined) return found
    return reload(key).then(v => select(v, headers))
  }

  /** The cross-replica fill locks, when a shared tier provides them. */
  get locks (): FillLocks | undefined {
    return this.#opts.locks
  }

  /** The stored variants of a URL, newest first. */
  async variants (key: string): Promise<readonly Variant[]> {
    return await this.store.get(key)
  }

  /** The body of a variant (from memory, or read from the tier). */
  body (v: Variant): Buffer | undefined | Promise<Buffer | undefined> {
    return v.body ?? this.store.body(v.record.key, v.record.id)
  }

  /**
   * Starts storing a response. It replaces the variants the producing request matches ("a new
   * response for a URL replaces the variant it matches, not all variants"), bounded to maxVariants.
   */
  put (record: StoredRecord, requestHeaders: Headers, current: readonly Variant[]): BodyWriter | undefined {
    const replaces = current.filter(v => variantMatches(v.record, requestHeaders)).map(v => v.record.id)
    return this.store.put(record, { replaces, maxVariants: this.#opts.maxVariants })
  }

  /** Writes freshened records (same ids) after a 304 or a HEAD (§4.3.4, §4.3.5). */
  async update (records: readonly StoredRecord[]): Promise<void> {
    await Promise.all(records.map(r => this.store.update(r)))
  }

  /** Removes single variants by id (a HEAD showed one changed, §4.3.5; a 304 with no-store). */
  async remove (key: string, ids: readonly string[]): Promise<number> {
    return await this.store.remove(key, ids)
  }

  /**
   * The key's invalidation count: a response is stored only when it is the same as when its
   * request started, so a GET in flight when a POST invalidated the URL does not store its older
   * response. Forgotten keys answer 0, which can only make a response less storable.
   */
  generation (key: string): number {
    return this.#generations.get(key) ?? 0
  }

  /** Drops every variant of a URL (RFC 9111 §4.4). */
  async invalidate (key: string): Promise<number> {
    const g = (this.#generations.get(key) ?? 0) + 1
    this.#generations.delete(key)
    if (this.#generations.size >= HttpCache.MAX_GENERATIONS) this.#generations.delete(this.#generations.keys().next().value!)
    this.#generations.set(key, g)
    const n = await this.store.delete(key)
    await this.#announce({ kind: 'urls', keys: [key], paths: [], soft: false })
    return n
  }

  /** Tells the other replicas of a purge carried out here; their trouble never fails this one. */
  async #announce (p: Purge): Promise<void> {
    await this.#opts.announce?.(p).catch(() => undefined)
  }

  /** Carries out a purge here and tells the other replicas; resolves to the variants affected. */
  async purgeAll (p: Purge, now: number): Promise<number> {
    const n = await this.apply(p, now)
    await this.#announce(p)
    return n
  }

  /** Carries out a purge here only (one another replica announced, or fanned out to every worker). */
  async apply (p: Purge, now: number): Promise<number> {
    if (p.kind === 'prefix') return await this.#purgePrefix(p.prefix, p.soft, now)
    if (p.kind === 'tags') return await this.#purgeTags(p.tags, p.soft, now)
    let n = 0
    for (const k of p.keys) n += await this.#purge(k, p.soft, now)
    for (const path of p.paths) n += await this.#purgePath(path, p.soft, now)
    return n
  }

  /**
   * Purges every variant of a URL, fresh or stale. A soft purge marks them stale instead, so
   * revalidation, stale-while-revalidate and stale-if-error still apply. Returns variants affected.
   */
  async purge (key: string, soft: boolean, now: number): Promise<number> {
    return await this.purgeAll({ kind: 'urls', keys: [key], paths: [], soft }, now)
  }

  async #purge (key: string, soft: boolean, now: number): Promise<number> {
    if (!soft) return await this.store.delete(key)
    const variants = await this.store.get(key)
    await this.update(variants.map(v => markStale(v.record, now)))
    return variants.length
  }

  /** Purges every URL whose key starts with `prefix`; a prefix starting with "/" matches the path on any host. */
  async purgePrefix (prefix: string, soft: boolean, now: number): Promise<number> {
    return await this.purgeAll({ kind: 'prefix', prefix, soft }, now)
  }

  async #purgePrefix (prefix: string, soft: boolean, now: number): Promise<number> {
    const max = this.#opts.maxPurgeKeys
    const scan = this.#opts.scanKeys
    const keys = !prefix.startsWith('/') && scan !== undefined
      ? await scan(prefix, max)
      : (await this.store.keys(max)).filter(k => prefix.startsWith('/') ? pathOf(k).startsWith(prefix) : k.startsWith(prefix))
    let n = 0
    for (const k of keys) n += await this.#purge(k, soft, now)
    return n
  }

  /** Purges every URL whose path and query are exactly `path`, on any host and scheme (bounded in keys visited). */
  async purgePath (path: string, soft: boolean, now: number): Promise<number> {
    return await this.purgeAll({ kind: 'urls', keys: [], paths: [path], soft }, now)
  }

  async #purgePath (path: string, soft: boolean, now: number): Promise<number> {
    const keys = (await this.store.keys(this.#opts.maxPurgeKeys)).filter(k => pathOf(k) === path)
    let n = 0
    for (const k of keys) n += await this.#purge(k, soft, now)
    return n
  }

  /** Purges every stored response carrying any of the tags (surrogate keys). */
  async purgeTags (tags: readonly string[], soft: boolean, now: number): Promise<number> {
    return await this.purgeAll({ kind: 'tags', tags: [...tags], soft }, now)
  }

  async #purgeTags (tags: readonly string[], soft: boolean, now: number): Promise<number> {
    let n = 0
    for (const tag of tags) {
      for (const k of await this.store.tagged(tag)) {
        const hit = (await this.store.get(k)).filter(v => v.record.tags.includes(tag))
        if (hit.length === 0) continue
        n += hit.length
        if (soft) await this.update(hit.map(v => markStale(v.record, now)))
        else await this.store.remove(k, hit.map(v => v.record.id))
      }
    }
    return n
  }
}

/** The path-and-query part of a primary key (scheme://host/path). */
export function pathOf (key: string): string {
  const i = key.indexOf('/', key.indexOf('://') + 3)
  return i === -1 ? '/' : key.slice(i)
}

function select (variants: readonly Variant[], headers: Headers): Lookup {
  if (variants.length === 0) return NONE
  for (const v of variants) if (variantMatches(v.record, headers)) return { entry: v, variants }
  const negotiated = byLanguage(variants, headers)
  return negotiated === undefined ? { variants } : { entry: negotiated, variants }
}

/**
 * Language negotiation (RFC 9111 §4.1 lets a cache match by the field's semantics): with no exact
 * Vary match, a stored variant whose Content-Language is what the request's Accept-Language
 * prefers most may be reused, when every other Vary field matches: `fr;q=0.5, de;q=1.0` reuses a
 * stored `de` variant. Never without an Accept-Language choice.
 */
function byLanguage (variants: readonly Variant[], headers: Headers): Variant | undefined {
  if (headers['accept-language'] === undefined) return undefined
  const candidates = new Map<string, Variant>()
  for (const v of variants) {
    const r = v.record
    if (r.status < 200 || r.status >= 300 || !r.varyFields.includes('accept-language') || r.varyFields[0] === '*') continue
    const lang = r.headers['content-language']
    if (typeof lang !== 'string' || lang.includes(',') || !matchesExcept(r.varyFields, r.varyKey, headers, 'accept-language')) continue
    const tag = lang.trim().toLowerCase()
    if (!candidates.has(tag)) candidates.set(tag, v)
  }
  // Only the client's first choice is safe to assume: the origin may have a language the cache has
  // not seen ("en, fr" with only fr stored must still ask), so exactly one stored language must
  // fall under the client's most preferred range.
  const top = topLanguage(headers['accept-language'])
  if (top === undefined) return undefined
  const under = [...candidates.keys()].filter(tag => tag === top || tag.startsWith(top + '-'))
  const chosen = under.length === 1 ? selectLanguage(headers['accept-language'], under) : undefined
  return chosen === undefined ? undefined : candidates.get(chosen)
}
