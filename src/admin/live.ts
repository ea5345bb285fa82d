// The status page's figures (GET /stats): per-second request and origin counts for the last few
// minutes, recent latencies of hits and misses, the keys hit most, and the latest responses not
// stored with their Cache-Status. Fed by the metrics observer; every structure has a fixed bound.

import type { ServedKind, ServedFacts } from '../proxy/context.ts'
import type { ErrorCode } from '../errors.ts'

/** Seconds of per-second history kept (and shown as the sparklines). */
export const HISTORY_SECONDS = 300
/** Latencies kept per class (hits, misses), the most recent ones. */
export const LATENCY_SAMPLES = 1024
/** Keys counted per window before the counts are halved and the rare ones dropped. */
export const MAX_TRACKED_KEYS = 2000
/** Length of one top-keys window; the top keys are those of the current and the previous window. */
export const TOP_WINDOW_MS = 5 * 60_000
/** Keys shown as the top keys. */
export const TOP_KEYS = 10
/** Recent responses not stored, kept for "why was this not cached?". */
export const RECENT_NOT_STORED = 25

/** Kinds answered from storage without an origin request of their own (as /cache/stats counts them). */
const FROM_CACHE: ReadonlySet<ServedKind> = new Set(['hit', 'stale', 'collapsed'])
/** Kinds that asked the origin for this request. */
const TO_ORIGIN: ReadonlySet<ServedKind> = new Set(['miss', 'revalidated'])
/** Kinds whose response may have been stored, and so may say why it was not. */
const MAY_STORE: ReadonlySet<ServedKind> = new Set(['miss', 'pass', 'error'])

/** One response not stored. */
export interface NotStored {
  /** ISO time */
  at: string
  method: string
  key: string
  status: number
  /** our Cache-Status member, whose fwd and detail say why */
  cacheStatus: string
}

/** Latency percentiles in milliseconds over the recent samples; null without samples. */
export interface Percentiles { count: number, p50: number | null, p90: number | null, p99: number | null }

/** What GET /stats shows of the traffic (the admin server adds the store and the origin). */
export interface LiveSnapshot {
  /** the second (ms since the epoch) of the last element of each series */
  until: number
  /** per second, oldest first, HISTORY_SECONDS long */
  series: {
    /** client responses */
    requests: number[]
    /** of those, answered from storage (hit, stale, collapsed) */
    fromCache: number[]
    /** of those, looked up in the cache (fromCache plus miss and revalidated) */
    lookups: number[]
    /** upstream exchanges (responses and failures) */
    origin: number[]
    /** failed upstream exchanges */
    originErrors: number[]
  }
  /** over the last minute */
  lastMinute: { requestsPerSecond: number, originPerSecond: number, hitRatio: number | null }
  latencyMs: { hits: Percentiles, misses: Percentiles }
  /** variants evicted since start, by reason */
  evictions: { size: number, ttl: number, purge: number }
  upstream: { lastError: { code: ErrorCode, at: string } | null, statuses: Record<string, number> }
  topKeys: Array<{ key: string, hits: number }>
  notStored: NotStored[]
}

/** The most recent `size` numbers. */
class Samples {
  readonly #values: Float64Array
  #next = 0
  #count = 0
  constructor (size: number) { this.#values = new Float64Array(size) }
  add (v: number): void {
    this.#values[this.#next] = v
    this.#next = (this.#next + 1) % this.#values.length
    if (this.#count < this.#values.length) this.#count++
  }

  percentiles (): Percentiles {
    if (this.#count === 0) return { count: 0, p50: null, p90: null, p99: null }
    const sorted = this.#values.slice(0, this.#count).sort()
    const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000) / 1000
    return { count: this.#count, p50: at(0.5), p90: at(0.9), p99: at(0.99) }
  }
}

/** Counts per key, bounded: when full, counts are halved and keys falling to zero are dropped. */
class KeyCounts {
  readonly counts = new Map<string, number>()
  add (key: string): void {
    const n = this.counts.get(key)
    if (n !== undefined) { this.counts.set(key, n + 1); return }
    if (this.counts.size >= MAX_TRACKED_KEYS) this.#halve()
    this.counts.set(key, 1)
  }

  #halve (): void {
    for (const [k, n] of this.counts) {
      if (n < 2) this.counts.delete(k)
      else this.counts.set(k, n >> 1)
    }
  }
}

/** The live figures of one process. */
export class LiveStats {
  readonly #now: () => number
  /** the second each slot counts, to clear slots left from an earlier round */
  readonly #stamp = new Float64Array(HISTORY_SECONDS).fill(-1)
  readonly #requests = new Uint32Array(HISTORY_SECONDS)
  readonly #fromCache = new Uint32Array(HISTORY_SECONDS)
  readonly #lookups = new Uint32Array(HISTORY_SECONDS)
  readonly #origin = new Uint32Array(HISTORY_SECONDS)
  readonly #originErrors = new Uint32Array(HISTORY_SECONDS)
  readonly #hitLatency = new Samples(LATENCY_SAMPLES)
  readonly #missLatency = new Samples(LATENCY_SAMPLES)
  #keys = new KeyCounts()
  #previousKeys = new KeyCounts()
  #window = 0
  /** kept with the time as a number: formatting it is left to the (rare) reader, not every response */
  readonly #notStored: Array<Omit<NotStored, 'at'> & { atMs: number }> = []
  readonly #evictions = { size: 0, ttl: 0, purge: 0 }
  #lastError: { code: ErrorCode, at: string } | null = null
  /** upstream response statuses by class ("2xx"…), since start; at most 6 keys */
  readonly #statuses: Record<string, number> = {}

  /** @param now wall-clock ms since the epoch (rates are real time, not the policy clock) */
  constructor (now: () => number) {
    this.#now = now
  }

  /** The slot of the current second, cleared when it last counted an earlier second. */
  #slot (): number {
    const second = Math.floor(this.#now() / 1000)
    const i = second % HISTORY_SECONDS
    if (this.#stamp[i] !== second) {
      this.#stamp[i] = second
      this.#requests[i] = 0
      this.#fromCache[i] = 0
      this.#lookups[i] = 0
      this.#origin[i] = 0
      this.#originErrors[i] = 0
    }
    return i
  }

  /** A client response was sent. */
  served (kind: ServedKind, status: number, f: ServedFacts): void {
    const i = this.#slot()
    this.#requests[i]!++
    const ms = f.seconds * 1000
    if (FROM_CACHE.has(kind)) {
      this.#fromCache[i]!++
      this.#lookups[i]!++
      this.#hitLatency.add(ms)
      if (f.key !== '') this.#countKey(f.key)
    } else if (TO_ORIGIN.has(kind)) {
      this.#lookups[i]!++
      this.#missLatency.add(ms)
    }
    if (MAY_STORE.has(kind) && f.cache !== '' && !/; stored(;|$)/.test(f.cache)) {
      if (this.#notStored.length >= RECENT_NOT_STORED) this.#notStored.shift()
      this.#notStored.push({ atMs: this.#now(), method: f.method, key: f.key, status, cacheStatus: f.cache })
    }
  }

  /** An upstream response head arrived. */
  upstream (status: number): void {
    this.#origin[this.#slot()]!++
    const c = `${Math.floor(status / 100)}xx`
    this.#statuses[c] = (this.#statuses[c] ?? 0) + 1
  }

  /** An upstream exchange failed. */
  upstreamError (code: ErrorCode): void {
    const i = this.#slot()
    this.#origin[i]!++
    this.#originErrors[i]!++
    this.#lastError = { code, at: new Date(this.#now()).toISOString() }
  }

  /** Variants left the store for `reason`. */
  evicted (reason: 'size' | 'ttl' | 'purge', n = 1): void {
    this.#evictions[reason] += n
  }

  #countKey (key: string): void {
    const w = Math.floor(this.#now() / TOP_WINDOW_MS)
    if (w !== this.#window) {
      // A gap longer than one window leaves nothing worth keeping from before it.
      this.#previousKeys = w === this.#window + 1 ? this.#keys : new KeyCounts()
      this.#keys = new KeyCounts()
      this.#window = w
    }
    this.#keys.add(key)
  }

  /** The figures as GET /stats shows them. */
  snapshot (): LiveSnapshot {
    const now = this.#now()
    const second = Math.floor(now / 1000)
    const series = { requests: [] as number[], fromCache: [] as number[], lookups: [] as number[], origin: [] as number[], originErrors: [] as number[] }
    for (let s = second - HISTORY_SECONDS + 1; s <= second; s++) {
      const i = s % HISTORY_SECONDS
      const live = this.#stamp[i] === s
      series.requests.push(live ? this.#requests[i]! : 0)
      series.fromCache.push(live ? this.#fromCache[i]! : 0)
      series.lookups.push(live ? this.#lookups[i]! : 0)
      series.origin.push(live ? this.#origin[i]! : 0)
      series.originErrors.push(live ? this.#originErrors[i]! : 0)
    }
    // The last full minute: the current second is still filling.
    const sum = (a: number[]): number => a.slice(-61, -1).reduce((x, y) => x + y, 0)
    const lookups = sum(series.lookups)
    if (Math.floor(now / TOP_WINDOW_MS) > this.#window + 1) this.#previousKeys = this.#keys = new KeyCounts()
    const merged = new Map(this.#previousKeys.counts)
    for (const [k, n] of this.#keys.counts) merged.set(k, (merged.get(k) ?? 0) + n)
    const topKeys = [...merged].sort((a, b) => b[1] - a[1]).slice(0, TOP_KEYS).map(([key, hits]) => ({ key, hits }))
    return {
      until: second * 1000,
      series,
      lastMinute: {
        requestsPerSecond: sum(series.requests) / 60,
        originPerSecond: sum(series.origin) / 60,
        hitRatio: lookups === 0 ? null : sum(series.fromCache) / lookups
      },
      latencyMs: { hits: this.#hitLatency.percentiles(), misses: this.#missLatency.percentiles() },
      evictions: { ...this.#evictions },
      upstream: { lastError: this.#lastError, statuses: { ...this.#statuses } },
      topKeys,
      notStored: this.#notStored.map(({ atMs, ...n }) => ({ at: new Date(atMs).toISOString(), ...n })).reverse()
    }
  }
}

/** The highest of the values present, or null. */
function highest (values: ReadonlyArray<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null)
  return present.length === 0 ? null : Math.max(...present)
}

/**
 * The live figures of several worker processes as one: series, counts and keys summed; latency
 * percentiles are each worker's highest (percentiles cannot be added; the highest is the honest
 * bound); the most recent not-stored responses of all, newest first.
 */
export function mergeSnapshots (all: readonly LiveSnapshot[]): LiveSnapshot | undefined {
  if (all.length === 0) return undefined
  const until = Math.max(...all.map(s => s.until))
  const series = { requests: [] as number[], fromCache: [] as number[], lookups: [] as number[], origin: [] as number[], originErrors: [] as number[] }
  for (const name of Object.keys(series) as Array<keyof typeof series>) {
    const out = new Array<number>(HISTORY_SECONDS).fill(0)
    for (const s of all) {
      // Align each worker's series on the newest second.
      const shift = Math.round((until - s.until) / 1000)
      s.series[name].forEach((v, i) => { const j = i - shift; if (j >= 0 && j < HISTORY_SECONDS) out[j]! += v })
    }
    series[name] = out
  }
  const sum = (a: number[]): number => a.slice(-61, -1).reduce((x, y) => x + y, 0)
  const lookups = sum(series.lookups)
  const pct = (pick: (s: LiveSnapshot) => Percentiles): Percentiles => ({
    count: all.reduce((n, s) => n + pick(s).count, 0),
    p50: highest(all.map(s => pick(s).p50)),
    p90: highest(all.map(s => pick(s).p90)),
    p99: highest(all.map(s => pick(s).p99))
  })
  const keys = new Map<string, number>()
  for (const s of all) for (const k of s.topKeys) keys.set(k.key, (keys.get(k.key) ?? 0) + k.hits)
  const statuses: Record<string, number> = {}
  for (const s of all) for (const [k, n] of Object.entries(s.upstream.statuses)) statuses[k] = (statuses[k] ?? 0) + n
  const errors = all.map(s => s.upstream.lastError).filter(e => e !== null).sort((a, b) => b.at.localeCompare(a.at))
  return {
    until,
    series,
    lastMinute: { requestsPerSecond: sum(series.requests) / 60, originPerSecond: sum(series.origin) / 60, hitRatio: lookups === 0 ? null : sum(series.fromCache) / lookups },
    latencyMs: { hits: pct(s => s.latencyMs.hits), misses: pct(s => s.latencyMs.misses) },
    evictions: {
      size: all.reduce((n, s) => n + s.evictions.size, 0),
      ttl: all.reduce((n, s) => n + s.evictions.ttl, 0),
      purge: all.reduce((n, s) => n + s.evictions.purge, 0)
    },
    upstream: { lastError: errors[0] ?? null, statuses },
    topKeys: [...keys].sort((a, b) => b[1] - a[1]).slice(0, TOP_KEYS).map(([key, hits]) => ({ key, hits })),
    notStored: all.flatMap(s => s.notStored).sort((a, b) => b.at.localeCompare(a.at)).slice(0, RECENT_NOT_STORED)
  }
}
