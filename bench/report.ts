// What a bench run produces: the scenarios, the result document written to
// bench/results/<stamp>.json, the medians and ratios derived from raw runs, and the printed table.

import type { TargetName } from './targets.ts'
import type { Tool } from './load.ts'
import type { H2Run } from './h2.ts'
import { formatShared, type SharedRun } from './shared.ts'
import { formatWorkers, type WorkersRow } from './workers.ts'

/** A closed-loop load scenario: one path, a few targets. */
export type LoadScenario = 'small' | 'medium' | 'large' | 'revalidate' | 'nostore'
/** Every scenario `--scenarios` accepts. */
export type Scenario = LoadScenario | 'herd' | 'memory' | 'h2' | 'shared' | 'workers'

/** What a load scenario requests and what it is compared with. */
export interface LoadScenarioSpec {
  path: string
  /** expected body bytes */
  size: number
  label: string
  /** freshgate first; the others are baselines */
  targets: readonly TargetName[]
  /** true when freshgate should answer without contacting the origin */
  hit: boolean
}

export const LOAD_SCENARIOS: Record<LoadScenario, LoadScenarioSpec> = {
  small: { path: '/small', size: 1024, label: '1 KiB hit', targets: ['freshgate', 'nodelimit', 'nginx', 'varnish', 'squid'], hit: true },
  medium: { path: '/medium', size: 100 * 1024, label: '100 KiB hit', targets: ['freshgate', 'nodelimit', 'nginx', 'varnish', 'squid'], hit: true },
  large: { path: '/large', size: 1024 * 1024, label: '1 MiB hit', targets: ['freshgate', 'nodelimit', 'nginx', 'varnish', 'squid'], hit: true },
  // nginx does not store max-age=0 responses: its /revalidate is a plain pass-through
  revalidate: { path: '/revalidate', size: 1024, label: '304 folded', targets: ['freshgate', 'nodepass', 'nginx', 'varnish', 'squid'], hit: false },
  nostore: { path: '/nostore', size: 1024, label: 'no-store pass', targets: ['freshgate', 'nodepass', 'nginx', 'varnish', 'squid'], hit: false }
}

export const SCENARIOS: readonly Scenario[] = ['small', 'medium', 'large', 'revalidate', 'nostore', 'herd', 'memory', 'h2', 'shared', 'workers']

/** One measured load run. */
export interface Run {
  rep: number
  scenario: LoadScenario
  target: TargetName
  tool: Tool
  connections: number
  requests: number
  seconds: number
  rps: number
  mibS: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  errors: number
  errorDetail: Record<string, number>
  /** requests that reached the origin for this path during the run */
  originReqs: number
  /** of which answered 304 */
  origin304: number
  originPerReq: number
  /** CPU seconds of the target's process group during the run (utime + stime) */
  serverCpuS: number
  /** target CPU per client request, µs: steadier than req/s on a noisy box */
  serverUsPerReq: number
  /** origin CPU per client request, µs (it shares the server CPU on pass-through paths) */
  originUsPerReq: number
  /** target CPU seconds per wall second */
  serverUtil: number
  /** VmHWM summed over the target's processes (each target is started fresh per scenario) */
  peakRssMiB: number
  procs: number
  /** origin CPU seconds per wall second */
  originUtil: number
  /** the load generator's CPU seconds per wall second (near 1: client-bound) */
  clientUtil: number
  /** share of the server CPU spent in processes (any: the machine is shared) */
  serverCpuProc: number
  /** share of the server CPU spent in interrupts (loopback packet processing; in no process's CPU time) */
  serverCpuIrq: number
  /** share of the server CPU used by processes that are neither the target nor the origin */
  neighbourCpu: number
  /** what the last of three warm-up GETs got */
  warm: { status: number, bytes: number, cacheStatus: string }
}

/** Medians over reps of one target in one scenario. */
export interface Summary {
  scenario: LoadScenario
  target: TargetName
  n: number
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  originPerReq: number
  origin304Frac: number
  serverUsPerReq: number
  originUsPerReq: number
  peakRssMiB: number
  clientUtil: number
  neighbourCpu: number
  notes: string[]
}

/** freshgate against one baseline in one scenario. */
export interface Ratio {
  scenario: LoadScenario
  baseline: TargetName
  /** freshgate req/s ÷ baseline req/s (> 1: freshgate faster) */
  rps: number
  /** freshgate CPU µs/req ÷ baseline's (> 1: freshgate costs more) */
  cpu: number
}

/** One thundering-herd burst. */
export interface HerdRun {
  rep: number
  n: number
  delayMs: number
  /** p50 of the same burst sent straight to the origin (the client's and the origin's own latency) */
  directP50Ms: number
  originReqs: number
  statuses: Record<string, number>
  caches: Record<string, number>
  minMs: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  wallMs: number
  /** a follow-up GET was a hit that did not reach the origin */
  cachedAfter: boolean
  followUp: string
  peakRssMiB: number
}

/** The memory scenario. */
export interface MemoryRun {
  maxSizeMiB: number
  objectKiB: number
  objects: number
  workingSetMiB: number
  passes: number
  requests: number
  seconds: number
  errors: number
  caches: Record<string, number>
  originReqs: number
  idleRssMiB: number
  peakRssMiB: number
  /** max-size + 80 MiB */
  budgetMiB: number
  withinBudget: boolean
  timedOut: boolean
  /** [seconds since the cycle started, VmRSS MiB] */
  samples: Array<[number, number]>
}

/** The document written to bench/results/<stamp>.json. */
export interface Result {
  meta: Record<string, unknown>
  runs: Run[]
  summary: Summary[]
  ratios: Ratio[]
  herd: HerdRun[]
  memory: MemoryRun | undefined
  /** the HTTP/2 comparison (bench/h2.ts), when h2load is installed */
  h2?: H2Run[]
  /** two replicas sharing a local redis-server (bench/shared.ts), when run */
  shared?: SharedRun | undefined
  /** one process against --workers 2 under the hit load (bench/workers.ts), when run */
  workers?: WorkersRow[]
  /** scenarios or targets that could not be measured, with the reason */
  failures: string[]
}

export function median (xs: readonly number[]): number {
  const a = xs.filter(Number.isFinite).sort((x, y) => x - y)
  if (a.length === 0) return NaN
  const m = a.length >> 1
  return a.length % 2 === 1 ? a[m]! : (a[m - 1]! + a[m]!) / 2
}

/** Medians per scenario × target, in scenario then target order. */
export function summarise (runs: readonly Run[]): Summary[] {
  const out: Summary[] = []
  for (const scenario of Object.keys(LOAD_SCENARIOS) as LoadScenario[]) {
    const spec = LOAD_SCENARIOS[scenario]
    for (const target of spec.targets) {
      const rs = runs.filter(r => r.scenario === scenario && r.target === target)
      if (rs.length === 0) continue
      const s: Summary = {
        scenario,
        target,
        n: rs.length,
        rps: median(rs.map(r => r.rps)),
        p50Ms: median(rs.map(r => r.p50Ms)),
        p99Ms: median(rs.map(r => r.p99Ms)),
        errors: rs.reduce((a, r) => a + r.errors, 0),
        originPerReq: median(rs.map(r => r.originPerReq)),
        origin304Frac: median(rs.map(r => r.originReqs > 0 ? r.origin304 / r.originReqs : NaN)),
        serverUsPerReq: median(rs.map(r => r.serverUsPerReq)),
        originUsPerReq: median(rs.map(r => r.originUsPerReq)),
        peakRssMiB: Math.max(...rs.map(r => r.peakRssMiB)),
        clientUtil: median(rs.map(r => r.clientUtil)),
        neighbourCpu: median(rs.map(r => r.neighbourCpu)),
        notes: []
      }
      const warm = rs[0]!.warm
      if (warm.status !== 200 || warm.bytes !== spec.size) s.notes.push(`warm-up got ${warm.status}/${warm.bytes} B`)
      if (target === 'freshgate' && spec.hit && rs.some(r => r.originReqs > 0)) s.notes.push('ORIGIN CONTACTED ON HITS')
      if (s.errors > 0) s.notes.push('errors')
      if (s.clientUtil > 0.9) s.notes.push('client-bound')
      if (s.neighbourCpu > 0.2) s.notes.push(`noisy: others used ${Math.round(s.neighbourCpu * 100)}% of the server CPU`)
      out.push(s)
    }
  }
  return out
}

/** freshgate ÷ each baseline measured in the same scenario. */
export function ratios (summary: readonly Summary[]): Ratio[] {
  const out: Ratio[] = []
  for (const fg of summary.filter(s => s.target === 'freshgate')) {
    for (const b of summary.filter(s => s.scenario === fg.scenario && s.target !== 'freshgate')) {
      out.push({ scenario: fg.scenario, baseline: b.target, rps: fg.rps / b.rps, cpu: fg.serverUsPerReq / b.serverUsPerReq })
    }
  }
  return out
}

const num = (x: number, d = 0): string => Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '-'
const pad = (s: string, n: number): string => s.padStart(n)
const padr = (s: string, n: number): string => s.padEnd(n)

/** The compact text report. */
export function formatReport (r: Result): string {
  const out: string[] = []
  const m = r.meta
  out.push(`freshgate bench ${String(m.stamp)}: ${String(m.loadgen)} -c${String(m.connections)} ${String(m.duration)}s (+${String(m.warmup)}s warm-up) x${String(m.reps)}; ` +
    `server CPU ${String(m.serverCpu ?? '-')}, client CPU ${String(m.clientCpu ?? '-')}; node ${String(m.node)}; load ${String(m.loadStart)} -> ${String(m.loadEnd)}`)
  if (r.summary.length > 0) {
    out.push('')
    out.push(padr('scenario', 12) + padr('target', 11) + pad('req/s', 9) + pad('p50 ms', 8) + pad('p99 ms', 8) + pad('errors', 7) +
      pad('origin/req', 11) + pad('CPU µs/req', 11) + pad('peak RSS', 10) + '  notes')
    let last = ''
    for (const s of r.summary) {
      const label = s.scenario === last ? '' : s.scenario
      last = s.scenario
      const origin = num(s.originPerReq, 3) + (s.originPerReq > 0 && s.origin304Frac > 0.5 ? '*' : ' ')
      out.push(padr(label, 12) + padr(s.target, 11) + pad(num(s.rps), 9) + pad(num(s.p50Ms, 2), 8) + pad(num(s.p99Ms, 2), 8) +
        pad(String(s.errors), 7) + pad(origin, 11) + pad(num(s.serverUsPerReq, 1), 11) + pad(`${num(s.peakRssMiB, 0)} MiB`, 10) + '  ' + s.notes.join(', '))
    }
    out.push('(scenarios: ' + (Object.keys(LOAD_SCENARIOS) as LoadScenario[]).map(k => `${k} = ${LOAD_SCENARIOS[k].label}`).join(', ') + ')')
    out.push('(origin/req: origin requests per client request, * mostly 304s; CPU µs/req: target process group CPU time ÷ requests)')
  }
  if (r.ratios.length > 0) {
    out.push('', 'freshgate ÷ baseline: req/s ratio (>1 faster), CPU µs/req ratio (>1 costlier)')
    for (const scenario of Object.keys(LOAD_SCENARIOS) as LoadScenario[]) {
      const rs = r.ratios.filter(x => x.scenario === scenario)
      if (rs.length === 0) continue
      out.push((padr(scenario, 12) + rs.map(x => padr(`vs ${x.baseline}: ${num(x.rps, 2)}x req/s, ${num(x.cpu, 2)}x CPU`, 40)).join('')).trimEnd())
    }
  }
  if (r.herd.length > 0) {
    const h0 = r.herd[0]!
    out.push('', `herd: ${h0.n} concurrent GETs of one new URL on ${h0.n} new connections, origin delay ${h0.delayMs} ms`)
    for (const h of r.herd) {
      const caches = Object.entries(h.caches).map(([k, v]) => `${v}x "${k.replace(/^freshgate; /, '')}"`).join(', ')
      out.push(`  rep ${h.rep}: origin requests ${h.originReqs}/${h.n}; statuses ${JSON.stringify(h.statuses)}; latency p50 ${num(h.p50Ms, 0)} ms ` +
        `(origin direct ${num(h.directP50Ms, 0)} ms: ${h.p50Ms >= h.directP50Ms ? '+' : ''}${num(h.p50Ms - h.directP50Ms, 0)} ms, target <= +30), ` +
        `p99 ${num(h.p99Ms, 0)} ms, max ${num(h.maxMs, 0)} ms (delay ${h.delayMs}); cached after: ${h.cachedAfter ? 'yes' : 'NO (' + h.followUp + ')'}`)
      out.push(`         ${caches}`)
    }
  }
  const mem = r.memory
  if (mem !== undefined) {
    out.push('', `memory: --max-size ${mem.maxSizeMiB}MiB, ${mem.objects} URLs x ${mem.objectKiB} KiB (${num(mem.workingSetMiB)} MiB) cycled ${mem.passes}x: ` +
      `${mem.requests} requests in ${num(mem.seconds, 1)} s, ${mem.errors} errors, origin ${mem.originReqs}${mem.timedOut ? ', STOPPED AT TIME LIMIT' : ''}`)
    out.push(`  peak RSS ${num(mem.peakRssMiB, 1)} MiB (idle ${num(mem.idleRssMiB, 1)}) vs budget max-size + 80 = ${mem.budgetMiB} MiB: ` +
      (mem.withinBudget ? 'within' : `OVER by ${num(mem.peakRssMiB - mem.budgetMiB, 1)} MiB`))
  }
  if (r.h2 !== undefined && r.h2.length > 0) {
    out.push('', 'h2: 1 KiB hit (/small) with h2load, one client thread')
    for (const h of r.h2) {
      out.push(`  ${padr(h.target, 14)} ${padr(h.protocol, 9)} -c${h.connections} -m${h.streams}: ${num(h.rps, 0)} req/s, mean ${num(h.meanMs, 2)} ms, ${h.errors} errors`)
    }
  }
  if (r.shared !== undefined) out.push('', ...formatShared(r.shared))
  if (r.workers !== undefined && r.workers.length > 0) out.push('', ...formatWorkers(r.workers))
  if (r.failures.length > 0) out.push('', 'FAILED:', ...r.failures.map(f => `  ${f}`))
  return out.join('\n') + '\n'
}
