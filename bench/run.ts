// `npm run bench`: starts the bundled origin and freshgate (and the baselines) on loopback, drives
// load with wrk (else autocannon), and writes bench/results/<stamp>.json and bench/results/latest.svg.
// A benchmark, not a test: it asserts nothing. See bench/README.md.

import { parseArgs } from 'node:util'
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  startServer, runClient, stop, stopAll, killAllSync, canPin, which,
  groupCpuSeconds, groupMemory, cpuTimes, cpuFraction, type Proc
} from './procs.ts'
import { HOST, freePort, get, waitReady } from './net.ts'
import { chooseTool, runLoad, toolVersion, type Tool } from './load.ts'
import { startTarget, available, programOf, TARGETS, type Env, type TargetName, type TargetOptions } from './targets.ts'
import {
  LOAD_SCENARIOS, SCENARIOS, summarise, ratios, formatReport,
  type LoadScenario, type Scenario, type Run, type HerdRun, type MemoryRun, type Result
} from './report.ts'
import { renderChart } from './chart.ts'
import { measureH2, h2Unavailable } from './h2.ts'
import { sharedScenario, formatShared } from './shared.ts'
import { workersScenario, formatWorkers } from './workers.ts'

const BENCH = import.meta.dirname
const ROOT = join(BENCH, '..')
const RESULTS = join(BENCH, 'results')

const HELP = `npm run bench -- [options]

Benchmarks freshgate against a bundled origin on 127.0.0.1, with baselines (Node limit, Node
pass-through; nginx proxy_cache, Varnish and Squid with collapsed forwarding when installed). Writes bench/results/<stamp>.json and
bench/results/latest.svg and prints a table. Default run: ~4 min; --quick: under 2 min.

  --quick                short runs (3 s, 1 s warm-up, one herd burst, one memory pass)
  --duration S           seconds per measured load run (default 10; --quick 3)
  --warmup S             seconds of load before each measured run (default 2; --quick 1)
  --connections N        load-generator connections (default 50)
  --reps N               interleaved repetitions of the load scenarios, medians reported (default 1)
  --scenarios a,b        any of ${SCENARIOS.join(',')} (default: all)
  --targets a,b          only these of ${TARGETS.join(',')} in load scenarios (default: all installed)
  --loadgen wrk|autocannon   force a load generator (default: wrk when installed)
  --fg-entry dist|src|binary  run freshgate as the image and the npm package run it: the launcher
                         bin/freshgate.js (with its V8 flags) over dist/ (built first with npm run
                         build; default), the launcher over src/ by type stripping, as in a checkout
                         (+~25 MiB resident), or build/freshgate (built first with npm run build:binary)
  --fg-node-args="FLAGS" Node/V8 flags for every freshgate started, e.g. --fg-node-args="--max-semi-space-size=1"
  --fg-args="FLAGS"      extra freshgate flags for every freshgate started, e.g. --fg-args="--collapse false"
  --cpu-prof DIR         run freshgate under node --cpu-prof, profiles written to DIR
                         (summarise with: node bench/profile.ts DIR)
  --keep-logs            keep the scratch directory with server logs
  -h, --help
`

/** Validated options. */
interface Options {
  quick: boolean
  duration: number
  warmup: number
  connections: number
  reps: number
  scenarios: Scenario[]
  targets: TargetName[]
  loadgen: Tool | undefined
  cpuProf: string | undefined
  fgArgs: string[]
  fgNodeArgs: string[]
  fgEntry: 'src' | 'dist' | 'binary'
  keepLogs: boolean
  herdN: number
  herdReps: number
  herdDelayMs: number
  memMaxSizeMiB: number
  memObjectKiB: number
  memFactor: number
  memPasses: number
}

function fail (message: string): never {
  process.stderr.write(`bench: ${message}\n`)
  process.exit(2)
}

function numberOption (name: string, raw: string | undefined, dflt: number, min: number, max: number): number {
  if (raw === undefined) return dflt
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}, got "${raw}"`)
  return n
}

function parseOptions (argv: string[]): Options {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        reps: { type: 'string' },
        scenarios: { type: 'string' },
        targets: { type: 'string' },
        loadgen: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'fg-args': { type: 'string' },
        'fg-node-args': { type: 'string' },
        'fg-entry': { type: 'string' },
        'keep-logs': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (err) {
    fail(`${(err as Error).message}\n${HELP}`)
  }
  const v = parsed.values
  if (v.help === true) {
    process.stdout.write(HELP)
    process.exit(0)
  }
  const quick = v.quick === true
  let scenarios: Scenario[] = [...SCENARIOS]
  if (v.scenarios !== undefined) {
    scenarios = v.scenarios.split(',').map(s => s.trim()).filter(s => s !== '') as Scenario[]
    const unknown = scenarios.filter(s => !SCENARIOS.includes(s))
    if (unknown.length > 0 || scenarios.length === 0) fail(`--scenarios: unknown "${unknown.join(',')}"; expected a comma-separated list of ${SCENARIOS.join(', ')}`)
  }
  let targets: TargetName[] = [...TARGETS]
  if (v.targets !== undefined) {
    targets = v.targets.split(',').map(s => s.trim()).filter(s => s !== '') as TargetName[]
    const unknown = targets.filter(t => !TARGETS.includes(t))
    if (unknown.length > 0 || targets.length === 0) fail(`--targets: unknown "${unknown.join(',')}"; expected a comma-separated list of ${TARGETS.join(', ')}`)
  }
  if (v.loadgen !== undefined && v.loadgen !== 'wrk' && v.loadgen !== 'autocannon') fail(`--loadgen must be wrk or autocannon, got "${v.loadgen}"`)
  if (v.loadgen === 'wrk' && which('wrk') === undefined) fail('--loadgen wrk: wrk is not installed')
  return {
    quick,
    duration: numberOption('duration', v.duration, quick ? 3 : 10, 1, 120),
    warmup: numberOption('warmup', v.warmup, quick ? 1 : 2, 0, 60),
    connections: numberOption('connections', v.connections, 50, 1, 1000),
    reps: numberOption('reps', v.reps, 1, 1, 5),
    scenarios,
    targets,
    loadgen: v.loadgen as Tool | undefined,
    cpuProf: v['cpu-prof'],
    fgArgs: (v['fg-args'] ?? '').split(/\s+/).filter(a => a !== ''),
    fgNodeArgs: (v['fg-node-args'] ?? '').split(/\s+/).filter(a => a !== ''),
    fgEntry: fgEntry(v['fg-entry']),
    keepLogs: v['keep-logs'] === true,
    herdN: 200,
    herdReps: quick ? 1 : 3,
    herdDelayMs: 300,
    memMaxSizeMiB: 32,
    memObjectKiB: 256,
    memFactor: 10,
    memPasses: quick ? 1 : 2
  }
}

function log (s: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`)
}

function stampNow (): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

function versionOf (cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim()
  } catch (err) {
    // nginx -v prints to stderr
    const e = err as { stderr?: string }
    return e.stderr?.split('\n')[0]?.trim()
  }
}

/** Origin counters for one path. */
interface Count { total: number, s304: number }

/** The bench's context: origin, options, where servers and clients run. */
interface Bench {
  opts: Options
  tool: Tool
  env: Env
  origin: Proc
  clientCpu: number | undefined
}

async function originCount (b: Bench, path: string): Promise<Count> {
  const r = await get(b.env.originPort, '/__count', 5000)
  const c = (JSON.parse(r.text) as { counts: Record<string, Count | undefined> }).counts[path]
  return { total: c?.total ?? 0, s304: c?.s304 ?? 0 }
}

/** Options of every freshgate start: --fg-args, then the scenario's own flags; --cpu-prof. */
function fgOptions (b: Bench, extra: TargetOptions = {}): TargetOptions {
  const args = [...b.opts.fgArgs, ...extra.args ?? []]
  const nodeArgs = [...b.opts.fgNodeArgs, ...b.opts.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', b.opts.cpuProf]]
  return { ...extra, args, nodeArgs }
}

/** One target in one load scenario: fresh start, warm-up, measured run, stop. */
async function measure (b: Bench, scenario: LoadScenario, target: TargetName, rep: number): Promise<Run> {
  const spec = LOAD_SCENARIOS[scenario]
  const t = await startTarget(target, b.env, target === 'freshgate' ? fgOptions(b, { label: `freshgate-${scenario}-${rep}` }) : { label: `${target}-${scenario}-${rep}` })
  try {
    let warm = { status: 0, bytes: 0, cacheStatus: '' }
    for (let i = 0; i < 3; i++) {
      const g = await get(t.port, spec.path)
      warm = { status: g.status, bytes: g.bytes, cacheStatus: String(g.headers['cache-status'] ?? g.headers['x-cache-status'] ?? '') }
    }
    const load = { port: t.port, path: spec.path, connections: b.opts.connections, cpu: b.clientCpu }
    if (b.opts.warmup > 0) await runLoad(b.tool, { ...load, seconds: b.opts.warmup })
    const o0 = await originCount(b, spec.path)
    const c0 = groupCpuSeconds(t.proc.pid)
    const g0 = groupCpuSeconds(b.origin.pid)
    const k0 = cpuTimes()
    const r = await runLoad(b.tool, { ...load, seconds: b.opts.duration })
    const k1 = cpuTimes()
    const c1 = groupCpuSeconds(t.proc.pid)
    const g1 = groupCpuSeconds(b.origin.pid)
    const o1 = await originCount(b, spec.path)
    const mem = groupMemory(t.proc.pid)
    const originReqs = o1.total - o0.total
    const sc = b.env.serverCpu
    const serverProc = sc === undefined ? NaN : cpuFraction(k0, k1, sc, 'proc')
    const row: Run = {
      rep,
      scenario,
      target,
      tool: r.tool,
      connections: b.opts.connections,
      requests: r.requests,
      seconds: r.seconds,
      rps: r.requests / r.seconds,
      mibS: r.bytes / r.seconds / 1048576,
      p50Ms: r.p50Ms,
      p90Ms: r.p90Ms,
      p99Ms: r.p99Ms,
      maxMs: r.maxMs,
      errors: r.errors,
      errorDetail: r.errorDetail,
      originReqs,
      origin304: o1.s304 - o0.s304,
      originPerReq: r.requests > 0 ? originReqs / r.requests : NaN,
      serverCpuS: c1 - c0,
      serverUsPerReq: r.requests > 0 ? (c1 - c0) * 1e6 / r.requests : NaN,
      originUsPerReq: r.requests > 0 ? (g1 - g0) * 1e6 / r.requests : NaN,
      serverUtil: (c1 - c0) / r.seconds,
      peakRssMiB: mem.peakMiB,
      procs: mem.procs,
      originUtil: (g1 - g0) / r.seconds,
      clientUtil: r.clientUtil,
      serverCpuProc: serverProc,
      serverCpuIrq: sc === undefined ? NaN : cpuFraction(k0, k1, sc, 'irq'),
      neighbourCpu: Math.max(0, serverProc - ((c1 - c0) + (g1 - g0)) / r.seconds),
      warm
    }
    log(`  ${scenario} ${target}: ${Math.round(row.rps)} req/s, p99 ${row.p99Ms.toFixed(2)} ms, ${row.serverUsPerReq.toFixed(1)} µs/req, ` +
      `origin ${originReqs}, errors ${row.errors}, RSS ${row.peakRssMiB.toFixed(0)} MiB [${warm.status} ${warm.bytes} B "${warm.cacheStatus}"]`)
    return row
  } finally {
    await t.stop()
  }
}

/** One herd client burst: herdN concurrent GETs of `path` on new connections to `port`. */
async function burst (b: Bench, port: number, path: string): Promise<Omit<HerdRun, 'rep' | 'delayMs' | 'directP50Ms' | 'originReqs' | 'cachedAfter' | 'followUp' | 'peakRssMiB'>> {
  const r = await runClient({
    name: 'herd',
    cmd: process.execPath,
    args: [join(BENCH, 'herd.ts'), `http://${HOST}:${port}${path}`, String(b.opts.herdN)],
    cpu: b.clientCpu
  }, 90_000)
  const line = r.stdout.trim().split('\n').pop() ?? ''
  if (!line.startsWith('{')) throw new Error(`herd client gave no result (exit ${r.code}): ${r.stderr.slice(-1000)}`)
  return JSON.parse(line) as Omit<HerdRun, 'rep' | 'delayMs' | 'directP50Ms' | 'originReqs' | 'cachedAfter' | 'followUp' | 'peakRssMiB'>
}

/** Bursts of concurrent misses on a new URL each, against one freshgate. */
async function herd (b: Bench): Promise<HerdRun[]> {
  const out: HerdRun[] = []
  const t = await startTarget('freshgate', b.env, fgOptions(b, { label: 'freshgate-herd' }))
  try {
    for (let rep = 1; rep <= b.opts.herdReps; rep++) {
      const path = `/herd/${process.pid}-${rep}-${Math.random().toString(36).slice(2, 10)}`
      // The same burst straight at the origin first: what the client and the origin's delay take
      // on their own, the baseline freshgate's p50 is compared with.
      const direct = await burst(b, b.env.originPort, `${path}-direct`)
      const h = await burst(b, t.port, path)
      const during = await originCount(b, path)
      const follow = await get(t.port, path)
      const after = await originCount(b, path)
      const followUp = String(follow.headers['cache-status'] ?? '')
      const row: HerdRun = {
        ...h,
        rep,
        delayMs: b.opts.herdDelayMs,
        directP50Ms: direct.p50Ms,
        originReqs: during.total,
        cachedAfter: after.total === during.total && follow.status === 200 && /; hit\b/.test(followUp),
        followUp,
        peakRssMiB: groupMemory(t.proc.pid).peakMiB
      }
      log(`  herd ${rep}: origin ${row.originReqs}/${row.n}, statuses ${JSON.stringify(row.statuses)}, p50 ${row.p50Ms} ms (origin direct ${row.directP50Ms} ms), p99 ${row.p99Ms} ms, max ${row.maxMs} ms`)
      out.push(row)
    }
  } finally {
    await t.stop()
  }
  return out
}

/** freshgate with a small --max-size, a working set many times larger cycled through it. */
async function memory (b: Bench): Promise<MemoryRun> {
  const o = b.opts
  const objects = Math.round(o.memFactor * o.memMaxSizeMiB * 1024 / o.memObjectKiB)
  const t = await startTarget('freshgate', b.env, fgOptions(b, { label: 'freshgate-memory', args: ['--max-size', `${o.memMaxSizeMiB}MiB`] }))
  try {
    await get(t.port, '/blob/warm')
    const idle = groupMemory(t.proc.pid)
    const o0 = await originCount(b, '/blob/*')
    const samples: Array<[number, number]> = []
    const t0 = performance.now()
    const sampler = setInterval(() => samples.push([+((performance.now() - t0) / 1000).toFixed(2), +groupMemory(t.proc.pid).rssMiB.toFixed(1)]), 250)
    const limitS = o.quick ? 30 : 60
    let r
    try {
      r = await runClient({
        name: 'cycle',
        cmd: process.execPath,
        args: [join(BENCH, 'cycle.ts'), `http://${HOST}:${t.port}`, String(objects), String(o.memPasses), '16', String(limitS)],
        cpu: b.clientCpu
      }, (limitS + 30) * 1000)
    } finally {
      clearInterval(sampler)
    }
    const line = r.stdout.trim().split('\n').pop() ?? ''
    if (!line.startsWith('{')) throw new Error(`memory client gave no result (exit ${r.code}): ${r.stderr.slice(-1000)}`)
    const c = JSON.parse(line) as { requests: number, seconds: number, statuses: Record<string, number>, caches: Record<string, number>, timedOut: boolean }
    const o1 = await originCount(b, '/blob/*')
    const mem = groupMemory(t.proc.pid)
    const budget = o.memMaxSizeMiB + 80
    const run: MemoryRun = {
      maxSizeMiB: o.memMaxSizeMiB,
      objectKiB: o.memObjectKiB,
      objects,
      workingSetMiB: objects * o.memObjectKiB / 1024,
      passes: o.memPasses,
      requests: c.requests,
      seconds: c.seconds,
      errors: c.requests - (c.statuses['200'] ?? 0),
      caches: c.caches,
      originReqs: o1.total - o0.total,
      idleRssMiB: idle.peakMiB,
      peakRssMiB: mem.peakMiB,
      budgetMiB: budget,
      withinBudget: mem.peakMiB <= budget,
      timedOut: c.timedOut,
      samples
    }
    log(`  memory: ${run.requests} requests in ${run.seconds} s, peak RSS ${run.peakRssMiB.toFixed(1)} MiB (idle ${run.idleRssMiB.toFixed(1)}), budget ${budget} MiB`)
    return run
  } finally {
    await t.stop()
  }
}

async function main (): Promise<void> {
  const opts = parseOptions(process.argv.slice(2))
  if (Number(process.versions.node.split('.')[0]) < 24) fail(`needs Node >= 24 (type stripping); this is ${process.version}. Run with node_modules/.bin/node or npm run bench.`)
  if (!existsSync('/proc/self/stat')) fail('needs Linux /proc (CPU time and peak RSS are read from it)')
  const tool = chooseTool(opts.loadgen)
  const pin = canPin && availableParallelism() >= 2
  const serverCpu = pin ? 0 : undefined
  const clientCpu = pin ? 1 : undefined
  // Keep the orchestrator itself off the server CPU.
  if (clientCpu !== undefined) {
    try { execFileSync('taskset', ['-pc', String(clientCpu), String(process.pid)], { stdio: 'ignore' }) } catch {}
  }
  if (opts.cpuProf !== undefined) mkdirSync(opts.cpuProf, { recursive: true })
  const runDir = mkdtempSync(join(tmpdir(), 'freshgate-bench-'))
  // Varnish reads its VCL as its own unprivileged user: the scratch directory must be searchable.
  chmodSync(runDir, 0o755)
  // tmpfs keeps nginx's cache files in memory, as freshgate's are
  const memDir = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/freshgate-bench-') : join(runDir, 'mem')
  scratch.push(memDir)
  if (!opts.keepLogs) scratch.push(runDir)
  const stamp = stampNow()
  const load = opts.scenarios.filter((s): s is LoadScenario => s in LOAD_SCENARIOS)
  const failures: string[] = []
  const skipped = (t: TargetName): boolean => !opts.targets.includes(t) || !available(t)
  for (const t of TARGETS) {
    if (opts.targets.includes(t) && !available(t) && load.length > 0) failures.push(`${t} baseline skipped: ${programOf(t) ?? t} is not installed`)
  }
  const nRuns = load.reduce((a, s) => a + LOAD_SCENARIOS[s].targets.filter(t => !skipped(t)).length, 0) * opts.reps
  const estimate = nRuns * (opts.duration + opts.warmup + 1.5) + (opts.scenarios.includes('herd') ? 3 * opts.herdReps + 2 : 0) + (opts.scenarios.includes('memory') ? 20 : 0) + (opts.scenarios.includes('h2') ? 3 * (opts.duration + opts.warmup + 2) : 0) + (opts.scenarios.includes('shared') ? 15 : 0) + (opts.scenarios.includes('workers') ? 2 * (opts.duration + opts.warmup + 3) : 0) + 5
  log(`freshgate bench: ${tool}, ${nRuns} load runs of ${opts.duration}s (+${opts.warmup}s warm-up), scenarios ${opts.scenarios.join(',')}; ` +
    `${pin ? 'servers on CPU 0, clients on CPU 1' : 'no CPU pinning (taskset missing or one CPU)'}; about ${Math.ceil(estimate / 60)} min; logs in ${runDir}`)

  const meta: Record<string, unknown> = {
    stamp,
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: cpus()[0]?.model ?? '?',
    nproc: availableParallelism(),
    loadgen: tool,
    loadgenVersion: await toolVersion(tool),
    nginx: available('nginx') ? versionOf('nginx', ['-v']) : undefined,
    varnish: available('varnish') ? versionOf('varnishd', ['-V']) : undefined,
    squid: available('squid') ? versionOf('squid', ['-v']) : undefined,
    serverCpu,
    clientCpu,
    connections: opts.connections,
    duration: opts.duration,
    warmup: opts.warmup,
    reps: opts.reps,
    scenarios: opts.scenarios,
    freshgateArgs: opts.fgArgs,
    freshgateNodeArgs: opts.fgNodeArgs,
    originWork: 10000,
    herdDelayMs: opts.herdDelayMs,
    loadStart: readFileSync('/proc/loadavg', 'utf8').trim()
  }

  const originPort = await freePort()
  const origin = startServer({
    name: 'origin',
    cmd: process.execPath,
    args: [join(BENCH, 'origin.ts')],
    cpu: serverCpu,
    env: { PORT: String(originPort), HERD_DELAY_MS: String(opts.herdDelayMs), BLOB_SIZE: String(opts.memObjectKiB * 1024), ORIGIN_WORK: '10000' }
  }, join(runDir, 'origin.log'))
  await waitReady(origin, originPort)
  const b: Bench = { opts, tool, env: { root: ROOT, runDir, memDir, originPort, serverCpu, fgCommand: freshgateCommand(opts.fgEntry, runDir) }, origin, clientCpu }

  const runs: Run[] = []
  const result: Result = { meta, runs, summary: [], ratios: [], herd: [], memory: undefined, failures }
  if (load.length > 0) {
    // JIT-warm the origin so the first target measured is not penalised.
    for (const path of ['/small', '/nostore']) await runLoad(tool, { port: originPort, path, connections: 10, seconds: 1, cpu: clientCpu })
  }
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const scenario of load) {
      log(`${scenario} (${LOAD_SCENARIOS[scenario].label})${opts.reps > 1 ? `, rep ${rep}/${opts.reps}` : ''}`)
      for (const target of LOAD_SCENARIOS[scenario].targets) {
        if (skipped(target)) continue
        try {
          runs.push(await measure(b, scenario, target, rep))
        } catch (err) {
          failures.push(`${scenario}/${target} rep ${rep}: ${(err as Error).message.split('\n')[0]}`)
          log(`  ${scenario} ${target} FAILED: ${(err as Error).message}`)
        }
      }
    }
  }
  if (opts.scenarios.includes('herd')) {
    log(`herd (${opts.herdN} concurrent misses, origin delay ${opts.herdDelayMs} ms)`)
    try { result.herd = await herd(b) } catch (err) { failures.push(`herd: ${(err as Error).message.split('\n')[0]}`); log(`  herd FAILED: ${(err as Error).message}`) }
  }
  if (opts.scenarios.includes('memory')) {
    log(`memory (--max-size ${opts.memMaxSizeMiB}MiB, working set ${opts.memFactor}x)`)
    try { result.memory = await memory(b) } catch (err) { failures.push(`memory: ${(err as Error).message.split('\n')[0]}`); log(`  memory FAILED: ${(err as Error).message}`) }
  }
  if (opts.scenarios.includes('h2')) {
    const why = h2Unavailable()
    if (why !== undefined) failures.push(why)
    else {
      log('h2 (1 KiB hit with h2load: freshgate over HTTP/1.1 and h2c, bare node:http2)')
      try {
        const h2 = await measureH2({ env: b.env, connections: opts.connections, streams: 10, seconds: opts.duration, warmup: opts.warmup, clientCpu, fg: extra => fgOptions(b, extra) }, log)
        result.h2 = h2.runs
        failures.push(...h2.notes)
      } catch (err) { failures.push(`h2: ${(err as Error).message.split('\n')[0]}`); log(`  h2 FAILED: ${(err as Error).message}`) }
    }
  }
  if (opts.scenarios.includes('shared')) {
    const urls = opts.quick ? 300 : 1000
    log(`shared (2 replicas on a local redis-server, ${urls} URLs)`)
    try {
      result.shared = await sharedScenario(b.env, extra => fgOptions(b, extra), urls)
      log(`  ${formatShared(result.shared).slice(1).map(l => l.trim()).join('; ')}`)
    } catch (err) { failures.push(`shared: ${(err as Error).message.split('\n')[0]}`); log(`  shared FAILED: ${(err as Error).message}`) }
  }
  if (opts.scenarios.includes('workers')) {
    log('workers (1 KiB hit load against one process and --workers 2)')
    try {
      result.workers = await workersScenario(b.env, extra => fgOptions(b, extra), { tool, connections: opts.connections, seconds: opts.duration, warmup: opts.warmup, cpu: clientCpu })
      log(`  ${formatWorkers(result.workers).slice(1).map(l => l.trim()).join('; ')}`)
    } catch (err) { failures.push(`workers: ${(err as Error).message.split('\n')[0]}`); log(`  workers FAILED: ${(err as Error).message}`) }
  }
  meta.originPeakRssMiB = groupMemory(origin.pid).peakMiB
  await stop(origin)
  meta.loadEnd = readFileSync('/proc/loadavg', 'utf8').trim()

  result.summary = summarise(runs)
  result.ratios = ratios(result.summary)
  mkdirSync(RESULTS, { recursive: true })
  const file = join(RESULTS, `${stamp}.json`)
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
  writeFileSync(join(RESULTS, 'latest.svg'), renderChart(result))
  if (opts.keepLogs) log(`logs kept in ${runDir}`)
  removeScratch()
  process.stdout.write(formatReport(result))
  process.stdout.write(`\nwrote ${file} and ${join(RESULTS, 'latest.svg')}\n`)
}

/** Scratch directories removed on the way out. */
const scratch: string[] = []
function removeScratch (): void {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true })
}

// Every process the bench started is stopped on the way out, however it goes.
let stopping = false
async function shutdown (code: number, why: string): Promise<void> {
  if (stopping) {
    killAllSync()
    process.exit(code)
  }
  stopping = true
  log(why)
  await stopAll()
  removeScratch()
  process.exit(code)
}
process.on('SIGINT', () => { void shutdown(130, 'interrupted: stopping everything the bench started') })
process.on('SIGTERM', () => { void shutdown(143, 'terminated: stopping everything the bench started') })
process.on('exit', killAllSync)

try {
  await main()
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`)
  await shutdown(1, 'failed: stopping everything the bench started')
}

/** Validates --fg-entry. */
function fgEntry (v: string | undefined): 'src' | 'dist' | 'binary' {
  if (v === undefined || v === 'src' || v === 'dist' || v === 'binary') return v ?? 'dist'
  throw new TypeError(`--fg-entry: got ${JSON.stringify(v)}, expected src, dist or binary`)
}

/** Builds what --fg-entry needs and returns freshgate's command. */
function freshgateCommand (entry: 'src' | 'dist' | 'binary', runDir: string): string[] {
  // The launcher runs src/ in a checkout, with the V8 flags it sets (bin/freshgate.js).
  if (entry === 'src') return [process.execPath, join(ROOT, 'bin/freshgate.js')]
  execFileSync('npm', ['run', entry === 'dist' ? 'build' : 'build:binary'], { cwd: ROOT, stdio: 'ignore', timeout: 300_000 })
  if (entry === 'binary') return [join(ROOT, 'build/freshgate')]
  // The image's layout: the launcher beside dist/ and no src/, so that it runs the build.
  const app = join(runDir, 'app')
  mkdirSync(join(app, 'bin'), { recursive: true })
  copyFileSync(join(ROOT, 'bin/freshgate.js'), join(app, 'bin/freshgate.js'))
  for (const d of ['dist', 'node_modules', 'package.json']) symlinkSync(join(ROOT, d), join(app, d))
  return [process.execPath, join(app, 'bin/freshgate.js')]
}
