// Processes the bench starts: each in its own process group (setsid), optionally pinned to a CPU
// with taskset, stopped by process group (TERM, then KILL), all of them on exit, Ctrl-C or error.
// Also the /proc readings the report needs: CPU ticks and peak RSS of a process group.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'

/** A process group the bench started. */
export interface Proc {
  readonly name: string
  /** pid of the group leader; also the process group id (the child calls setsid) */
  readonly pid: number
  readonly child: ChildProcess
  /** where stdout and stderr go (servers); undefined when captured (clients) */
  readonly logFile: string | undefined
  /** resolves with the exit code (or the signal name) when the leader exits */
  readonly exited: Promise<number | string>
  done: boolean
}

/** How to start one process. */
export interface StartSpec {
  name: string
  cmd: string
  args: string[]
  /** CPU to pin to with taskset (ignored when taskset is unavailable) */
  cpu?: number
  env?: Record<string, string>
  cwd?: string
}

/** Every group started and not yet known to be gone. */
const live = new Set<Proc>()
/** Set once shutdown begins: nothing new may start after that. */
let closed = false

function refuseWhenClosed (name: string): void {
  if (closed) throw new Error(`not starting ${name}: the bench is shutting down`)
}

/** The absolute path of `cmd` on PATH, or undefined. */
export function which (cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const p = join(dir, cmd)
    try { accessSync(p, constants.X_OK); return p } catch {}
  }
  return undefined
}

const TASKSET = which('taskset')

/** True when processes can be pinned to CPUs. */
export const canPin = TASKSET !== undefined

function argv (spec: StartSpec): [string, string[]] {
  if (spec.cpu === undefined || TASKSET === undefined) return [spec.cmd, spec.args]
  // taskset execs the command: the pid (and process group) stays the command's own.
  return [TASKSET, ['-c', String(spec.cpu), spec.cmd, ...spec.args]]
}

function track (name: string, child: ChildProcess, logFile: string | undefined): Proc {
  if (child.pid === undefined) throw new Error(`cannot start ${name}`)
  let resolveExit!: (v: number | string) => void
  const exited = new Promise<number | string>(resolve => { resolveExit = resolve })
  const proc: Proc = { name, pid: child.pid, child, logFile, exited, done: false }
  child.once('exit', (code, signal) => { proc.done = true; resolveExit(code ?? signal ?? 'unknown') })
  child.once('error', err => { proc.done = true; resolveExit(String(err)) })
  live.add(proc)
  return proc
}

/** Starts a server in its own process group; stdout and stderr are appended to `logFile`. */
export function startServer (spec: StartSpec, logFile: string): Proc {
  refuseWhenClosed(spec.name)
  const [file, args] = argv(spec)
  const fd = openSync(logFile, 'a')
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', fd, fd], cwd: spec.cwd, env: { ...process.env, ...spec.env } })
    return track(spec.name, child, logFile)
  } finally {
    closeSync(fd)
  }
}

/** Output of a client run to completion. */
export interface Captured {
  code: number | string
  stdout: string
  stderr: string
  timedOut: boolean
  /** CPU seconds the client's leader process used, sampled every 100 ms (so up to 100 ms short) */
  cpuS: number
  wallS: number
}

/**
 * Runs a client (load generator, herd) in its own process group and captures its output;
 * the group is stopped after `timeoutMs` at the latest.
 */
export async function runClient (spec: StartSpec, timeoutMs: number): Promise<Captured> {
  refuseWhenClosed(spec.name)
  const [file, args] = argv(spec)
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: spec.cwd, env: { ...process.env, ...spec.env } })
  const proc = track(spec.name, child, undefined)
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (s: string) => { if (stdout.length < 1 << 20) stdout += s })
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { if (stderr.length < 1 << 16) stderr += s })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; void stop(proc, 2000) }, timeoutMs)
  const t0 = performance.now()
  let cpuS = 0
  const sampler = setInterval(() => { cpuS = Math.max(cpuS, processCpuSeconds(proc.pid)) }, 100)
  const code = await proc.exited
  const wallS = (performance.now() - t0) / 1000
  clearTimeout(timer)
  clearInterval(sampler)
  // The leader is gone; stop anything it left in its group.
  await stop(proc, 2000)
  return { code, stdout, stderr, timedOut, cpuS, wallS }
}

/** Sends `signal` to the group if any member is still alive (never to a group that is gone). */
function signalGroup (proc: Proc, signal: NodeJS.Signals): boolean {
  if (proc.done && groupPids(proc.pid).length === 0) return false
  try { process.kill(-proc.pid, signal); return true } catch { return false }
}

/** Stops a process group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop (proc: Proc, graceMs = 5000): Promise<void> {
  if (!live.has(proc)) return
  if (signalGroup(proc, 'SIGTERM')) {
    const deadline = Date.now() + graceMs
    while (Date.now() < deadline && !(proc.done && groupPids(proc.pid).length === 0)) await sleep(50)
    if (signalGroup(proc, 'SIGKILL')) {
      const hard = Date.now() + 2000
      while (Date.now() < hard && !(proc.done && groupPids(proc.pid).length === 0)) await sleep(50)
    }
  }
  live.delete(proc)
}

/** Stops every group the bench started, newest first (clients before servers); starts no more. */
export async function stopAll (): Promise<void> {
  closed = true
  for (const p of [...live].reverse()) await stop(p, 3000)
}

/** Last resort at process exit: SIGKILL every group still alive. Synchronous. */
export function killAllSync (): void {
  closed = true
  for (const p of live) signalGroup(p, 'SIGKILL')
  live.clear()
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Fields of /proc/PID/stat after the command name (index 0 is field 3, "state"). */
function statFields (pid: number): string[] | undefined {
  let s: string
  try { s = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  return s.slice(s.lastIndexOf(')') + 2).split(' ')
}

/** Pids of the live members of process group `pgid`. */
export function groupPids (pgid: number): number[] {
  const out: number[] = []
  let names: string[]
  try { names = readdirSync('/proc') } catch { return out }
  for (const n of names) {
    const c = n.charCodeAt(0)
    if (c < 48 || c > 57) continue
    const pid = Number(n)
    const f = statFields(pid)
    // field 5 is pgrp; a zombie (state Z) has released its memory and is only waiting to be reaped
    if (f !== undefined && Number(f[2]) === pgid && f[0] !== 'Z') out.push(pid)
  }
  return out
}

/** Clock ticks per second of utime/stime. */
export const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100 } catch { return 100 }
})()

/** User + system CPU seconds of one process (all its threads); 0 when it is gone. */
export function processCpuSeconds (pid: number): number {
  const f = statFields(pid)
  return f === undefined || f[0] === 'Z' ? 0 : (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** User + system CPU seconds of every live member of a process group. */
export function groupCpuSeconds (pgid: number): number {
  let ticks = 0
  for (const pid of groupPids(pgid)) {
    const f = statFields(pid)
    // fields 14 and 15: utime, stime
    if (f !== undefined) ticks += Number(f[11]) + Number(f[12])
  }
  return ticks / CLK_TCK
}

/** Memory of a process group, MiB. */
export interface GroupMemory {
  /** sum of VmHWM (peak RSS) over the members */
  peakMiB: number
  /** largest single member's VmHWM */
  peakMaxMiB: number
  /** sum of current VmRSS */
  rssMiB: number
  procs: number
}

function statusKiB (text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)
  return m === null ? 0 : Number(m[1])
}

export function groupMemory (pgid: number): GroupMemory {
  const mem: GroupMemory = { peakMiB: 0, peakMaxMiB: 0, rssMiB: 0, procs: 0 }
  for (const pid of groupPids(pgid)) {
    let text: string
    try { text = readFileSync(`/proc/${pid}/status`, 'utf8') } catch { continue }
    const hwm = statusKiB(text, 'VmHWM') / 1024
    mem.peakMiB += hwm
    mem.peakMaxMiB = Math.max(mem.peakMaxMiB, hwm)
    mem.rssMiB += statusKiB(text, 'VmRSS') / 1024
    mem.procs++
  }
  return mem
}

/** Jiffies per CPU from /proc/stat (for "was a CPU shared with someone else?"). */
export interface CpuTimes {
  /** user + nice + system: time in processes */
  proc: number[]
  /** irq + softirq: interrupt work (loopback packet processing lands here, in no process's time) */
  irq: number[]
  total: number[]
}

export function cpuTimes (): CpuTimes {
  const t: CpuTimes = { proc: [], irq: [], total: [] }
  let text = ''
  try { text = readFileSync('/proc/stat', 'utf8') } catch { return t }
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line)
    if (m === null) continue
    // user nice system idle iowait irq softirq steal ...
    const v = m[2]!.split(/\s+/).map(Number)
    const i = Number(m[1])
    t.total[i] = v.slice(0, 8).reduce((a, b) => a + b, 0)
    t.proc[i] = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0)
    t.irq[i] = (v[5] ?? 0) + (v[6] ?? 0)
  }
  return t
}

/** Fraction of `cpu`'s time between two readings spent in `kind` (NaN when unknown). */
export function cpuFraction (a: CpuTimes, b: CpuTimes, cpu: number, kind: 'proc' | 'irq'): number {
  const dt = (b.total[cpu] ?? NaN) - (a.total[cpu] ?? NaN)
  return dt > 0 ? ((b[kind][cpu] ?? NaN) - (a[kind][cpu] ?? NaN)) / dt : NaN
}
