// The `workers` bench scenario: the 1 KiB hit load against one freshgate process and against
// `--workers 2`, one after the other in the same run, with the CPU of every process of each
// (primary and workers). On a 2-core machine whose second core runs the load generator both workers
// share the server core, so the figure to compare is CPU µs per request, per worker and in total;
// req/s can only scale with a core per worker and one more for the load.

import { groupPids, processCpuSeconds } from './procs.ts'
import { get } from './net.ts'
import { runLoad, type Tool } from './load.ts'
import { startTarget, type Env, type TargetOptions } from './targets.ts'

/** One freshgate under the hit load. */
export interface WorkersRow {
  workers: number
  rps: number
  p99Ms: number
  /** CPU µs per request over every process of the group */
  usPerReq: number
  /** each process's CPU over all requests, µs per request, busiest first (the primary last, near 0) */
  perProcess: number[]
}

/** Runs the hit load against 1 and 2 workers. */
export async function workersScenario (env: Env, fg: (extra: TargetOptions) => TargetOptions, load: { tool: Tool, connections: number, seconds: number, warmup: number, cpu: number | undefined }): Promise<WorkersRow[]> {
  const rows: WorkersRow[] = []
  for (const workers of [1, 2]) {
    const t = await startTarget('freshgate', env, fg({ label: `freshgate-workers-${workers}`, args: workers > 1 ? ['--workers', String(workers)] : [] }))
    try {
      // Fresh connections are spread over the workers: each one fills its own cache.
      for (let i = 0; i < 6 * workers; i++) await get(t.port, '/small')
      const spec = { port: t.port, path: '/small', connections: load.connections, cpu: load.cpu }
      if (load.warmup > 0) await runLoad(load.tool, { ...spec, seconds: load.warmup })
      const pids = groupPids(t.proc.pid)
      const c0 = pids.map(processCpuSeconds)
      const r = await runLoad(load.tool, { ...spec, seconds: load.seconds })
      const used = pids.map((pid, i) => processCpuSeconds(pid) - c0[i]!)
      const per = (s: number): number => r.requests > 0 ? s * 1e6 / r.requests : NaN
      rows.push({
        workers,
        rps: r.requests / r.seconds,
        p99Ms: r.p99Ms,
        usPerReq: per(used.reduce((a, b) => a + b, 0)),
        perProcess: used.map(per).sort((a, b) => b - a)
      })
    } finally {
      await t.stop()
    }
  }
  return rows
}

/** Report lines. */
export function formatWorkers (rows: readonly WorkersRow[]): string[] {
  const n = (x: number, d = 1): string => Number.isFinite(x) ? x.toFixed(d) : '-'
  const out = ['workers: 1 KiB hit load against one process and against --workers 2 (CPU µs per request per process)']
  for (const r of rows) {
    out.push(`  ${r.workers} worker${r.workers > 1 ? 's' : ''}: ${Math.round(r.rps)} req/s, p99 ${n(r.p99Ms, 2)} ms, ${n(r.usPerReq)} µs/req in all` +
      (r.workers > 1 ? ` (split over the processes: ${r.perProcess.map(x => n(x)).join(' + ')})` : ''))
  }
  return out
}
