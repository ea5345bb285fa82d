// The load generator: wrk when installed, else autocannon (a devDependency), run as a separate
// process group pinned to the client CPU, closed-loop over keep-alive connections.
// Both report into one shape (LoadResult).

import { createRequire } from 'node:module'
import { join } from 'node:path'
import { runClient, which } from './procs.ts'
import { HOST } from './net.ts'

/** Which load generator drives the runs. */
export type Tool =
  /** wrk (C, epoll): cheap per request, so the server side is the bottleneck */
  | 'wrk'
  /** autocannon (Node): used when wrk is missing; needs more client CPU per request */
  | 'autocannon'

/** One load run's outcome. */
export interface LoadResult {
  tool: Tool
  requests: number
  seconds: number
  bytes: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  /** socket errors, non-2xx/3xx statuses and timeouts (wrk leaves timed-out requests out of latency) */
  errors: number
  errorDetail: Record<string, number>
  /** the load generator's own CPU seconds per wall second (near 1: the client is the bottleneck) */
  clientUtil: number
}

/** What to run. */
export interface LoadSpec {
  port: number
  path: string
  connections: number
  seconds: number
  cpu: number | undefined
}

/** wrk when on PATH (unless `prefer` says otherwise), else autocannon. */
export function chooseTool (prefer: Tool | undefined): Tool {
  if (prefer !== undefined) return prefer
  return which('wrk') !== undefined ? 'wrk' : 'autocannon'
}

/** Version line of the tool, for the results' metadata. */
export async function toolVersion (tool: Tool): Promise<string> {
  if (tool === 'wrk') {
    const r = await runClient({ name: 'wrk -v', cmd: 'wrk', args: ['-v'] }, 5000)
    return (r.stdout + r.stderr).split('\n')[0]?.trim() ?? 'wrk'
  }
  const pkg = createRequire(import.meta.url)('autocannon/package.json') as { version: string }
  return `autocannon ${pkg.version}`
}

const REPORT_LUA = join(import.meta.dirname, 'wrk-report.lua')

interface WrkJson {
  requests: number
  duration_us: number
  bytes: number
  p50_us: number
  p90_us: number
  p99_us: number
  max_us: number
  err_connect: number
  err_read: number
  err_write: number
  err_status: number
  err_timeout: number
}

interface AutocannonJson {
  requests: { total: number }
  latency: { p50: number, p90: number, p99: number, max: number }
  throughput: { total: number }
  duration: number
  errors: number
  timeouts: number
  non2xx: number
}

/** Runs one closed-loop load test; bounded by the duration plus 30 s. */
export async function runLoad (tool: Tool, spec: LoadSpec): Promise<LoadResult> {
  const url = `http://${HOST}:${spec.port}${spec.path}`
  const seconds = Math.max(1, Math.round(spec.seconds))
  const limitMs = (seconds + 30) * 1000
  if (tool === 'wrk') {
    const r = await runClient({
      name: 'wrk',
      cmd: 'wrk',
      args: ['-t1', `-c${spec.connections}`, `-d${seconds}s`, '-s', REPORT_LUA, url],
      cpu: spec.cpu
    }, limitMs)
    const line = r.stdout.split('\n').find(l => l.startsWith('WRKJSON '))
    if (line === undefined) throw new Error(`wrk gave no result (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr || r.stdout}`)
    const w = JSON.parse(line.slice(8)) as WrkJson
    const errorDetail = { connect: w.err_connect, read: w.err_read, write: w.err_write, status: w.err_status, timeout: w.err_timeout }
    return {
      tool,
      requests: w.requests,
      seconds: w.duration_us / 1e6,
      bytes: w.bytes,
      p50Ms: w.p50_us / 1000,
      p90Ms: w.p90_us / 1000,
      p99Ms: w.p99_us / 1000,
      maxMs: w.max_us / 1000,
      errors: Object.values(errorDetail).reduce((a, b) => a + b, 0),
      errorDetail,
      clientUtil: r.cpuS / r.wallS
    }
  }
  const main = createRequire(import.meta.url).resolve('autocannon')
  const r = await runClient({
    name: 'autocannon',
    cmd: process.execPath,
    args: [main, '-c', String(spec.connections), '-d', String(seconds), '-j', url],
    cpu: spec.cpu
  }, limitMs)
  let a: AutocannonJson
  try {
    a = JSON.parse(r.stdout) as AutocannonJson
  } catch {
    throw new Error(`autocannon gave no result (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-2000)}`)
  }
  // autocannon's `errors` includes its timeouts; non2xx counts responses outside 2xx
  const errorDetail = { socket: a.errors - a.timeouts, timeout: a.timeouts, status: a.non2xx }
  return {
    tool,
    requests: a.requests.total,
    seconds: a.duration,
    bytes: a.throughput.total,
    p50Ms: a.latency.p50,
    p90Ms: a.latency.p90,
    p99Ms: a.latency.p99,
    maxMs: a.latency.max,
    errors: a.errors + a.non2xx,
    errorDetail,
    clientUtil: r.cpuS / r.wallS
  }
}
