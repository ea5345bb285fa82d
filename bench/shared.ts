// The `shared` bench scenario: two freshgate replicas sharing a local redis-server (store.shared).
// Replica A fills N URLs from the origin; replica B then reads them once (L2 hits: not in its
// memory yet) and again (L1 hits). Reports the hit ratio across replicas, L2 and L1 hit latency
// (p50, p99, one keep-alive connection, one request at a time) and B's CPU µs per request.

import { Agent, request } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, stop, which, groupCpuSeconds } from './procs.ts'
import { createConnection } from 'node:net'
import { HOST, freePort, get } from './net.ts'
import { startTarget, type Env, type TargetOptions } from './targets.ts'

/** One run of the shared scenario. */
export interface SharedRun {
  /** URLs filled through replica A */
  urls: number
  /** B's first reads answered from the cache (the shared tier) over all of them */
  hitRatio: number
  /** origin requests for those URLs over both replicas, per URL (1 = fetched once in all) */
  originPerUrl: number
  l2: Phase
  l1: Phase
  /** L2 hit p50 minus L1 hit p50, ms (target ≤ 1) */
  p50DeltaMs: number
  /** L2 CPU µs per request over L1's (target ≤ 2) */
  cpuRatio: number
}

/** Latency and CPU of one phase on replica B. */
export interface Phase {
  p50Ms: number
  p99Ms: number
  cpuUsPerReq: number
}

function quantile (xs: number[], q: number): number {
  const a = [...xs].sort((x, y) => x - y)
  return a[Math.min(a.length - 1, Math.floor(q * a.length))] ?? NaN
}

/** GETs on one keep-alive connection; resolves the Cache-Status and the ms it took. */
async function timedGet (agent: Agent, port: number, path: string): Promise<{ ms: number, cs: string }> {
  const t0 = performance.now()
  return await new Promise((resolve, reject) => {
    // One Host for both replicas, as behind a load balancer: the key must not name a replica's port.
    const req = request({ host: HOST, port, path, agent, headers: { host: 'shared.bench' } }, res => {
      res.resume()
      res.on('end', () => resolve({ ms: performance.now() - t0, cs: String(res.headers['cache-status'] ?? '') }))
      res.on('error', reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

/** Reads every path once on B, timing each and B's CPU for the whole phase. */
async function phase (agent: Agent, port: number, pgid: number, paths: string[]): Promise<Phase & { hits: number }> {
  const cpu0 = groupCpuSeconds(pgid)
  const times: number[] = []
  let hits = 0
  for (const p of paths) {
    const r = await timedGet(agent, port, p)
    times.push(r.ms)
    if (/; hit/.test(r.cs)) hits++
  }
  const cpu = groupCpuSeconds(pgid) - cpu0
  return { p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99), cpuUsPerReq: cpu * 1e6 / paths.length, hits }
}

/**
 * Runs the scenario: a redis-server on a free port (no persistence), two replicas, N URLs.
 * Throws when redis-server is not installed.
 */
export async function sharedScenario (env: Env, fg: (extra: TargetOptions) => TargetOptions, urls: number): Promise<SharedRun> {
  if (which('redis-server') === undefined) throw new Error('redis-server is not installed')
  const port = await freePort()
  const dir = mkdtempSync(join(env.runDir, 'redis-'))
  const redis = startServer({ name: 'redis', cmd: 'redis-server', args: ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir], cpu: env.serverCpu }, join(env.runDir, 'redis.log'))
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    await waitRedis(port)
    const args = ['--shared-store', `redis://${HOST}:${port}`, '--store-prefix', `bench${port}:`]
    const a = await startTarget('freshgate', env, fg({ label: 'freshgate-shared-a', args }))
    const b = await startTarget('freshgate', env, fg({ label: 'freshgate-shared-b', args }))
    try {
      const tag = Math.random().toString(36).slice(2, 8)
      const paths = Array.from({ length: urls }, (_, i) => `/small?shared=${tag}-${i}`)
      const before = await originSmall(env)
      const agentA = new Agent({ keepAlive: true, maxSockets: 1 })
      for (const p of paths) await timedGet(agentA, a.port, p)
      // Warm B's code paths on other URLs, so the first phase measured is not its JIT warm-up.
      const warm = Array.from({ length: 200 }, (_, i) => `/small?warm=${tag}-${i}`)
      for (const p of warm) await timedGet(agentA, a.port, p)
      agentA.destroy()
      await phase(agent, b.port, b.proc.pid, warm)
      await phase(agent, b.port, b.proc.pid, warm)
      const l2 = await phase(agent, b.port, b.proc.pid, paths)
      const l1 = await phase(agent, b.port, b.proc.pid, paths)
      const fetched = await originSmall(env) - before - warm.length
      return {
        urls,
        hitRatio: l2.hits / urls,
        originPerUrl: fetched / urls,
        l2: { p50Ms: l2.p50Ms, p99Ms: l2.p99Ms, cpuUsPerReq: l2.cpuUsPerReq },
        l1: { p50Ms: l1.p50Ms, p99Ms: l1.p99Ms, cpuUsPerReq: l1.cpuUsPerReq },
        p50DeltaMs: l2.p50Ms - l1.p50Ms,
        cpuRatio: l2.cpuUsPerReq / l1.cpuUsPerReq
      }
    } finally {
      await a.stop()
      await b.stop()
    }
  } finally {
    agent.destroy()
    await stop(redis)
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Waits until redis-server answers PING (at most 10 s). */
async function waitRedis (port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const pong = await new Promise<boolean>(resolve => {
      const sock = createConnection({ host: HOST, port })
      const done = (ok: boolean): void => { sock.destroy(); resolve(ok) }
      sock.setTimeout(200, () => done(false))
      sock.on('connect', () => sock.write('PING\r\n'))
      sock.on('data', d => done(d.toString().startsWith('+PONG')))
      sock.on('error', () => done(false))
    })
    if (pong) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`redis-server did not answer on port ${port}`)
}

/** Origin requests for /small so far (queries are one resource to the origin). */
async function originSmall (env: Env): Promise<number> {
  const r = await get(env.originPort, '/__count', 5000)
  return (JSON.parse(r.text) as { counts: Record<string, { total: number } | undefined> }).counts['/small']?.total ?? 0
}

/** The report lines of a run. */
export function formatShared (s: SharedRun): string[] {
  const n = (x: number, d = 2): string => Number.isFinite(x) ? x.toFixed(d) : '-'
  return [
    `shared: 2 replicas on one local redis-server, ${s.urls} URLs filled through A, read on B`,
    `  hit ratio across replicas ${n(s.hitRatio * 100, 1)}%, origin requests per URL ${n(s.originPerUrl)}`,
    `  L2 hit p50 ${n(s.l2.p50Ms)} ms, p99 ${n(s.l2.p99Ms)} ms, ${n(s.l2.cpuUsPerReq, 0)} CPU µs/req`,
    `  L1 hit p50 ${n(s.l1.p50Ms)} ms, p99 ${n(s.l1.p99Ms)} ms, ${n(s.l1.cpuUsPerReq, 0)} CPU µs/req`,
    `  L2 − L1 p50 ${n(s.p50DeltaMs)} ms (target ≤ 1), CPU ${n(s.cpuRatio)}x (target ≤ 2)`
  ]
}
