// The soak: freshgate as a child process in front of an in-process origin, driven at a fixed rate
// with a mix of hits, misses, no-store, client aborts, slow readers and origin faults, for a
// bounded time and request count. Samples the proxy's RSS and open fds from /proc, checks every
// body by SHA-256, and exits 1 on a leak, a lost or wrong body, a hang or a crash.
//
//   npm run soak                              # 10 minutes at 100 req/s
//   npm run soak -- --duration 60s --rate 150
//   npm run soak -- --help

import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { coerce } from '../src/config/load.ts'
import { startServer, stopAll, killAllSync, sleep, type Proc } from './procs.ts'
import { freePort, waitReady, tail, HOST } from './net.ts'

const HELP = `npm run soak -- [options]
  --duration D     how long to drive load (default 10m; "60s", "5m")
  --rate N         requests per second (default 100)
  --max-requests N stop after N requests (default rate × duration)
  --sample D       RSS/fd sampling interval (default: duration/30, within 1s..5s)
  --warmup D       samples before this are not used for the RSS slope (default: a quarter of the duration, at least 10s)
  --rss-growth P   fail when RSS grows more than P percent over the measured window (default 20)
  --rss-floor MiB  … and more than this many MiB (default 16), so GC noise on a short run does not fail it
  --fd-slack N     fail when open fds after the run exceed the count before it by more than N (default 16)
  --max-size B     freshgate --max-size, so the cache fills and evicts during the run (default 8MiB)`

/** Reads a duration or byte flag the way freshgate's own config does ("60s", "8MiB"). */
function read (type: 'duration' | 'bytes', flag: string, raw: string): number {
  try {
    return coerce({ key: flag, flag, type, doc: '', min: 0 }, raw, `--${flag}`) as number
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message}\n${HELP}\n`)
    process.exit(2)
  }
}

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    rate: { type: 'string', default: '100' },
    'max-requests': { type: 'string' },
    sample: { type: 'string' },
    warmup: { type: 'string' },
    'rss-growth': { type: 'string', default: '20' },
    'rss-floor': { type: 'string', default: '16' },
    'fd-slack': { type: 'string', default: '16' },
    'max-size': { type: 'string', default: '8MiB' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help) { process.stdout.write(HELP + '\n'); process.exit(0) }

const DURATION = read('duration', 'duration', args.duration)
const RATE = Number(args.rate)
const MAX_REQUESTS = args['max-requests'] === undefined ? Math.ceil(RATE * DURATION / 1000) : Number(args['max-requests'])
const SAMPLE = args.sample === undefined ? Math.min(5000, Math.max(1000, DURATION / 30)) : read('duration', 'sample', args.sample)
const WARMUP = args.warmup === undefined ? Math.max(10_000, DURATION / 4) : read('duration', 'warmup', args.warmup)
const RSS_GROWTH = Number(args['rss-growth'])
const RSS_FLOOR = Number(args['rss-floor'])
const FD_SLACK = Number(args['fd-slack'])
const MAX_SIZE = read('bytes', 'max-size', args['max-size'])
if (!(RATE > 0 && RATE <= 5000) || !(MAX_REQUESTS > 0) || !(DURATION > 0) || WARMUP >= DURATION) {
  process.stderr.write(`soak: need 0 < rate <= 5000, max-requests > 0 and warmup < duration\n${HELP}\n`)
  process.exit(2)
}
/** Longest a request may take before it counts as a hang. */
const HANG_MS = 15_000
/** Requests in flight beyond which the driver sheds load rather than queue without bound. */
const MAX_IN_FLIGHT = 512

// ---------------------------------------------------------------------------------------------
// Bodies: deterministic per path, so the client can check what it got without asking the origin.

const bodies = new Map<string, { buf: Buffer, sha: string }>()
/** The body the origin sends for `path`, and its SHA-256 (memoised, bounded). */
function bodyFor (path: string, size: number): { buf: Buffer, sha: string } {
  let b = bodies.get(path)
  if (b !== undefined) return b
  const buf = Buffer.allocUnsafe(size)
  let x = 0x9e3779b9
  for (let i = 0; i < path.length; i++) x = Math.imul(x ^ path.charCodeAt(i), 0x01000193) >>> 0
  for (let i = 0; i < size; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; buf[i] = 97 + (x % 26) }
  b = { buf, sha: createHash('sha256').update(buf).digest('hex') }
  if (bodies.size > 2000) bodies.clear()
  bodies.set(path, b)
  return b
}

/** What each kind of request exercises, its share of the load, and its body size. */
const KINDS = {
  /** 50 hot URLs, public max-age=3600: hits after the first */
  hit: { weight: 40, size: (n: number) => 1024 * (1 + n % 32) },
  /** a new URL each time, max-age=600: fills the cache and forces eviction */
  miss: { weight: 20, size: (n: number) => 4096 * (1 + n % 8) },
  /** no-store: always passed through */
  nostore: { weight: 10, size: () => 8192 },
  /** the client goes away after the first chunk of a 256 KiB body */
  abort: { weight: 5, size: () => 256 * 1024 },
  /** the client pauses reading a 512 KiB no-store body for 500 ms */
  slow: { weight: 5, size: () => 512 * 1024 },
  /** the origin resets mid-body on the first request of each URL, answers whole after */
  flaky: { weight: 10, size: () => 64 * 1024 },
  /** the origin sends half of its Content-Length, then closes */
  short: { weight: 5, size: () => 32 * 1024 },
  /** the origin never answers: freshgate's headers timeout answers 504 */
  stall: { weight: 5, size: () => 0 }
} as const
type Kind = keyof typeof KINDS
const KIND_NAMES = Object.keys(KINDS) as Kind[]

// ---------------------------------------------------------------------------------------------
// The origin.

const flakySeen = new Set<string>()
const stalled = new Set<ServerResponse>()

function originHandler (req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  const path = req.url ?? '/'
  const [, kind, id] = path.split('/') as [string, Kind, string]
  const spec = KINDS[kind]
  if (spec === undefined) { res.writeHead(404).end(); return }
  if (kind === 'stall') {
    stalled.add(res)
    res.on('close', () => stalled.delete(res))
    return
  }
  const { buf } = bodyFor(path, spec.size(Number(id)))
  const cc = kind === 'hit' ? 'public, max-age=3600' : kind === 'nostore' || kind === 'slow' ? 'no-store' : 'max-age=600'
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': buf.length, 'cache-control': cc })
  if (kind === 'flaky' && !flakySeen.has(path)) {
    flakySeen.add(path)
    if (flakySeen.size > 10_000) flakySeen.clear()
    res.write(buf.subarray(0, buf.length / 2), () => res.socket?.resetAndDestroy())
    return
  }
  if (kind === 'short') {
    res.write(buf.subarray(0, buf.length / 2), () => res.socket?.end())
    return
  }
  res.end(buf)
}

// ---------------------------------------------------------------------------------------------
// The driver.

/** How one request ended. */
type Result =
  /** 200 with the expected body */
  | 'ok'
  /** a 5xx naming an FG_ code */
  | 'coded'
  /** the connection was cut (expected only for faults) */
  | 'cut'
  /** the client went away on purpose (abort) */
  | 'aborted'
  /** 200 with a body whose SHA-256 differs: a lost or corrupt body */
  | 'mismatch'
  /** any other status */
  | 'other'
  /** no answer within HANG_MS */
  | 'hung'
const RESULTS: readonly Result[] = ['ok', 'coded', 'cut', 'aborted', 'mismatch', 'other', 'hung']

/** Which results are acceptable for each kind. */
function acceptable (kind: Kind, r: Result): boolean {
  if (kind === 'abort') return r === 'aborted' || r === 'ok'
  if (kind === 'flaky' || kind === 'short') return r === 'ok' || r === 'coded' || r === 'cut'
  if (kind === 'stall') return r === 'coded' || r === 'cut'
  return r === 'ok'
}

const counts = Object.fromEntries(KIND_NAMES.map(k => [k, Object.fromEntries(RESULTS.map(r => [r, 0]))])) as Record<Kind, Record<Result, number>>
const latencies = Object.fromEntries(KIND_NAMES.map(k => [k, [] as number[]])) as Record<Kind, number[]>
const examples: string[] = []
let sent = 0
let done = 0
let shed = 0
let inFlight = 0
/** Requests issued so far per kind: each kind walks its own URLs. */
const perKind = Object.fromEntries(KIND_NAMES.map(k => [k, 0])) as Record<Kind, number>

const agent = new Agent({ keepAlive: true, maxSockets: 256 })

/** Picks a kind by weight from a uniform number in [0, 1). */
const TOTAL_WEIGHT = KIND_NAMES.reduce((s, k) => s + KINDS[k].weight, 0)
function pick (u: number): Kind {
  let x = u * TOTAL_WEIGHT
  for (const k of KIND_NAMES) { x -= KINDS[k].weight; if (x < 0) return k }
  return 'hit'
}

/**
 * The path for the next request of `kind`: 50 hot URLs for hits, each flaky URL twice in a row
 * (the first fails at the origin, the second must come back whole), a new URL for misses, faults.
 */
function pathFor (kind: Kind): { path: string, n: number } {
  const i = perKind[kind]++
  const n = kind === 'hit' ? i % 50 : kind === 'flaky' ? Math.floor(i / 2) : kind === 'abort' || kind === 'slow' ? i % 16 : kind === 'nostore' ? i % 100 : i
  return { path: `/${kind}/${n}`, n }
}

function issue (port: number): void {
  const kind = pick(Math.random())
  const { path, n } = pathFor(kind)
  const expected = kind === 'stall' ? undefined : bodyFor(path, KINDS[kind].size(n)).sha
  const started = performance.now()
  sent++
  inFlight++
  let settled = false
  const finish = (r: Result, detail = ''): void => {
    if (settled) return
    settled = true
    inFlight--
    done++
    counts[kind][r]++
    latencies[kind].push(performance.now() - started)
    if (!acceptable(kind, r) && examples.length < 20) examples.push(`${path}: ${r}${detail === '' ? '' : ` (${detail})`}`)
  }
  const req = request({ host: HOST, port, path, agent }, res => {
    const hash = createHash('sha256')
    if (kind === 'abort') {
      res.once('data', () => { req.destroy(); finish('aborted') })
    } else if (kind === 'slow') {
      res.once('data', c => { hash.update(c); res.pause(); setTimeout(() => { res.on('data', d => hash.update(d)); res.resume() }, 500) })
    } else {
      res.on('data', c => hash.update(c))
    }
    res.on('end', () => {
      const status = res.statusCode ?? 0
      if (status === 200) finish(hash.digest('hex') === expected ? 'ok' : 'mismatch', String(res.headers['cache-status'] ?? ''))
      else if (status >= 500 && String(res.headers['x-freshgate-error'] ?? '').startsWith('FG_')) finish('coded', `${status} ${String(res.headers['x-freshgate-error'])}`)
      else finish('other', String(status))
    })
    res.on('error', err => finish('cut', err.message))
    res.on('aborted', () => finish('cut', 'aborted'))
  })
  req.setTimeout(HANG_MS, () => { finish('hung'); req.destroy() })
  req.on('error', err => finish('cut', err.message))
  req.end()
}

// ---------------------------------------------------------------------------------------------
// Sampling the proxy from /proc.

interface Sample { t: number, rssMiB: number, fds: number }

function sampleProc (pid: number, t: number): Sample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024
    return { t, rssMiB: rss, fds: readdirSync(`/proc/${pid}/fd`).length }
  } catch {
    return undefined
  }
}

/** Least-squares slope of y over x. */
function slope (xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2 }
  return den === 0 ? 0 : num / den
}

function pct (sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

const pad = (v: string | number, w: number): string => String(v).padStart(w)

// ---------------------------------------------------------------------------------------------

async function main (): Promise<number> {
  const origin = createServer({ keepAliveTimeout: 5000 }, originHandler)
  await new Promise<void>(resolve => origin.listen(0, HOST, resolve))
  const originUrl = `http://${HOST}:${(origin.address() as AddressInfo).port}`
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-soak-'))
  let proxy: Proc | undefined
  try {
    proxy = startServer({
      name: 'freshgate',
      cmd: process.execPath,
      args: [new URL('../bin/freshgate.js', import.meta.url).pathname, '--origin', originUrl, '--port', String(port), '--admin', 'false', '--access-log', 'false',
        '--log-level', 'warn', '--max-size', String(MAX_SIZE), '--headers-timeout', '1s', '--body-timeout', '1s']
    }, join(dir, 'freshgate.log'))
    await waitReady(proxy, port)
    const pid = proxy.pid
    const before = sampleProc(pid, 0)!
    process.stdout.write(`soak: freshgate pid ${pid} on :${port}, origin ${originUrl}; ${DURATION / 1000}s at ${RATE} req/s ` +
      `(at most ${MAX_REQUESTS} requests), sampling every ${SAMPLE / 1000}s, warm-up ${WARMUP / 1000}s\n\n`)
    process.stdout.write(`${pad('t(s)', 6)} ${pad('sent', 8)} ${pad('done', 8)} ${pad('req/s', 7)} ${pad('inflight', 8)} ${pad('bad', 5)} ${pad('rss MiB', 8)} ${pad('fds', 5)}\n`)

    const samples: Sample[] = []
    const t0 = performance.now()
    let lastSample = 0
    let lastDone = 0
    let seq = 0
    // Fixed rate: each tick sends what the schedule says is due, shedding beyond MAX_IN_FLIGHT.
    while (performance.now() - t0 < DURATION && seq < MAX_REQUESTS && !proxy.done) {
      const elapsed = performance.now() - t0
      const due = Math.min(MAX_REQUESTS, Math.floor(RATE * elapsed / 1000))
      while (seq < due) {
        if (inFlight >= MAX_IN_FLIGHT) shed++
        else issue(port)
        seq++
      }
      if (elapsed - lastSample >= SAMPLE) {
        const s = sampleProc(pid, elapsed)
        if (s !== undefined) {
          samples.push(s)
          const bad = KIND_NAMES.reduce((n, k) => n + RESULTS.filter(r => !acceptable(k, r)).reduce((m, r) => m + counts[k][r], 0), 0)
          process.stdout.write(`${pad((elapsed / 1000).toFixed(0), 6)} ${pad(sent, 8)} ${pad(done, 8)} ${pad(((done - lastDone) * 1000 / (elapsed - lastSample)).toFixed(0), 7)} ` +
            `${pad(inFlight, 8)} ${pad(bad, 5)} ${pad(s.rssMiB.toFixed(1), 8)} ${pad(s.fds, 5)}\n`)
        }
        lastSample = elapsed
        lastDone = done
      }
      await sleep(10)
    }
    // Drain: every request settles (or counts as hung) within HANG_MS.
    const drainUntil = performance.now() + HANG_MS + 1000
    while (inFlight > 0 && performance.now() < drainUntil) await sleep(50)
    // Quiet: our idle keep-alive sockets go, then freshgate's upstream and client keep-alives time out.
    agent.destroy()
    for (const r of stalled) r.destroy()
    await sleep(6000)
    const after = sampleProc(pid, performance.now() - t0)

    // Verdict.
    const failures: string[] = []
    if (proxy.done || after === undefined) failures.push(`freshgate exited during the soak:\n${tail(proxy.logFile)}`)
    const measured = samples.filter(s => s.t >= WARMUP)
    let growthPct = 0
    let growthMiB = 0
    if (measured.length >= 3) {
      const k = slope(measured.map(s => s.t), measured.map(s => s.rssMiB))
      growthMiB = k * (measured.at(-1)!.t - measured[0]!.t)
      growthPct = growthMiB / measured[0]!.rssMiB * 100
      if (growthPct > RSS_GROWTH && growthMiB > RSS_FLOOR) failures.push(`RSS grew ${growthPct.toFixed(1)}% (${growthMiB.toFixed(1)} MiB) after warm-up (bound ${RSS_GROWTH}% and ${RSS_FLOOR} MiB)`)
    } else {
      failures.push(`only ${measured.length} samples after warm-up: run longer than ${WARMUP / 1000}s + 3 samples`)
    }
    if (after !== undefined && after.fds > before.fds + FD_SLACK) failures.push(`open fds ${before.fds} before, ${after.fds} after going idle (slack ${FD_SLACK})`)
    for (const k of KIND_NAMES) {
      for (const r of RESULTS) if (!acceptable(k, r) && counts[k][r] > 0) failures.push(`${counts[k][r]} ${k} request(s) ended ${r}`)
    }
    if (shed > 0) failures.push(`${shed} request(s) shed: more than ${MAX_IN_FLIGHT} in flight`)

    process.stdout.write(`\n${pad('kind', 8)} ${RESULTS.map(r => pad(r, 8)).join(' ')} ${pad('p50 ms', 8)} ${pad('p99 ms', 8)}\n`)
    for (const k of KIND_NAMES) {
      const lat = latencies[k].sort((a, b) => a - b)
      process.stdout.write(`${pad(k, 8)} ${RESULTS.map(r => pad(counts[k][r], 8)).join(' ')} ${pad(pct(lat, 0.5).toFixed(1), 8)} ${pad(pct(lat, 0.99).toFixed(1), 8)}\n`)
    }
    process.stdout.write(`\nrequests: ${sent} sent, ${done} settled, ${shed} shed\n`)
    process.stdout.write(`rss: ${before.rssMiB.toFixed(1)} MiB at start, ${measured[0]?.rssMiB.toFixed(1) ?? '?'} after warm-up, ${samples.at(-1)?.rssMiB.toFixed(1) ?? '?'} at the end; ` +
      `trend after warm-up ${growthMiB >= 0 ? '+' : ''}${growthMiB.toFixed(1)} MiB (${growthPct.toFixed(1)}%)\n`)
    process.stdout.write(`fds: ${before.fds} before, max ${Math.max(...samples.map(s => s.fds))} under load, ${after?.fds ?? '?'} after going idle\n`)
    if (examples.length > 0) process.stdout.write(`examples:\n  ${examples.join('\n  ')}\n`)
    process.stdout.write(failures.length === 0 ? '\nsoak: PASS\n' : `\nsoak: FAIL\n  ${failures.join('\n  ')}\n`)
    return failures.length === 0 ? 0 : 1
  } finally {
    await stopAll()
    for (const r of stalled) r.destroy()
    origin.closeAllConnections()
    origin.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

process.on('SIGINT', () => { killAllSync(); process.exit(130) })
process.on('SIGTERM', () => { killAllSync(); process.exit(143) })
process.on('exit', killAllSync)
process.exit(await main())
