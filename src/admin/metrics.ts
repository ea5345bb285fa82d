// Prometheus metrics: an Observer the proxy calls on every response and upstream exchange, and a
// registry of its own (never prom-client's global one) that the admin listener serves.

import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client'
import type { Observer, ServedKind } from '../proxy/context.ts'
import type { StoreStats } from '../cache/contract.ts'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'

/** Every ServedKind; a Record so that a kind added to the union fails to typecheck here until listed. */
const KINDS: Record<ServedKind, true> = { hit: true, stale: true, revalidated: true, miss: true, pass: true, collapsed: true, error: true }

/** All kinds, in a fixed order. */
const SERVED_KINDS = Object.keys(KINDS) as ServedKind[]

/** Upstream latency buckets in seconds: 1 ms to 30 s (the default headers timeout). */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

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
}

/**
 * Creates the registry and the observer that feeds it.
 * @param getStats the store's statistics, read at scrape time; undefined when caching is off
 * @param maxSize the configured cache.maxSize in bytes
 */
export function createMetrics (getStats: () => StoreStats | undefined, maxSize: number): Metrics {
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
  new Gauge({
    name: 'freshgate_cache_bytes',
    help: 'Bytes of stored responses (headers and bodies)',
    registers,
    collect () { this.set(getStats()?.bytes ?? 0) }
  })
  new Gauge({
    name: 'freshgate_cache_entries',
    help: 'URLs stored (each with one or more Vary variants)',
    registers,
    collect () { this.set(getStats()?.entries ?? 0) }
  })
  let evictionsSeen = 0
  new Counter({
    name: 'freshgate_cache_evictions_total',
    help: 'Stored URLs evicted to make room',
    registers,
    collect () {
      // The store counts evictions itself; a counter can only grow, so add what is new.
      const now = getStats()?.evictions ?? 0
      if (now > evictionsSeen) { this.inc(now - evictionsSeen); evictionsSeen = now }
    }
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
  // Statuses are bound on first sight; at most the 500 three-digit codes undici accepts.
  const byStatus = new Map<number, Bound>()

  const observer: Observer = {
    served (kind, status) {
      byKind[kind].inc()
      if (status === 304) responses304.inc()
    },
    upstream (status, seconds) {
      let child = byStatus.get(status)
      if (child === undefined) byStatus.set(status, child = upstreamRequests.labels(String(status)))
      child.inc()
      upstreamDuration.observe(seconds)
    },
    upstreamError (code) {
      byCode[code].inc()
    }
  }

  return {
    registry,
    observer,
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
