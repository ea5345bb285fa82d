// The Prometheus registry /metrics serves, built on the first scrape (metrics.ts loads this module
// then): freshgate_* read from the proxy's plain tallies, plus prom-client's process and Node.js
// metrics. A registry of its own, never prom-client's global one.

import { Registry, Counter, Gauge, collectDefaultMetrics, type Metric } from 'prom-client'
import { VERSION } from '../version.ts'
import { MAX_ROUTE_LABELS, SERVED_KINDS, STATUS_CLASSES, type Buckets, type MetricInputs, type SharedTierSource, type Tier } from './metrics.ts'

/** One exported sample, as prom-client's own metrics give them to the registry. */
interface Sample {
  labels: Record<string, string | number>
  value: number
  metricName?: string
}

/** A metric whose samples are read from plain numbers at scrape time (the registry only calls get()). */
function plain (registry: Registry, name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: samples() }),
    reset: () => undefined
  }
  registry.registerMetric(metric as unknown as Metric)
}

/** The samples of one histogram series: cumulative buckets, +Inf, sum and count. */
function histogramSamples (name: string, b: Buckets, series: number, labels: Record<string, string>): Sample[] {
  const out: Sample[] = []
  const row = series * (b.bounds.length + 1)
  let acc = 0
  for (let i = 0; i < b.bounds.length; i++) {
    acc += b.counts[row + i]!
    out.push({ labels: { le: b.bounds[i]!, ...labels }, value: acc, metricName: `${name}_bucket` })
  }
  out.push({ labels: { le: '+Inf', ...labels }, value: b.totals[series]!, metricName: `${name}_bucket` })
  out.push({ labels, value: b.sums[series]!, metricName: `${name}_sum` })
  out.push({ labels, value: b.totals[series]!, metricName: `${name}_count` })
  return out
}

/** Builds the registry over the tallies `m` counts into. */
export function buildRegistry (m: MetricInputs): Registry {
  const t = m.tallies
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const tier: Tier = 'memory'
  const l2: Tier | undefined = m.second?.tier

  plain(registry, 'freshgate_requests_total', 'Responses sent to clients, by how the cache answered them', 'counter',
    () => SERVED_KINDS.map((cache, i) => ({ labels: { cache }, value: t.served[i]! })))
  plain(registry, 'freshgate_responses_304_total', '304 Not Modified responses sent to clients', 'counter',
    () => [{ labels: {}, value: t.responses304 }])
  plain(registry, 'freshgate_upstream_requests_total', 'Upstream responses received, by status code', 'counter',
    () => [...t.upstream].map(([status, value]) => ({ labels: { status: String(status) }, value })))
  plain(registry, 'freshgate_upstream_duration_seconds', 'Time from sending an upstream request to its response head', 'histogram',
    () => histogramSamples('freshgate_upstream_duration_seconds', t.upstreamDuration, 0, {}))
  plain(registry, 'freshgate_upstream_errors_total', 'Failed upstream exchanges, by error code', 'counter',
    () => [...t.upstreamErrors].map(([code, value]) => ({ labels: { code }, value })))
  new Gauge({
    name: 'freshgate_cache_bytes',
    help: 'Bytes of stored responses (headers and bodies), by store tier (shared: what this process wrote, net)',
    labelNames: ['tier'] as const,
    registers,
    collect () {
      const s = m.stats()
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
      const s = m.stats()
      this.labels(tier).set(s?.entries ?? 0)
      if (l2 !== undefined) this.labels(l2).set(s?.l2?.entries ?? 0)
    }
  })
  if (m.second?.tier === 'shared') sharedTierMetrics(registers, m.second.source)
  plain(registry, 'freshgate_cache_evictions_total', 'Stored variants removed before a request replaced them: to stay within cache.maxSize (size), past their keep time (ttl), or by a hard purge (purge)', 'counter',
    () => (['size', 'ttl', 'purge'] as const).map(reason => ({ labels: { tier, reason }, value: t.evictions[reason] })))
  new Gauge({
    name: 'freshgate_client_connections',
    help: 'Open client connections on the proxy listener',
    registers,
    collect () { this.set(m.connections()) }
  })
  new Gauge({
    name: 'freshgate_build_info',
    help: 'Always 1; the labels name the freshgate version and the Node.js version',
    labelNames: ['version', 'node'] as const,
    registers
  }).labels(VERSION, process.versions.node).set(1)
  plain(registry, 'freshgate_request_duration_seconds', 'Time from a client request\'s arrival to the last response byte handed to the socket, by how the cache answered and status class', 'histogram', () => {
    const out: Sample[] = []
    SERVED_KINDS.forEach((cache, k) => {
      STATUS_CLASSES.forEach((status, c) => {
        const series = k * STATUS_CLASSES.length + c
        if (t.duration.totals[series]! > 0) out.push(...histogramSamples('freshgate_request_duration_seconds', t.duration, series, { cache, status }))
      })
    })
    return out
  })
  plain(registry, 'freshgate_response_bytes_total', 'Response body bytes sent to clients, by how the cache answered', 'counter',
    () => SERVED_KINDS.map((cache, i) => ({ labels: { cache }, value: t.bytes[i]! })))
  plain(registry, 'freshgate_route_requests_total', `Responses sent to clients, by configured route (host and prefix; "default" for the top-level origin; "other" past ${MAX_ROUTE_LABELS} routes) and how the cache answered`, 'counter', () => {
    const out: Sample[] = []
    for (const [route, row] of t.routes) SERVED_KINDS.forEach((cache, k) => { if (row[k]! > 0) out.push({ labels: { route, cache }, value: row[k]! }) })
    return out
  })
  new Gauge({ name: 'freshgate_cache_max_bytes', help: 'Configured cache size limit (cache.maxSize)', registers }).set(m.maxSize)
  return registry
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
