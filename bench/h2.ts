// The HTTP/2 comparison: 1 KiB hit throughput measured with h2load (Debian nghttp2-client) against
// freshgate over HTTP/1.1 (h2load --h1), freshgate over cleartext HTTP/2 (when this build has the
// --h2c flag) and a bare node:http2 server answering from memory (limit-h2.ts): Node's h2 ceiling.

import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { runClient, startServer, stop, which, type Proc } from './procs.ts'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { HOST, freePort } from './net.ts'
import { startTarget, type Env, type TargetOptions } from './targets.ts'

const BENCH = import.meta.dirname

/** One h2load run. */
export interface H2Run {
  /** what was measured */
  target: 'freshgate-h1' | 'freshgate-h2' | 'node-h2-limit'
  protocol: 'http/1.1' | 'h2c'
  connections: number
  /** concurrent streams per connection (h2load -m; 1 for HTTP/1.1) */
  streams: number
  seconds: number
  requests: number
  rps: number
  /** requests not answered 2xx, errored or timed out */
  errors: number
  meanMs: number
}

/** What an h2 comparison needs from the bench. */
export interface H2Options {
  env: Env
  connections: number
  streams: number
  seconds: number
  warmup: number
  clientCpu: number | undefined
  /** freshgate start options (--fg-args, --cpu-prof) */
  fg: (extra: TargetOptions) => TargetOptions
}

/** Why the comparison cannot run here, or undefined when it can. */
export function h2Unavailable (): string | undefined {
  return which('h2load') === undefined ? 'h2 skipped: h2load is not installed (apt-get install nghttp2-client)' : undefined
}

/** True when this freshgate build speaks cleartext HTTP/2 (the --h2c flag). */
function hasH2c (root: string): boolean {
  return execFileSync(process.execPath, [join(root, 'src/cli.ts'), '--help'], { encoding: 'utf8', timeout: 20_000 }).includes('--h2c')
}

/** Parses h2load's summary ("finished in 3.00s, 12345.67 req/s", "requests: … succeeded, F failed, E errored, T timeout"). */
export function parseH2load (out: string): { seconds: number, rps: number, requests: number, errors: number, meanMs: number } {
  const fin = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(out)
  const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)
  const mean = /time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(out)
  if (fin === null || req === null) throw new Error(`h2load gave no summary: ${out.slice(-500)}`)
  const done = Number(req[2])
  // h2load's status-code counts include streams still open when the run stops, so they can exceed
  // "done": errors are what h2load itself counts as failed, errored or timed out.
  const unit = mean?.[2] === 'us' ? 1e-3 : mean?.[2] === 's' ? 1e3 : 1
  return { seconds: Number(fin[1]), rps: Number(fin[2]), requests: done, errors: Number(req[4]) + Number(req[5]) + Number(req[6]), meanMs: mean === null ? NaN : Number(mean[1]) * unit }
}

/** Runs h2load against a port: `--warmup` seconds unmeasured, then `seconds` measured. */
async function h2load (port: number, path: string, o: H2Options, h1: boolean): Promise<ReturnType<typeof parseH2load>> {
  const args = ['-c', String(o.connections), '-m', String(h1 ? 1 : o.streams), '-t', '1', '-D', String(o.seconds), ...(o.warmup > 0 ? ['--warm-up-time', String(o.warmup)] : []), ...(h1 ? ['--h1'] : []), `http://${HOST}:${port}${path}`]
  const r = await runClient({ name: 'h2load', cmd: 'h2load', args, cpu: o.clientCpu }, (o.seconds + o.warmup + 30) * 1000)
  if (r.code !== 0) throw new Error(`h2load exited ${r.code}: ${(r.stderr + r.stdout).slice(-500)}`)
  return parseH2load(r.stdout)
}

/** Waits until a server accepts TCP connections (limit-h2 speaks only h2c, so net.ts's HTTP/1 probe cannot). */
async function waitListening (proc: Proc, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.done) throw new Error(`${proc.name} exited during start-up`)
    const up = await new Promise<boolean>(resolve => {
      const s = connect(port, HOST, () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (up) return
    await sleep(50)
  }
  throw new Error(`${proc.name} did not listen on ${HOST}:${port} within ${timeoutMs} ms`)
}

/** Measures the three targets on the 1 KiB hit (/small). */
export async function measureH2 (o: H2Options, log: (s: string) => void): Promise<{ runs: H2Run[], notes: string[] }> {
  const runs: H2Run[] = []
  const notes: string[] = []
  const path = '/small'
  const record = (target: H2Run['target'], h1: boolean, r: ReturnType<typeof parseH2load>): void => {
    const run: H2Run = { target, protocol: h1 ? 'http/1.1' : 'h2c', connections: o.connections, streams: h1 ? 1 : o.streams, ...r }
    runs.push(run)
    log(`  h2 ${target} (${run.protocol}, -c${run.connections} -m${run.streams}): ${Math.round(run.rps)} req/s, mean ${run.meanMs.toFixed(2)} ms, errors ${run.errors}`)
  }
  const fgH1 = await startTarget('freshgate', o.env, o.fg({ label: 'freshgate-h2-h1' }))
  try {
    record('freshgate-h1', true, await h2load(fgH1.port, path, o, true))
  } finally {
    await fgH1.stop()
  }
  if (hasH2c(o.env.root)) {
    const fgH2 = await startTarget('freshgate', o.env, o.fg({ label: 'freshgate-h2-h2c', args: ['--h2c'] }))
    try {
      record('freshgate-h2', false, await h2load(fgH2.port, path, o, false))
    } finally {
      await fgH2.stop()
    }
  } else {
    notes.push('h2: freshgate over HTTP/2 skipped: this build has no --h2c flag')
  }
  const port = await freePort()
  const limit: Proc = startServer({ name: 'limit-h2', cmd: process.execPath, args: [join(BENCH, 'limit-h2.ts')], cpu: o.env.serverCpu, env: { PORT: String(port) } }, join(o.env.runDir, 'limit-h2.log'))
  try {
    await waitListening(limit, port)
    record('node-h2-limit', false, await h2load(port, path, o, false))
  } finally {
    await stop(limit)
  }
  return { runs, notes }
}
