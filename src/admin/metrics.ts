// Metrics: an Observer the proxy calls on every response and upstream exchange, counting into plain
// numbers, and a Prometheus registry of its own (never prom-client's global one) that the admin
// listener serves. prom-client is loaded on the first scrape (prometheus.ts): it costs ~8 MiB of
// resident memory, and its counters and histograms cost a request more than adding numbers.

import type { Registry } from 'prom-client'
import type { Observer, ServedKind, ServedFacts } from '../proxy/context.ts'
import type { Route } from '../config/routes.ts'
import type { StoreStats, StoredRecord, RemovalReason } from '../cache/contract.ts'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'
import { LiveStats } from './live.ts'

/** Every ServedKind; a Record so that a kind added to the union fails to typecheck here until listed. */
const KINDS: Record<ServedKind, true> = { hit: true, stale: true, revalidated: true, miss: true, pass: true, collapsed: true, error: true }

/** All kinds, in a fixed order. */
export const SERVED_KINDS = Object.keys(KINDS) as ServedKind[]

/** Upstream latency buckets in seconds: 1 ms to 30 s (the default headers timeout). */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Client request buckets in seconds: a memory hit takes well under a millisecond. */
export const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Status classes, the `status` label of the request histogram; anything else (1xx, 499) is "other". */
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'other'] as const
export type StatusClass = typeof STATUS_CLASSES[number]

/** Most distinct `route` label values, "other" included: routes beyond them (or over many reloads) are counted as "other". */
export const MAX_ROUTE_LABELS = 32

/** The store tiers a `tier` label can name: L1 in memory, and an L2 (shared Redis/Valkey, or disk) behind it. */
export type Tier = 'memory' | 'shared' | 'disk'

/** What the metrics read of a shared tier at scrape time (store/redis-store.ts). */
export interface SharedTierSource {
  state (): 'ready' | 'connecting' | 'down'
  counters (): { hits: number, misses: number, errors: number, latencySum: number, latencyCount: number }
}

/** Store statistics of the memory tier and, behind it, an L2 (store/tiered-store.ts TieredStats). */
export type TierStats = StoreStats & { l2?: StoreStats }

/** Eviction reasons as the metric names them: the store's size and ttl, and hard purges. */
export type EvictionReason = 'size' | 'ttl' | 'purge'

/** The status class of a response status, as its index in STATUS_CLASSES. */
function statusClass (status: number): number {
  if (status >= 200 && status < 300) return 0
  if (status >= 300 && status < 400) return 1
  if (status >= 400 && status < 500 && status !== 499) return 2
  if (status >= 500 && status < 600) return 3
  return 4
}

/** The `route` label of a configured route: its host (or "*") and prefix, e.g. "api.example.com/v1/". */
export function routeLabel (r: Route): string {
  return (r.host ?? '*') + r.prefix
}

/** Index of each kind in SERVED_KINDS. */
const KIND_INDEX = Object.fromEntries(SERVED_KINDS.map((k, i) => [k, i])) as Record<ServedKind, number>

/** Cumulative-at-export histogram series in plain numbers: one row of bucket counts per series. */
export class Buckets {
  readonly bounds: readonly number[]
  /** per series: count of observations at most bounds[i] and above bounds[i - 1] (the last slot: above all) */
  readonly counts: Float64Array
  readonly sums: Float64Array
  readonly totals: Float64Array

  constructor (bounds: readonly number[], series: number) {
    this.bounds = bounds
    this.counts = new Float64Array(series * (bounds.length + 1))
    this.sums = new Float64Array(series)
    this.totals = new Float64Array(series)
  }

  observe (series: number, v: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > b[i]!) i++
    this.counts[series * (b.length + 1) + i]!++
    this.sums[series]! += v
    this.totals[series]!++
  }
}

/** What the proxy counted: plain numbers, read by prometheus.ts at scrape time. */
export class Tallies {
  /** responses by kind (SERVED_KINDS order) */
  readonly served = new Float64Array(SERVED_KINDS.length)
  /** body bytes by kind */
  readonly bytes = new Float64Array(SERVED_KINDS.length)
  responses304 = 0
  /** request duration, one series per kind × status class (kind * STATUS_CLASSES.length + class) */
  readonly duration = new Buckets(REQUEST_BUCKETS, SERVED_KINDS.length * STATUS_CLASSES.length)
  /** responses by route label, then kind; at most MAX_ROUTE_LABELS labels */
  readonly routes = new Map<string, Float64Array>()
  /** upstream responses by status; at most the 500 three-digit codes undici accepts */
  readonly upstream = new Map<number, number>()
  readonly upstreamDuration = new Buckets(DURATION_BUCKETS, 1)
  /** failed upstream exchanges by error code; the FG_UPSTREAM_* ones start at 0 */
  readonly upstreamErrors = new Map<ErrorCode, number>()
  readonly evictions: Record<EvictionReason, number> = { size: 0, ttl: 0, purge: 0 }

  constructor () {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) if (code.startsWith('FG_UPSTREAM_')) this.upstreamErrors.set(code, 0)
  }

  /** The counts of one route label; labels past MAX_ROUTE_LABELS count as "other". */
  routeRow (label: string): Float64Array {
    let row = this.routes.get(label)
    if (row !== undefined) return row
    // One value is kept for "other" itself.
    if (this.routes.size >= MAX_ROUTE_LABELS - 1 && label !== 'other') return this.routeRow('other')
    this.routes.set(label, row = new Float64Array(SERVED_KINDS.length))
    return row
  }
}

/** The metrics of one freshgate process. */
export interface Metrics {
  /** the registry /metrics serves: freshgate_* plus process and Node.js metrics (built on first use) */
  registry (): Promise<Registry>
  /** pass to startProxy(config, { observer }) */
  observer: Observer
  /** responses served so far, by kind (for /cache/stats) */
  servedCounts (): Promise<Record<ServedKind, number>>
  /** the status page's live, bounded figures (GET /stats) */
  live: LiveStats
  /** counts variants a hard purge removed (reason "purge") */
  purged (variants: number): void
  /** follows the proxy: open client connections and variants leaving the store (startAdmin calls it) */
  attach (source: MetricSource): void
}

/** What the metrics read of a running proxy beyond the observer's calls (AdminRuntime provides it). */
export interface MetricSource {
  /** open client connections on the proxy listener */
  connections (): number
  /** registers the function told when a stored variant leaves the store */
  onRemove (fn: (record: StoredRecord, reason: RemovalReason) => void): void
}

/** What prometheus.ts reads at scrape time. */
export interface MetricInputs {
  tallies: Tallies
  /** the store's statistics; undefined when caching is off */
  stats: () => TierStats | undefined
  maxSize: number
  second: { tier: 'shared' | 'disk', source: () => SharedTierSource | undefined } | undefined
  /** open client connections */
  connections: () => number
}

/**
 * Creates the tallies and the observer that feeds them.
 * @param getStats the store's statistics, read at scrape time; undefined when caching is off
 * @param maxSize the configured cache.maxSize in bytes
 */
export function createMetrics (getStats: () => TierStats | undefined, maxSize: number, second?: { tier: 'shared' | 'disk', source: () => SharedTierSource | undefined }): Metrics {
  const live = new LiveStats(Date.now)
  const t = new Tallies()
  let source: MetricSource | undefined
  const inputs: MetricInputs = { tallies: t, stats: getStats, maxSize, second, connections: () => source?.connections() ?? 0 }
  let registry: Promise<Registry> | undefined
  // Route rows per route object, found on first sight; a reload brings new objects, and the
  // label values they name stay within MAX_ROUTE_LABELS.
  const routeRows = new WeakMap<Route, Float64Array>()
  const defaultRow = t.routeRow('default')
  const routeOf = (r: Route | undefined): Float64Array => {
    if (r === undefined) return defaultRow
    let row = routeRows.get(r)
    if (row === undefined) routeRows.set(r, row = t.routeRow(routeLabel(r)))
    return row
  }
  const classes = STATUS_CLASSES.length

  const observer: Observer = {
    served (kind, status, facts: ServedFacts) {
      const k = KIND_INDEX[kind]
      t.served[k]!++
      if (status === 304) t.responses304++
      t.duration.observe(k * classes + statusClass(status), facts.seconds)
      t.bytes[k]! += facts.bytes
      routeOf(facts.route)[k]!++
      live.served(kind, status, facts)
    },
    upstream (status, seconds) {
      t.upstream.set(status, (t.upstream.get(status) ?? 0) + 1)
      t.upstreamDuration.observe(0, seconds)
      live.upstream(status)
    },
    upstreamError (code) {
      t.upstreamErrors.set(code, (t.upstreamErrors.get(code) ?? 0) + 1)
      live.upstreamError(code)
    }
  }

  return {
    async registry () {
      registry ??= import('./prometheus.ts').then(p => p.buildRegistry(inputs))
      return await registry
    },
    observer,
    live,
    purged (variants) {
      if (variants <= 0) return
      t.evictions.purge += variants
      live.evicted('purge', variants)
    },
    attach (s) {
      source = s
      // A removal by request (replacement, invalidation) is no eviction; a purge is counted by purged().
      s.onRemove((_record, reason) => {
        if (reason === 'delete') return
        t.evictions[reason]++
        live.evicted(reason)
      })
    },
    async servedCounts () {
      const counts = {} as Record<ServedKind, number>
      for (const kind of SERVED_KINDS) counts[kind] = t.served[KIND_INDEX[kind]]!
      return counts
    }
  }
}
