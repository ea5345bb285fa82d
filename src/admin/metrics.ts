// Prometheus metrics: an Observer the proxy calls on every response and upstream exchange, and a
// registry of its own (never prom-client's global one) that the admin listener serves.

import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client'
import type { Observer, ServedKind, ServedFacts } from '../proxy/context.ts'
import type { Route } from '../config/routes.ts'
import type { StoreStats, StoredRecord, RemovalReason } from '../cache/contract.ts'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'
import { VERSION } from '../version.ts'
import { LiveStats } from './live.ts'

/** Every ServedKind; a Record so that a kind added to the union fails to typecheck here until listed. */
const KINDS: Record<ServedKind, true> = { hit: true, stale: true, revalidated: true, miss: true, pass: true, collapsed: true, error: true }

/** All kinds, in a fixed order. */
const SERVED_KINDS = Object.keys(KINDS) as ServedKind[]

/** Upstream latency buckets in seconds: 1 ms to 30 s (the default headers timeout). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Client request buckets in seconds: a memory hit takes well under a millisecond. */
const REQUEST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Status classes, the `status` label of the request histogram; anything else (1xx, 499) is "other". */
const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'other'] as const
type StatusClass = typeof STATUS_CLASSES[number]

/** Most distinct `route` label values, "other" included: routes beyond them (or over many reloads) are counted as "other". */
export const MAX_ROUTE_LABELS = 32

/** The store tiers a `tier` label can name: L1 in memory, and an L2 (shared Redis/Valkey, or disk) behind it. */
type Tier = 'memory' | 'shared' | 'disk'

/** What the metrics read of a shared tier at scrape time (store/redis-store.ts). */
export interface SharedTierSource {
  state (): 'ready' | 'connecting' | 'down'
  counters (): { hits: number, misses: number, errors: number, latencySum: number, latencyCount: number }
}

/** Store statistics of the memory tier and, behind it, an L2 (store/tiered-store.ts TieredStats). */
type TierStats = StoreStats & { l2?: StoreStats }

/** Eviction reasons as the metric names them: the store's size and ttl, and hard purges. */
type EvictionReason = 'size' | 'ttl' | 'purge'

/** The status class of a response status. */
function statusClass (status: number): StatusClass {
  if (status >= 200 && status < 300) return '2xx'
  if (status >= 300 && status < 400) return '3xx'
  if (status >= 400 && status < 500 && status !== 499) return '4xx'
  if (status >= 500 && status < 600) return '5xx'
  return 'other'
}

/** The `route` label of a configured route: its host (or "*") and prefix, e.g. "api.example.com/v1/". */
export function routeLabel (r: Route): string {
  return (r.host ?? '*') + r.prefix
}

/** A counter child bound to its label values. */
type Bound = Counter.Internal

/** The metrics of one freshgate process. */
export interface Metrics {
  /** the registry /metrics serves: freshgate_* plus process and Node.js metrics */
  registry: Registry
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

/**
 * Creates the registry and the observer that feeds it.
 * @param getStats the store's statistics, read at scrape time; undefined when caching is off
 * @param maxSize the configured cache.maxSize in bytes
 */
export function createMetrics (getStats: () => TierStats | undefined, maxSize: number, second?: { tier: 'shared' | 'disk', source: () => SharedTierSource | undefined }): Metrics {
  const live = new LiveStats(Date.now)
  let source: MetricSource | undefined
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]

  const requests = new Counter({
    name: 'freshgate_requests_total',
    help: 'Responses sent to clients, by how the cache answered them',
    labelNames: ['cache'] as const,
    registers
  })
  const responses304 = new Counter({ name: 'freshgate_responses_304_total', help: '304 Not Modified responses sent to clients', registers })
  const upstreamRequests = new Counter({
    name: 'freshgate_upstream_requests_total',
    help: 'Upstream responses received, by status code',
    labelNames: ['status'] as const,
    registers
  })
  const upstreamDuration = new Histogram({
    name: 'freshgate_upstream_duration_seconds',
    help: 'Time from sending an upstream request to its response head',
    buckets: DURATION_BUCKETS,
    registers
  })
  const upstreamErrors = new Counter({
    name: 'freshgate_upstream_errors_total',
    help: 'Failed upstream exchanges, by error code',
    labelNames: ['code'] as const,
    registers
  })
  const tier: Tier = 'memory'
  const l2: Tier | undefined = second?.tier
  new Gauge({
    name: 'freshgate_cache_bytes',
    help: 'Bytes of stored responses (headers and bodies), by store tier (shared: what this process wrote, net)',
    labelNames: ['tier'] as const,
    registers,
    collect () {
      const s = getStats()
      this.labels(tier).set(s?.bytes ?? 0)
      if (l2 !== undefined) this.labels(l2).set(s?.l2?.bytes ?? 0)
    }
  })
  new Gauge({
    name: 'freshgate_cache_entries',
    help: 'Stored response variants, by store tier (shared: what this process wrote, net)',
    labelNames: ['tier'] as const,
    registers,
    collect () {
      const s = getStats()
      this.labels(tier).set(s?.entries ?? 0)
      if (l2 !== undefined) this.labels(l2).set(s?.l2?.entries ?? 0)
    }
  })
  if (second?.tier === 'shared') sharedTierMetrics(registers, second.source)
  const evictions = new Counter({
    name: 'freshgate_cache_evictions_total',
    help: 'Stored variants removed before a request replaced them: to stay within cache.maxSize (size), past their keep time (ttl), or by a hard purge (purge)',
    labelNames: ['tier', 'reason'] as const,
    registers
  })
  const byReason: Record<EvictionReason, Bound> = { size: evictions.labels(tier, 'size'), ttl: evictions.labels(tier, 'ttl'), purge: evictions.labels(tier, 'purge') }
  for (const c of Object.values(byReason)) c.inc(0)
  new Gauge({
    name: 'freshgate_client_connections',
    help: 'Open client connections on the proxy listener',
    registers,
    collect () { this.set(source?.connections() ?? 0) }
  })
  new Gauge({
    name: 'freshgate_build_info',
    help: 'Always 1; the labels name the freshgate version and the Node.js version',
    labelNames: ['version', 'node'] as const,
    registers
  }).labels(VERSION, process.versions.node).set(1)
  const requestDuration = new Histogram({
    name: 'freshgate_request_duration_seconds',
    help: 'Time from a client request\'s arrival to the last response byte handed to the socket, by how the cache answered and status class',
    labelNames: ['cache', 'status'] as const,
    buckets: REQUEST_BUCKETS,
    registers
  })
  const responseBytes = new Counter({
    name: 'freshgate_response_bytes_total',
    help: 'Response body bytes sent to clients, by how the cache answered',
    labelNames: ['cache'] as const,
    registers
  })
  const routeRequests = new Counter({
    name: 'freshgate_route_requests_total',
    help: `Responses sent to clients, by configured route (host and prefix; "default" for the top-level origin; "other" past ${MAX_ROUTE_LABELS} routes) and how the cache answered`,
    labelNames: ['route', 'cache'] as const,
    registers
  })
  new Gauge({ name: 'freshgate_cache_max_bytes', help: 'Configured cache size limit (cache.maxSize)', registers }).set(maxSize)

  // Children are bound once so the per-request path allocates nothing; every known label value
  // starts at 0 so rates work from the first scrape.
  const byKind = {} as Record<ServedKind, Bound>
  for (const kind of SERVED_KINDS) {
    byKind[kind] = requests.labels(kind)
    byKind[kind].inc(0)
  }
  const byCode = {} as Record<ErrorCode, Bound>
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    byCode[code] = upstreamErrors.labels(code)
    if (code.startsWith('FG_UPSTREAM_')) byCode[code].inc(0)
  }
  const durationOf = {} as Record<ServedKind, Record<StatusClass, Histogram.Internal<'cache' | 'status'>>>
  const bytesOf = {} as Record<ServedKind, Bound>
  for (const kind of SERVED_KINDS) {
    bytesOf[kind] = responseBytes.labels(kind)
    bytesOf[kind].inc(0)
    durationOf[kind] = {} as Record<StatusClass, Histogram.Internal<'cache' | 'status'>>
    for (const c of STATUS_CLASSES) durationOf[kind][c] = requestDuration.labels(kind, c)
  }
  // Route children per route object, bound on first sight; a reload brings new objects, and the
  // label values they name stay within MAX_ROUTE_LABELS.
  const routeChildren = new WeakMap<Route, Record<ServedKind, Bound>>()
  const routeLabels = new Map<string, Record<ServedKind, Bound>>()
  const childrenFor = (label: string): Record<ServedKind, Bound> => {
    let c = routeLabels.get(label)
    if (c !== undefined) return c
    // One value is kept for "other" itself.
    if (routeLabels.size >= MAX_ROUTE_LABELS - 1 && label !== 'other') return childrenFor('other')
    c = {} as Record<ServedKind, Bound>
    for (const kind of SERVED_KINDS) c[kind] = routeRequests.labels(label, kind)
    routeLabels.set(label, c)
    return c
  }
  const defaultRoute = childrenFor('default')
  const routeOf = (r: Route | undefined): Record<ServedKind, Bound> => {
    if (r === undefined) return defaultRoute
    let c = routeChildren.get(r)
    if (c === undefined) routeChildren.set(r, c = childrenFor(routeLabel(r)))
    return c
  }
  // Statuses are bound on first sight; at most the 500 three-digit codes undici accepts.
  const byStatus = new Map<number, Bound>()

  const observer: Observer = {
    served (kind, status, facts: ServedFacts) {
      byKind[kind].inc()
      if (status === 304) responses304.inc()
      durationOf[kind][statusClass(status)].observe(facts.seconds)
      bytesOf[kind].inc(facts.bytes)
      routeOf(facts.route)[kind].inc()
      live.served(kind, status, facts)
    },
    upstream (status, seconds) {
      let child = byStatus.get(status)
      if (child === undefined) byStatus.set(status, child = upstreamRequests.labels(String(status)))
      child.inc()
      upstreamDuration.observe(seconds)
      live.upstream(status)
    },
    upstreamError (code) {
      byCode[code].inc()
      live.upstreamError(code)
    }
  }

  const evicted = (reason: EvictionReason): void => {
    byReason[reason].inc()
    live.evicted(reason)
  }

  return {
    registry,
    observer,
    live,
    purged (variants) {
      if (variants <= 0) return
      byReason.purge.inc(variants)
      live.evicted('purge', variants)
    },
    attach (s) {
      source = s
      // A removal by request (replacement, invalidation) is no eviction; a purge is counted by purged().
      s.onRemove((_record, reason) => { if (reason !== 'delete') evicted(reason) })
    },
    async servedCounts () {
      const counts = {} as Record<ServedKind, number>
      for (const kind of SERVED_KINDS) counts[kind] = 0
      for (const v of (await requests.get()).values) {
        const kind = v.labels.cache as ServedKind
        if (kind in KINDS) counts[kind] = v.value
      }
      return counts
    }
  }
}

/** Counters of the shared tier, read at scrape time: lookups by result, errors, lookup latency, and its state. */
function sharedTierMetrics (registers: Registry[], source: () => SharedTierSource | undefined): void {
  // prom-client counters only go up: each scrape adds what the tier counted since the last one.
  const seen = { hits: 0, misses: 0, errors: 0, latencySum: 0, latencyCount: 0 }
  const delta = (k: keyof typeof seen): number => {
    const now = source()?.counters()[k] ?? seen[k]
    const d = Math.max(0, now - seen[k])
    seen[k] = now
    return d
  }
  new Counter({
    name: 'freshgate_shared_lookups_total',
    help: 'Lookups in the shared tier after an L1 miss, by result (a failed lookup is a miss and an error)',
    labelNames: ['tier', 'result'] as const,
    registers,
    collect () {
      this.labels('shared', 'hit').inc(delta('hits'))
      this.labels('shared', 'miss').inc(delta('misses'))
    }
  })
  new Counter({
    name: 'freshgate_shared_errors_total',
    help: 'Shared tier commands that failed or timed out (store.commandTimeout), and connection errors',
    labelNames: ['tier'] as const,
    registers,
    collect () { this.labels('shared').inc(delta('errors')) }
  })
  new Counter({
    name: 'freshgate_shared_lookup_seconds_total',
    help: 'Time spent in shared tier lookups; divide by freshgate_shared_lookups_timed_total for the mean',
    labelNames: ['tier'] as const,
    registers,
    collect () { this.labels('shared').inc(delta('latencySum') / 1000) }
  })
  new Counter({
    name: 'freshgate_shared_lookups_timed_total',
    help: 'Shared tier lookups timed in freshgate_shared_lookup_seconds_total',
    labelNames: ['tier'] as const,
    registers,
    collect () { this.labels('shared').inc(delta('latencyCount')) }
  })
  new Gauge({
    name: 'freshgate_shared_up',
    help: 'Shared tier connection state: 1 ready, 0 connecting or down (requests go on without it)',
    labelNames: ['tier'] as const,
    registers,
    collect () { this.labels('shared').set(source()?.state() === 'ready' ? 1 : 0) }
  })
}
