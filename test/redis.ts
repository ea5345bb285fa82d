// A real redis-server for tests: started on a free port with no persistence, stopped by PID.
// Also a local Redis Cluster (three primaries) when the installed redis-server can run one.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** True when redis-server is on PATH. Under CI it must be (.ci/run installs it). */
export function haveRedis (): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

/** A free TCP port on 127.0.0.1 (another process may take it before it is used: callers retry). */
export async function freePort (): Promise<number> {
  const s = createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

/** Sends one inline command and resolves with the first reply line, or undefined within `ms`. */
export async function ask (port: number, command: string, ms = 500): Promise<string | undefined> {
  return await new Promise(resolve => {
    const sock = createConnection({ host: '127.0.0.1', port })
    const done = (v: string | undefined): void => { clearTimeout(timer); sock.destroy(); resolve(v) }
    const timer = setTimeout(() => done(undefined), ms)
    let text = ''
    sock.on('connect', () => sock.write(command + '\r\n'))
    sock.on('data', d => { text += d.toString(); if (text.includes('\r\n')) done(text.split('\r\n')[0]) })
    sock.on('error', () => done(undefined))
  })
}

/** One running redis-server. */
export interface RedisServer {
  port: number
  url: string
  pid: number
  /** kills it by PID (SIGKILL: an outage, not a shutdown) and waits for the exit */
  kill: () => Promise<void>
  /** starts it again on the same port */
  restart: () => Promise<void>
}

/** PIDs of the servers this process started and has not stopped yet. */
const running = new Set<number>()
let guarded = false

/** Spawns a server and makes sure it dies with this process, even when a test crashes past its teardown. */
function spawnServer (args: string[], cwd: string): ChildProcess {
  const child = spawn('redis-server', args, { cwd, stdio: 'ignore' })
  if (child.pid !== undefined) running.add(child.pid)
  child.once('exit', () => { if (child.pid !== undefined) running.delete(child.pid) })
  if (!guarded) {
    guarded = true
    process.once('exit', () => { for (const pid of running) try { process.kill(pid, 'SIGKILL') } catch {} })
  }
  return child
}

async function startOn (port: number, extra: string[], cwd: string): Promise<ChildProcess | undefined> {
  const child = spawnServer(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra], cwd)
  const exited = once(child, 'exit').then(() => 'exit' as const)
  for (let i = 0; i < 100; i++) {
    if (await ask(port, 'PING', 200) === '+PONG') return child
    if (await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 30))]) === 'exit') return undefined
  }
  child.kill('SIGKILL')
  return undefined
}

async function stop (child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  process.kill(child.pid, 'SIGKILL')
  await exited
}

/** Starts a redis-server on a free port; it is killed at teardown. */
export async function startRedis (t: { teardown: (fn: () => unknown) => void }, extra: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await freePort()
    child = await startOn(port, extra, dir)
  }
  if (child === undefined) throw new Error('redis-server did not start')
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    kill: async () => { await stop(child) },
    restart: async () => {
      await stop(child)
      for (let attempt = 0; attempt < 20; attempt++) {
        child = await startOn(port, extra, dir)
        if (child !== undefined) break
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      if (child === undefined) throw new Error(`redis-server did not restart on port ${port}`)
      server.pid = child.pid!
    }
  }
  t.teardown(async () => {
    await stop(child)
    rmSync(dir, { recursive: true, force: true })
  })
  return server
}

/**
 * Starts a three-primary Redis Cluster on free ports (each node's bus port chosen free too,
 * `cluster-port`, Redis ≥ 7) and joins it with `redis-cli --cluster create`. Undefined when
 * this redis-server cannot.
 */
export async function startCluster (t: { teardown: (fn: () => unknown) => void }): Promise<{ url: string, ports: number[] } | undefined> {
  const nodes: RedisServer[] = []
  for (let i = 0; i < 3; i++) {
    const bus = await freePort()
    const node = await startRedis(t, ['--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '2000']).catch(() => undefined)
    if (node === undefined) return undefined
    nodes.push(node)
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map(n => `127.0.0.1:${n.port}`), '--cluster-yes'], { encoding: 'utf8', timeout: 20_000 })
  if (create.status !== 0) return undefined
  for (let i = 0; i < 100; i++) {
    const ok = await Promise.all(nodes.map(async n => await clusterOk(n.port)))
    if (ok.every(Boolean)) return { url: `redis+cluster://${nodes.map(n => `127.0.0.1:${n.port}`).join(',')}`, ports: nodes.map(n => n.port) }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return undefined
}

/** True when a node reports cluster_state:ok. */
async function clusterOk (port: number): Promise<boolean> {
  const r = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8', timeout: 2000 })
  return r.stdout?.includes('cluster_state:ok') ?? false
}

/**
 * Starts one Sentinel (`redis-server --sentinel`, quorum 1) watching `primary` as "mymaster";
 * killed at teardown. Undefined when it does not come up.
 */
export async function startSentinel (t: { teardown: (fn: () => unknown) => void }, primary: RedisServer): Promise<{ url: string } | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-sentinel-'))
  const conf = join(dir, 'sentinel.conf')
  writeFileSync(conf, `sentinel monitor mymaster 127.0.0.1 ${primary.port} 1\nsentinel down-after-milliseconds mymaster 5000\n`)
  let child: ChildProcess | undefined
  let port = 0
  for (let attempt = 0; attempt < 5 && child === undefined; attempt++) {
    port = await freePort()
    child = await startSentinelOn(conf, port, dir)
  }
  t.teardown(async () => {
    await stop(child)
    rmSync(dir, { recursive: true, force: true })
  })
  return child === undefined ? undefined : { url: `redis+sentinel://127.0.0.1:${port}/mymaster` }
}

async function startSentinelOn (conf: string, port: number, cwd: string): Promise<ChildProcess | undefined> {
  const child = spawnServer([conf, '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no'], cwd)
  for (let i = 0; i < 100; i++) {
    const reply = await ask(port, 'SENTINEL get-master-addr-by-name mymaster', 200)
    if (reply === '*2') return child
    if (child.exitCode !== null) return undefined
    await new Promise(resolve => setTimeout(resolve, 30))
  }
  await stop(child)
  return undefined
}
