// Workers (--workers N) as one cache to operators: purges reach every worker over cluster IPC,
// and the admin listener runs in the primary, fanning purges and /cache/* out to the workers and
// aggregating their metrics (prom-client's AggregatorRegistry). The worker side answers.

import cluster, { type Worker } from 'node:cluster'
import type { Registry } from 'prom-client'
import type { Config } from '../config/schema.ts'
import type { Purge } from '../cache/cache.ts'
import type { StoreStats, StoredRecord } from '../cache/contract.ts'
import type { TierState } from '../store/redis-store.ts'
import type { Freshgate } from '../proxy/server.ts'
import type { ServedKind } from '../proxy/context.ts'
import type { AdminRuntime } from './server.ts'
import { mergeSnapshots, type LiveSnapshot } from './live.ts'
import type { Metrics } from './metrics.ts'

/** Longest wait for a worker's answer; a worker that does not answer is left out. */
const ASK_TIMEOUT = 5_000

/** What the primary and its workers send each other (a `fg` field tells them from prom-client's). */
type Message =
  /** a worker carried a purge out: the primary has every other worker apply it, then replies */
  | { fg: 'broadcast', id: number, purge: Purge }
  /** apply a purge here only */
  | { fg: 'apply', id: number, purge: Purge }
  /** carry a purge out and announce it (the primary's admin API, sent to one worker) */
  | { fg: 'purge', id: number, purge: Purge }
  /** the stored records of a key */
  | { fg: 'records', id: number, key: string }
  /** primary keys held, at most `limit` */
  | { fg: 'keys', id: number, limit: number }
  /** the status page's live figures and open client connections */
  | { fg: 'live', id: number }
  /** store statistics, responses served, shared tier state */
  | { fg: 'stats', id: number }
  | { fg: 'reply', id: number, value: unknown }

/** One worker's answer to `stats`. */
interface WorkerStats {
  stats: StoreStats | undefined
  served: Record<ServedKind, number>
  shared: TierState | undefined
}

function isMessage (m: unknown): m is Message {
  return typeof m === 'object' && m !== null && typeof (m as { fg?: unknown }).fg === 'string' && typeof (m as { id?: unknown }).id === 'number'
}

/** Sends a message and waits for its reply, at most ASK_TIMEOUT (then undefined). */
class Asker {
  readonly #pending = new Map<number, (v: unknown) => void>()
  #next = 0

  async ask (send: (m: Message) => void, msg: Message extends infer M ? M extends { id: number } ? Omit<M, 'id'> : never : never): Promise<unknown> {
    const id = ++this.#next
    return await new Promise(resolve => {
      const timer = setTimeout(() => { this.#pending.delete(id); resolve(undefined) }, ASK_TIMEOUT)
      this.#pending.set(id, v => { clearTimeout(timer); resolve(v) })
      try {
        send({ ...msg, id } as Message)
      } catch {
        this.#pending.delete(id)
        clearTimeout(timer)
        resolve(undefined)
      }
    })
  }

  /** Settles the ask a reply answers; false when the message is not a reply. */
  settle (m: Message): boolean {
    if (m.fg !== 'reply') return false
    this.#pending.get(m.id)?.(m.value)
    this.#pending.delete(m.id)
    return true
  }
}

/** A worker's side: announces its purges to the primary and answers the primary's requests. */
export class WorkerLink {
  readonly #asker = new Asker()
  #fg: Freshgate | undefined
  #metrics: Metrics | undefined
  /** open client connections on this worker's share of the listener */
  #open = 0

  constructor () {
    process.on('message', (m: unknown) => { if (isMessage(m)) void this.#onMessage(m) })
  }

  /** Starts answering for a running proxy; `metrics` registry is what the primary aggregates. */
  serve (fg: Freshgate, metrics: Metrics): void {
    this.#fg = fg
    this.#metrics = metrics
    fg.server.on('connection', socket => {
      this.#open++
      socket.once('close', () => { this.#open-- })
    })
    // A worker loads prom-client at once (not on the first scrape): it must be listening when the
    // primary asks for the workers' metrics.
    void Promise.all([import('prom-client'), metrics.registry()]).then(([{ AggregatorRegistry }, registry]) => {
      AggregatorRegistry.setRegistries([registry])
      // Constructing one is what makes prom-client answer the primary's requests in a worker.
      void new AggregatorRegistry()
    })
  }

  /** Has every other worker carry out a purge this one carried out; resolves once they did (or gave up waiting). */
  async announce (purge: Purge): Promise<void> {
    await this.#asker.ask(m => process.send!(m), { fg: 'broadcast', purge })
  }

  async #onMessage (m: Message): Promise<void> {
    if (this.#asker.settle(m)) return
    const value = await this.#answer(m).catch(() => undefined)
    process.send?.({ fg: 'reply', id: m.id, value })
  }

  async #answer (m: Message): Promise<unknown> {
    const fg = this.#fg
    const cache = fg?.handler.runtime.cache
    const now = fg?.handler.runtime.clock() ?? Date.now()
    switch (m.fg) {
      case 'apply': return await cache?.apply(m.purge, now) ?? 0
      case 'purge': {
        const n = await cache?.purgeAll(m.purge, now) ?? 0
        // The primary's own registry is not what /metrics serves: the hard purge is counted here.
        if (!m.purge.soft) this.#metrics?.purged(n)
        return n
      }
      case 'records': return (await cache?.variants(m.key) ?? []).map(v => v.record)
      case 'keys': return await cache?.store.keys(m.limit) ?? []
      case 'live': return { snapshot: this.#metrics?.live.snapshot(), connections: this.#open }
      case 'stats': return { stats: fg?.store?.stats(), served: await this.#metrics?.servedCounts(), shared: fg?.shared?.state() } satisfies Partial<WorkerStats>
      default: return undefined
    }
  }
}

/** The primary's side: relays worker purges to the other workers and asks workers for the admin API. */
export class WorkerHub {
  readonly #asker = new Asker()
  #lastConnections = 0

  constructor () {
    cluster.on('message', (worker: Worker, m: unknown) => { if (isMessage(m)) void this.#onMessage(worker, m) })
  }

  #workers (): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected())
  }

  async #ask (w: Worker, msg: Parameters<Asker['ask']>[1]): Promise<unknown> {
    return await this.#asker.ask(m => w.send(m), msg)
  }

  async #onMessage (from: Worker, m: Message): Promise<void> {
    if (this.#asker.settle(m)) return
    if (m.fg !== 'broadcast') return
    const others = this.#workers().filter(w => w !== from)
    const counts = await Promise.all(others.map(async w => await this.#ask(w, { fg: 'apply', purge: m.purge })))
    if (from.isConnected()) from.send({ fg: 'reply', id: m.id, value: counts.reduce<number>((a, n) => a + (typeof n === 'number' ? n : 0), 0) })
  }

  /** Has one worker carry a purge out; its announcement reaches the others (IPC or the shared tier). */
  async purge (p: Purge): Promise<number> {
    const first = this.#workers()[0]
    if (first === undefined) return 0
    const n = await this.#ask(first, { fg: 'purge', purge: p })
    return typeof n === 'number' ? n : 0
  }

  /** The records of a key: the first worker holding any (without a shared tier, workers hold different ones). */
  async records (key: string): Promise<readonly StoredRecord[]> {
    const all = await Promise.all(this.#workers().map(async w => await this.#ask(w, { fg: 'records', key })))
    const seen = new Map<string, StoredRecord>()
    for (const list of all) if (Array.isArray(list)) for (const r of list as StoredRecord[]) seen.set(r.id, r)
    return [...seen.values()].sort((a, b) => b.responseTime - a.responseTime)
  }

  /** The keys the workers hold, at most `limit` in all. */
  async keys (limit: number): Promise<string[]> {
    const all = await Promise.all(this.#workers().map(async w => await this.#ask(w, { fg: 'keys', limit })))
    const keys = new Set<string>()
    for (const list of all) if (Array.isArray(list)) for (const k of list as string[]) if (keys.size < limit) keys.add(k)
    return [...keys]
  }

  /** The workers' live figures merged, and their open client connections summed. */
  async live (): Promise<{ snapshot: LiveSnapshot | undefined, connections: number }> {
    const all = await Promise.all(this.#workers().map(async w => await this.#ask(w, { fg: 'live' })))
    const got = all.filter((a): a is { snapshot: LiveSnapshot, connections: number } => typeof a === 'object' && a !== null && 'snapshot' in a)
    this.#lastConnections = got.reduce((n, a) => n + a.connections, 0)
    return { snapshot: mergeSnapshots(got.map(a => a.snapshot).filter(s => s !== undefined)), connections: this.#lastConnections }
  }

  /** Open client connections over the workers, as of the last `live()`. */
  get connections (): number {
    return this.#lastConnections
  }

  /** Every worker's statistics. */
  async stats (): Promise<WorkerStats[]> {
    const all = await Promise.all(this.#workers().map(async w => await this.#ask(w, { fg: 'stats' })))
    return all.filter((s): s is WorkerStats => typeof s === 'object' && s !== null)
  }

  /** Number of connected workers. */
  count (): number {
    return this.#workers().length
  }
}

/** Store statistics summed over workers (each has its own L1). */
function sumStats (all: WorkerStats[]): StoreStats | undefined {
  const present = all.map(s => s.stats).filter((s): s is StoreStats => s !== undefined)
  if (present.length === 0) return undefined
  return present.reduce((a, s) => ({ entries: a.entries + s.entries, bytes: a.bytes + s.bytes, maxBytes: a.maxBytes + s.maxBytes, evictions: a.evictions + s.evictions }))
}

/** The admin runtime of a cluster primary: everything is asked of the workers. */
export function primaryRuntime (config: () => Config, hub: WorkerHub): AdminRuntime {
  return {
    config,
    purge: async p => await hub.purge(p),
    records: async key => await hub.records(key),
    keys: async limit => await hub.keys(limit),
    stats: async () => sumStats(await hub.stats()),
    // The worst state of any worker: ready only when every worker reaches the tier.
    shared: async () => {
      if (config().store.shared === undefined) return undefined
      const states = (await hub.stats()).map(s => s.shared ?? 'connecting')
      return states.includes('down') ? 'down' : states.includes('connecting') || states.length === 0 ? 'connecting' : 'ready'
    },
    listening: () => hub.count() > 0,
    // The admin port must differ from the one the workers share (restart-only).
    port: config().port,
    clock: Date.now,
    connections: () => hub.connections,
    live: async () => (await hub.live()).snapshot,
    onRemove: () => undefined
  }
}

/**
 * The primary's metrics: the workers' registries aggregated on each scrape, and their served
 * counts summed for /cache/stats and /stats.
 */
export function primaryMetrics (base: Metrics, hub: WorkerHub): Metrics {
  let registry: Promise<Registry> | undefined
  return {
    ...base,
    async registry () {
      registry ??= import('prom-client').then(({ AggregatorRegistry }) => {
        const aggregator = new AggregatorRegistry()
        return Object.assign(Object.create(aggregator) as typeof aggregator, {
          metrics: async (): Promise<string> => await aggregator.clusterMetrics()
        }) as unknown as Registry
      })
      return await registry
    },
    // Counted by the worker that carried the purge out (WorkerLink).
    purged: () => undefined,
    async servedCounts () {
      const sum = await base.servedCounts()
      for (const s of await hub.stats()) for (const k of Object.keys(sum) as ServedKind[]) sum[k] += s.served?.[k] ?? 0
      return sum
    }
  }
}
