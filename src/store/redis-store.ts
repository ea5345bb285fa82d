// The shared tier: the store contract (contract.ts) over Redis ≥ 6 or Valkey, one server, a
// Sentinel-managed primary or a Cluster. Also the cross-replica pieces the cache layer wires in:
// an invalidation channel and short locks for collapsing. Redis trouble never reaches a caller:
// reads answer "nothing", writes fail quietly, and every command waits at most `commandTimeout`.
//
// Client: ioredis. It is the most used Node client, maintained under the Redis organisation, and
// it speaks to a single server, Sentinel and Cluster through one API (node-redis needs a
// different client object per mode); Lua scripts are cached by SHA and resent on NOSCRIPT; and it
// can refuse commands while disconnected (enableOfflineQueue: false) instead of queueing them.
// iovalkey is its fork with the same API, should a Valkey-only client ever be wanted.
//
// Key layout (cluster-safe; P = store.prefix, h = a hash of the primary key K):
//   P{h}:e:K        hash: one primary key's variants (records, bodies, order), see redis-lua.ts
//   P{h}:l          lock for collapsing misses of K across replicas
//   Ptag:<tag>      set of "K\n<id>" members: the variants carrying the tag (its own slot)
//   Pinvalidate     pub/sub channel of purges
// The {h} hash tag puts everything of one primary key in one slot; each script touches one key.
// Tag sets live in other slots, so they are updated after the entry script, not inside it:
// members name a variant id, which is never reused, so a late SREM can never drop a newer member.

import { createHash, randomBytes } from 'node:crypto'
import { Redis, Cluster, type RedisOptions } from 'ioredis'
import type { Store, StoredRecord, Variant, BodyWriter, PutOptions, StoreStats, RemovalReason } from '../cache/contract.ts'
import type { Purge } from '../cache/cache.ts'
import { PUT, UPDATE, REMOVE, TAG, UNLOCK } from './redis-lua.ts'
import { variantSize } from './writer.ts'
import { bufferedWriter } from './writer.ts'
import type { SharedTarget } from './shared-url.ts'

/** Settings of the Redis tier. */
export interface RedisStoreOptions {
  /** where Redis is (store/shared-url.ts `parseSharedTarget`) */
  target: SharedTarget
  /** put before every key and the channel name (store.prefix) */
  prefix: string
  /** longest wait for one command, ms (store.commandTimeout) */
  commandTimeout: number
  /** largest single variant in bytes (body plus record) */
  maxEntryBytes: number
  /** the policy clock, ms since the epoch: records' keepUntil is measured against it */
  clock: () => number
  /** reported as the bound in stats; Redis's own maxmemory is the real one */
  maxBytes?: number
}

/** A purge to carry out on every replica: a cache-layer purge, or one key. */
export type Invalidation =
  | Purge
  | { kind: 'key', key: string, soft: boolean }

/** An invalidation as received: with the sender's id. */
export type InvalidationMessage = Invalidation & { from: string }

/** The tier's connection state, for /readyz and metrics. */
export type TierState =
  /** commands are being answered */
  | 'ready'
  /** not yet connected since start */
  | 'connecting'
  /** the connection was lost or closed; reconnecting with backoff */
  | 'down'

/** Counters for metrics. */
export interface TierCounters {
  /** gets that found at least one variant */
  hits: number
  /** gets that found none (a failed get counts as a miss and an error) */
  misses: number
  /** commands that failed or timed out */
  errors: number
  /** sum of get latencies, ms */
  latencySum: number
  /** number of gets timed */
  latencyCount: number
}

interface Scripts {
  fgPut: (key: string, ...args: Array<string | Buffer | number>) => Promise<string[]>
  fgUpdate: (key: string, ...args: Array<string | number>) => Promise<string[] | null>
  fgRemove: (key: string, ...args: Array<string | number>) => Promise<string[]>
  fgTag: (key: string, ...args: Array<string | number>) => Promise<number>
  fgUnlock: (key: string, token: string) => Promise<number>
}

type Client = (Redis | Cluster) & Scripts

/** Per-variant facts the scripts read: secondary key, vary fields and keepUntil. */
function metaOf (r: StoredRecord): string {
  return JSON.stringify({ f: r.varyFields, v: r.varyKey, u: r.keepUntil })
}

/** Escapes Redis glob characters, so a URL prefix matches literally in SCAN MATCH. */
function globEscape (text: string): string {
  return text.replace(/[*?[\]\\]/g, c => '\\' + c)
}

/** Redis and Valkey through ioredis: the store contract, plus invalidations and locks. */
export class RedisStore implements Store {
  /** this handle's id: names it in invalidations so it can ignore its own */
  readonly id = randomBytes(8).toString('base64url')
  readonly #opts: RedisStoreOptions
  readonly #client: Client
  #subscriber: Client | undefined
  #subscribing: Promise<boolean> | undefined
  readonly #listeners: Array<(msg: InvalidationMessage) => void> = []
  readonly #locks = new Map<string, string>()
  readonly #counters: TierCounters = { hits: 0, misses: 0, errors: 0, latencySum: 0, latencyCount: 0 }
  #everReady = false
  #closed = false
  /** when a command last failed or timed out (Date.now()), 0 when none has */
  #failedAt = 0
  #entries = 0
  #bytes = 0

  onRemove: ((record: StoredRecord, reason: RemovalReason) => void) | undefined

  constructor (opts: RedisStoreOptions) {
    if (!(opts.commandTimeout > 0)) throw new TypeError(`RedisStore commandTimeout must be a positive number, got ${opts.commandTimeout}`)
    if (!(opts.maxEntryBytes > 0)) throw new TypeError(`RedisStore maxEntryBytes must be a positive number, got ${opts.maxEntryBytes}`)
    if (opts.prefix.includes('{') || opts.prefix.includes('}')) throw new TypeError(`RedisStore prefix must not contain { or }, got ${opts.prefix}`)
    this.#opts = opts
    this.#client = this.#connect(false)
    this.#client.on('ready', () => { this.#everReady = true })
  }

  /** The entry hash of a primary key. */
  #entry (key: string): string {
    return `${this.#opts.prefix}{${slotOf(key)}}:e:${key}`
  }

  #tagKey (tag: string): string {
    return `${this.#opts.prefix}tag:${tag}`
  }

  /** A client for the target. Reads and writes never queue while disconnected; the subscriber may. */
  #connect (subscriber: boolean): Client {
    const t = this.#opts.target
    const common: RedisOptions = {
      username: t.username,
      password: t.password,
      // Bounded waiting: one timeout per command; nothing queued while down; no resend after a drop.
      commandTimeout: subscriber ? undefined : this.#opts.commandTimeout,
      connectTimeout: Math.max(1000, this.#opts.commandTimeout * 10),
      maxRetriesPerRequest: subscriber ? null : 0,
      enableOfflineQueue: subscriber,
      retryStrategy: backoff,
      ...(t.tls ? { tls: {} } : {})
    }
    let client: Redis | Cluster
    if (t.mode === 'cluster') {
      const { retryStrategy: _r, enableOfflineQueue, ...redisOptions } = common
      client = new Cluster(t.nodes, {
        redisOptions,
        enableOfflineQueue,
        clusterRetryStrategy: backoff,
        slotsRefreshTimeout: Math.max(1000, this.#opts.commandTimeout * 10)
      })
    } else if (t.mode === 'sentinel') {
      client = new Redis({ ...common, db: t.db, sentinels: t.nodes, name: t.name, sentinelRetryStrategy: backoff })
    } else {
      client = new Redis({ ...common, host: t.nodes[0]!.host, port: t.nodes[0]!.port, db: t.db })
    }
    // Errors are counted; the 'error' listener also keeps ioredis from printing them unhandled.
    client.on('error', () => { this.#counters.errors++ })
    client.defineCommand('fgPut', { lua: PUT, numberOfKeys: 1 })
    client.defineCommand('fgUpdate', { lua: UPDATE, numberOfKeys: 1 })
    client.defineCommand('fgRemove', { lua: REMOVE, numberOfKeys: 1 })
    client.defineCommand('fgTag', { lua: TAG, numberOfKeys: 1 })
    client.defineCommand('fgUnlock', { lua: UNLOCK, numberOfKeys: 1 })
    return client as Client
  }

  /** Runs a command; on failure or timeout counts an error and answers `fallback`. */
  async #try<T> (fallback: T, run: () => Promise<T>): Promise<T> {
    if (this.#closed) return fallback
    try {
      return await run()
    } catch {
      this.#counters.errors++
      this.#failedAt = Date.now()
      return fallback
    }
  }

  async get (key: string): Promise<Variant[]> {
    const started = performance.now()
    const fields = await this.#try<Record<string, Buffer> | undefined>(undefined, async () => await this.#client.hgetallBuffer(this.#entry(key)))
    this.#counters.latencySum += performance.now() - started
    this.#counters.latencyCount++
    const variants = fields === undefined ? [] : variantsOf(fields)
    if (variants.length > 0) this.#counters.hits++
    else this.#counters.misses++
    return variants
  }

  async body (key: string, id: string): Promise<Buffer | undefined> {
    const b = await this.#try<Buffer | null>(null, async () => await this.#client.hgetBuffer(this.#entry(key), `b:${id}`))
    return b ?? undefined
  }

  put (record: StoredRecord, opts: PutOptions): BodyWriter | undefined {
    return bufferedWriter(record, this.#opts.maxEntryBytes, async (r, body) => { await this.#commit(r, body, opts) })
  }

  /** Runs the commit script, then links the new variant's tags and unlinks the removed ones'. */
  async #commit (record: StoredRecord, body: Buffer, opts: PutOptions): Promise<void> {
    if (this.#closed) throw new Error('variant not stored: the store is closed')
    const now = this.#opts.clock()
    let gone: string[]
    try {
      gone = await this.#client.fgPut(this.#entry(record.key), record.id, JSON.stringify(record), body, metaOf(record), now,
        Math.max(1, opts.maxVariants), JSON.stringify(opts.replaces))
    } catch (err) {
      this.#counters.errors++
      throw new Error('variant not stored: the shared tier did not answer', { cause: err })
    }
    const removed = this.#removed(gone)
    if (record.keepUntil - now > 0) {
      this.#entries++
      this.#bytes += variantSize(record)
      await this.#link(record, record.tags, Math.ceil(record.keepUntil - now))
    }
    await this.#unlink(record.key, removed)
  }

  /** Adds a variant to its tag sets, extending each set's TTL to cover it. */
  async #link (record: StoredRecord, tags: readonly string[], ttl: number): Promise<void> {
    await Promise.all(tags.map(tag => this.#try(0, async () => await this.#client.fgTag(this.#tagKey(tag), ttl, `${record.key}\n${record.id}`))))
  }

  /** Removes variants from their tag sets. */
  async #unlink (key: string, records: Array<{ id: string, tags: readonly string[] }>): Promise<void> {
    const byTag = new Map<string, string[]>()
    for (const r of records) for (const tag of r.tags) {
      const members = byTag.get(tag) ?? []
      members.push(`${key}\n${r.id}`)
      byTag.set(tag, members)
    }
    await Promise.all([...byTag].map(([tag, members]) => this.#try(0, async () => await this.#client.srem(this.#tagKey(tag), ...members))))
  }

  /** Reads a script's [id, record JSON, …] list of removed variants, reports them and updates the counts. */
  #removed (flat: string[]): Array<{ id: string, tags: readonly string[] }> {
    const out: Array<{ id: string, tags: readonly string[] }> = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const record = parseRecord(flat[i + 1]!)
      out.push({ id: flat[i]!, tags: record?.tags ?? [] })
      this.#entries = Math.max(0, this.#entries - 1)
      if (record === undefined) continue
      this.#bytes = Math.max(0, this.#bytes - variantSize(record))
      this.onRemove?.(record, 'delete')
    }
    return out
  }

  async update (record: StoredRecord): Promise<boolean> {
    const now = this.#opts.clock()
    const reply = await this.#try<string[] | null>(null, async () =>
      await this.#client.fgUpdate(this.#entry(record.key), record.id, JSON.stringify(record), metaOf(record), now))
    if (reply === null) return false
    const old = parseRecord(reply[0] ?? '')
    const removed = this.#removed(reply.slice(1))
    const before = old?.tags ?? []
    if (!removed.some(r => r.id === record.id)) await this.#link(record, record.tags.filter(t => !before.includes(t)), Math.ceil(record.keepUntil - now))
    await this.#unlink(record.key, [...removed, { id: record.id, tags: before.filter(t => !record.tags.includes(t)) }])
    return true
  }

  async remove (key: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0
    return await this.#remove(key, ids)
  }

  async delete (key: string): Promise<number> {
    return await this.#remove(key, [])
  }

  /** Removes the listed variants, or all of them when `ids` is empty. */
  async #remove (key: string, ids: readonly string[]): Promise<number> {
    const gone = await this.#try<string[]>([], async () => await this.#client.fgRemove(this.#entry(key), this.#opts.clock(), ...ids))
    const removed = this.#removed(gone)
    await this.#unlink(key, removed)
    return removed.length
  }

  /** Primary keys with a variant carrying `tag`; members whose variant is gone (expired) are pruned. */
  async tagged (tag: string): Promise<string[]> {
    const tagKey = this.#tagKey(tag)
    const members = await this.#try<string[]>([], async () => await this.#client.smembers(tagKey))
    const live = new Set<string>()
    const stale: string[] = []
    await Promise.all(members.map(async member => {
      const nl = member.lastIndexOf('\n')
      if (nl === -1) return stale.push(member)
      const key = member.slice(0, nl)
      // An unanswered check keeps the member: a purge may then find nothing, never miss one.
      const exists = await this.#try(1, async () => await this.#client.hexists(this.#entry(key), `s:${member.slice(nl + 1)}`))
      if (exists === 1) live.add(key)
      else stale.push(member)
    }))
    if (stale.length > 0) await this.#try(0, async () => await this.#client.srem(tagKey, ...stale))
    return [...live]
  }

  async keys (limit: number): Promise<string[]> {
    return await this.scanKeys('', limit)
  }

  /**
   * Primary keys starting with `keyPrefix`, at most `limit`, found with SCAN on every primary
   * (purges by prefix). Bounded: at most 1000 SCAN calls of COUNT 1000 per node.
   */
  async scanKeys (keyPrefix: string, limit: number): Promise<string[]> {
    const pattern = `${globEscape(this.#opts.prefix)}{*}:e:${globEscape(keyPrefix)}*`
    const nodes: Redis[] = this.#client instanceof Cluster ? this.#client.nodes('master') : [this.#client as Redis]
    const out = new Set<string>()
    for (const node of nodes) {
      let cursor = '0'
      for (let calls = 0; calls < 1000 && out.size < limit; calls++) {
        const reply = await this.#try<[string, string[]] | undefined>(undefined, async () => await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000))
        if (reply === undefined) break
        for (const name of reply[1]) {
          if (out.size >= limit) break
          const at = name.indexOf('}:e:')
          if (at !== -1) out.add(name.slice(at + 4))
        }
        cursor = reply[0]
        if (cursor === '0') break
      }
    }
    return [...out]
  }

  /** Variants and bytes this handle wrote, net of what it removed: Redis itself holds the truth (INFO memory). */
  stats (): StoreStats {
    return { entries: this.#entries, bytes: this.#bytes, maxBytes: this.#opts.maxBytes ?? Number.MAX_SAFE_INTEGER, evictions: 0 }
  }

  /** Connection state, for /readyz and metrics. */
  state (): TierState {
    const status = this.#client.status
    if (status === 'ready') return 'ready'
    if (!this.#everReady && !this.#closed && status !== 'end') return 'connecting'
    return 'down'
  }

  /** Hits, misses, errors and get latency so far (a copy). */
  counters (): TierCounters {
    return { ...this.#counters }
  }

  /** Resolves once the tier answers, or false after `timeoutMs`. */
  async ready (timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (this.state() === 'ready') return true
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    return this.state() === 'ready'
  }

  /** Tells every other replica to carry out a purge; false when the tier did not take it. */
  async publishInvalidation (msg: Invalidation): Promise<boolean> {
    const sent = await this.#try(-1, async () => await this.#client.publish(`${this.#opts.prefix}invalidate`, JSON.stringify({ ...msg, from: this.id })))
    return sent >= 0
  }

  /** Calls `fn` with every invalidation other handles publish; malformed messages are ignored. */
  onInvalidation (fn: (msg: InvalidationMessage) => void): void {
    this.#listeners.push(fn)
    if (this.#subscriber !== undefined || this.#closed) return
    const channel = `${this.#opts.prefix}invalidate`
    const sub = this.#subscriber = this.#connect(true)
    sub.on('message', (ch: string, text: string) => {
      if (ch !== channel) return
      const msg = parseInvalidation(text)
      if (msg === undefined || msg.from === this.id) return
      for (const l of this.#listeners) l(msg)
    })
    // Subscribed once; ioredis resubscribes after every reconnect.
    this.#subscribing = sub.subscribe(channel).then(() => true, () => { this.#counters.errors++; return false })
  }

  /** Resolves true once this handle's invalidation listener is subscribed, or false after `timeoutMs`. */
  async subscribed (timeoutMs: number): Promise<boolean> {
    if (this.#subscribing === undefined) return false
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), timeoutMs) })
    try {
      return await Promise.race([this.#subscribing, late])
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Takes the cross-replica fill lock of a primary key for `ttlMs` (SET NX PX). True when this
   * caller should go to the origin: it holds the lock, or the tier is unavailable (best effort:
   * an outage must not make every replica wait).
   */
  async tryLock (key: string, ttlMs: number): Promise<boolean> {
    // A tier that just failed a command is not asked: a stalled Redis would add a timeout to every miss.
    if (Date.now() - this.#failedAt < LOCK_BACKOFF) return true
    const token = randomBytes(8).toString('base64url')
    const reply = await this.#try<string | null | undefined>(undefined, async () =>
      await this.#client.set(`${this.#opts.prefix}{${slotOf(key)}}:l`, token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'))
    if (reply === 'OK') this.#locks.set(key, token)
    return reply !== null
  }

  /** Releases a lock this handle holds (only if it still holds it). */
  async unlock (key: string): Promise<void> {
    const token = this.#locks.get(key)
    if (token === undefined) return
    this.#locks.delete(key)
    await this.#try(0, async () => await this.#client.fgUnlock(`${this.#opts.prefix}{${slotOf(key)}}:l`, token))
  }

  /** Polls until the lock of a key is released (true) or `timeoutMs` passes (false); an unanswered poll counts as released. */
  async waitUnlock (key: string, timeoutMs: number, pollMs = 10): Promise<boolean> {
    const lock = `${this.#opts.prefix}{${slotOf(key)}}:l`
    const until = Date.now() + timeoutMs
    for (;;) {
      const held = await this.#try(0, async () => await this.#client.exists(lock))
      if (held === 0) return true
      const left = until - Date.now()
      if (left <= 0) return false
      await new Promise(resolve => setTimeout(resolve, Math.min(pollMs, left)))
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#client.disconnect()
    this.#subscriber?.disconnect()
  }
}

/** How long after a failed command fill locks are not asked for (collapsing is best effort), ms. */
const LOCK_BACKOFF = 1000

/** Reconnect delay: forever, backing off to 2 s between attempts, with jitter so replicas spread out. */
function backoff (times: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(times, 6)) + Math.floor(Math.random() * 50)
}

/** The hash tag of a primary key: 96 bits of its SHA-1, so keys spread evenly over Cluster slots. */
export function slotOf (key: string): string {
  return createHash('sha1').update(key).digest('base64url').slice(0, 16)
}

/** The variants of an entry hash, newest first; a variant missing its record or body is skipped. */
function variantsOf (fields: Record<string, Buffer>): Variant[] {
  const ordered: Array<{ order: number, v: Variant }> = []
  for (const name in fields) {
    if (!name.startsWith('s:')) continue
    const id = name.slice(2)
    const body = fields[`b:${id}`]
    const record = parseRecord(fields[`r:${id}`]?.toString() ?? '')
    if (body === undefined || record === undefined || record.id !== id) continue
    ordered.push({ order: Number(fields[name]!.toString()), v: { record: { ...record, bodySize: body.length }, body } })
  }
  return ordered.sort((a, b) => b.order - a.order).map(o => o.v)
}

/** A stored record, or undefined when the text is not one. */
function parseRecord (text: string): StoredRecord | undefined {
  try {
    const r = JSON.parse(text) as StoredRecord | null
    if (r === null || typeof r !== 'object' || typeof r.id !== 'string' || typeof r.key !== 'string' || !Array.isArray(r.tags)) return undefined
    return r
  } catch {
    return undefined
  }
}

/** An invalidation message, or undefined when the text is not one. */
function parseInvalidation (text: string): InvalidationMessage | undefined {
  let m: Partial<{ from: unknown, kind: unknown, key: unknown, keys: unknown, paths: unknown, prefix: unknown, tags: unknown, soft: unknown }>
  try { m = JSON.parse(text) as typeof m } catch { return undefined }
  if (m === null || typeof m !== 'object' || typeof m.from !== 'string' || typeof m.soft !== 'boolean') return undefined
  const base = { from: m.from, soft: m.soft }
  if (m.kind === 'key' && typeof m.key === 'string') return { ...base, kind: 'key', key: m.key }
  if (m.kind === 'prefix' && typeof m.prefix === 'string') return { ...base, kind: 'prefix', prefix: m.prefix }
  if (m.kind === 'urls' && isStrings(m.keys) && isStrings(m.paths)) return { ...base, kind: 'urls', keys: m.keys, paths: m.paths }
  if (m.kind === 'tags' && Array.isArray(m.tags) && m.tags.every(t => typeof t === 'string')) return { ...base, kind: 'tags', tags: m.tags as string[] }
  return undefined
}

function isStrings (v: unknown): v is string[] {
  return Array.isArray(v) && v.every(t => typeof t === 'string')
}
