// The servers under test and the baselines: how each is started on a port in front of the origin.

import { execFileSync } from 'node:child_process'
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startServer, stop, which, type Proc } from './procs.ts'
import { HOST, freePort, waitReady } from './net.ts'

/** A server the load generator can be pointed at. */
export type TargetName =
  /** freshgate itself (bin/freshgate.js over dist/ by default; --fg-entry) */
  | 'freshgate'
  /** bare node:http answering from a Map: the Node hit-path ceiling (bench/limit.ts) */
  | 'nodelimit'
  /** node:http + undici Pool, no cache: the Node pass-through ceiling (bench/pass.ts) */
  | 'nodepass'
  /** nginx proxy_cache on tmpfs, one worker (bench/nginx.conf.in) */
  | 'nginx'
  /** Varnish, malloc storage, keep-based revalidation of max-age=0 responses (bench/varnish.vcl.in) */
  | 'varnish'
  /** Squid accelerator, memory-only cache, collapsed_forwarding on (bench/squid.conf.in) */
  | 'squid'

export const TARGETS: readonly TargetName[] = ['freshgate', 'nodelimit', 'nodepass', 'nginx', 'varnish', 'squid']

/** The program each external baseline needs on PATH. */
const PROGRAM: Partial<Record<TargetName, string>> = { nginx: 'nginx', varnish: 'varnishd', squid: 'squid' }

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
  const program = PROGRAM[name]
  return program === undefined || which(program) !== undefined
}

/** The program a baseline needs (for the "skipped: not installed" note). */
export function programOf (name: TargetName): string | undefined {
  return PROGRAM[name]
}

/** Reads a bench/*.in template and substitutes its @VARS@. */
function render (template: string, vars: Record<string, string>): string {
  return readFileSync(join(BENCH, template), 'utf8').replace(/@([A-Z_]+)@/g, (m, k: string) => vars[k] ?? m)
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
      writeFileSync(join(prefix, 'nginx.conf'), render('nginx.conf.in', vars))
      cleanup = () => rmSync(cacheDir, { recursive: true, force: true })
      proc = startServer({ name, cmd: 'nginx', args: ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], cpu: env.serverCpu }, log)
      break
    }
    case 'varnish': {
      // Varnish's working directory (its shared-memory log) goes on tmpfs, as its cache is in memory.
      const work = join(env.memDir, `varnish-${port}`)
      const vcl = join(env.runDir, `varnish-${port}.vcl`)
      writeFileSync(vcl, render('varnish.vcl.in', { ORIGIN_PORT: String(env.originPort) }))
      cleanup = () => rmSync(work, { recursive: true, force: true })
      proc = startServer({ name, cmd: 'varnishd', args: ['-F', '-n', work, '-a', `${HOST}:${port}`, '-T', 'none', '-f', vcl, '-s', 'malloc,256m'], cpu: env.serverCpu }, log)
      break
    }
    case 'squid': {
      const run = join(env.runDir, `squid-${port}`)
      mkdirSync(run, { recursive: true })
      let conf = render('squid.conf.in', { RUN: run, ORIGIN_PORT: String(env.originPort), PORT: String(port), COLLAPSED: 'on' })
      // Run as root, squid drops to the proxy user, which must own the run directory; otherwise it stays who it is.
      if (process.getuid?.() === 0) {
        try { chownSync(run, uid('proxy'), gid('proxy')) } catch { conf = conf.replace(/^cache_effective_user .*$/m, '') }
      } else {
        conf = conf.replace(/^cache_effective_user .*$/m, '')
      }
      writeFileSync(join(run, 'squid.conf'), conf)
      // -n: its own service name, so its /dev/shm segments do not collide with another squid's.
      proc = startServer({ name, cmd: 'squid', args: ['-N', '-n', `fgbench${port}`, '-f', join(run, 'squid.conf')], cpu: env.serverCpu }, log)
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

/** A user's uid from /etc/passwd (throws when unknown). */
function uid (user: string): number {
  return passwdField(user, 2)
}

/** A user's primary gid from /etc/passwd (throws when unknown). */
function gid (user: string): number {
  return passwdField(user, 3)
}

function passwdField (user: string, i: number): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find(l => l.startsWith(`${user}:`))
  const v = Number(line?.split(':')[i])
  if (line === undefined || !Number.isInteger(v)) throw new Error(`no user ${user}`)
  return v
}
