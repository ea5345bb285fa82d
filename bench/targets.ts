// The servers under test and the baselines: how each is started on a port in front of the origin.

import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, stop, which, type Proc } from './procs.ts'
import { HOST, freePort, waitReady } from './net.ts'

/** A server the load generator can be pointed at. */
export type TargetName =
  /** freshgate itself (src/cli.ts) */
  | 'freshgate'
  /** bare node:http answering from a Map: the Node hit-path ceiling (bench/limit.ts) */
  | 'nodelimit'
  /** node:http + undici Pool, no cache: the Node pass-through ceiling (bench/pass.ts) */
  | 'nodepass'
  /** nginx proxy_cache on tmpfs, one worker (bench/nginx.conf.in) */
  | 'nginx'

export const TARGETS: readonly TargetName[] = ['freshgate', 'nodelimit', 'nodepass', 'nginx']

/** Where things are. */
export interface Env {
  /** project root (freshgate's cwd) */
  root: string
  /** scratch directory for logs and nginx's prefix */
  runDir: string
  /** scratch directory for nginx's cache files (tmpfs when there is one) */
  memDir: string
  originPort: number
  /** CPU for servers (undefined: no pinning) */
  serverCpu: number | undefined
  /** how freshgate is run: its command and leading arguments (--fg-entry) */
  fgCommand: readonly string[]
}

/** A running target. */
export interface Running {
  name: TargetName
  port: number
  proc: Proc
  stop (): Promise<void>
}

const BENCH = import.meta.dirname

let helpText: string | undefined
/** freshgate's --help, read once (to use only flags this checkout has). */
function freshgateHelp (root: string): string {
  helpText ??= execFileSync(process.execPath, [join(root, 'src/cli.ts'), '--help'], { encoding: 'utf8', timeout: 20_000 })
  return helpText
}

/**
 * Flags of every freshgate the bench starts. The admin listener (when this version has one) stays
 * on, as deployed, but on a port the OS picks rather than its fixed default.
 */
function freshgateFlags (root: string, origin: string, port: number): string[] {
  const flags = ['--origin', origin, '--port', String(port), '--host', HOST, '--access-log', 'false', '--log-level', 'warn']
  if (freshgateHelp(root).includes('--admin-port')) flags.push('--admin-host', HOST, '--admin-port', '0')
  return flags
}

/** Whether a target can run on this machine. */
export function available (name: TargetName): boolean {
  return name !== 'nginx' || which('nginx') !== undefined
}

/** Per-start options. */
export interface TargetOptions {
  /** extra freshgate flags (e.g. --max-size 32MiB) */
  args?: readonly string[]
  /** extra node flags for freshgate (e.g. --cpu-prof) */
  nodeArgs?: readonly string[]
  /** log file name stem (default: the target name) */
  label?: string
}

/** Starts `name` in front of the origin and waits until it answers. */
export async function startTarget (name: TargetName, env: Env, opts: TargetOptions = {}): Promise<Running> {
  const port = await freePort()
  const origin = `http://${HOST}:${env.originPort}`
  const log = join(env.runDir, `${opts.label ?? name}.log`)
  let proc: Proc
  let cleanup = (): void => {}
  switch (name) {
    case 'freshgate':
      proc = startServer({
        name,
        cmd: env.fgCommand[0]!,
        // Node flags (--cpu-prof) go before the script; a single binary takes them via NODE_OPTIONS.
        args: [...(env.fgCommand.length > 1 ? opts.nodeArgs ?? [] : []), ...env.fgCommand.slice(1), ...freshgateFlags(env.root, origin, port), ...opts.args ?? []],
        cpu: env.serverCpu,
        cwd: env.root
      }, log)
      break
    case 'nodelimit':
      proc = startServer({ name, cmd: process.execPath, args: [join(BENCH, 'limit.ts')], cpu: env.serverCpu, env: { PORT: String(port) } }, log)
      break
    case 'nodepass':
      proc = startServer({ name, cmd: process.execPath, args: [join(BENCH, 'pass.ts')], cpu: env.serverCpu, env: { PORT: String(port), ORIGIN: origin } }, log)
      break
    case 'nginx': {
      const prefix = join(env.runDir, `nginx-${port}`)
      const cacheDir = join(env.memDir, `nginx-${port}`)
      mkdirSync(prefix, { recursive: true })
      const vars: Record<string, string> = {
        USER: process.getuid?.() === 0 ? 'user root;' : '',
        RUN: prefix,
        CACHE_DIR: cacheDir,
        ORIGIN_PORT: String(env.originPort),
        PORT: String(port)
      }
      const conf = readFileSync(join(BENCH, 'nginx.conf.in'), 'utf8').replace(/@([A-Z_]+)@/g, (m, k: string) => vars[k] ?? m)
      writeFileSync(join(prefix, 'nginx.conf'), conf)
      cleanup = () => rmSync(cacheDir, { recursive: true, force: true })
      proc = startServer({ name, cmd: 'nginx', args: ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], cpu: env.serverCpu }, log)
      break
    }
  }
  const running: Running = {
    name,
    port,
    proc,
    async stop () {
      await stop(proc)
      cleanup()
    }
  }
  try {
    await waitReady(proc, port)
  } catch (err) {
    await running.stop()
    throw err
  }
  return running
}
