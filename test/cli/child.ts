// The real launcher (bin/freshgate.js) in a child process, as an operator runs it: its output
// collected, waits on its log lines bounded in time, and a kill at teardown if a test left it running.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { childEnv, within } from '../support.ts'

export const LAUNCHER = fileURLToPath(new URL('../../bin/freshgate.js', import.meta.url))
/** Longest any one child process may take to start, answer or stop. */
export const CHILD_TIMEOUT = 15_000

/** A running launcher. */
export interface Child {
  process: ChildProcess
  stdout: () => string
  stderr: () => string
  /** resolves with the exit code and signal */
  exited: Promise<[number | null, NodeJS.Signals | null]>
  /** resolves with the first match once `stream` matches `re` `times` times; rejects if the process exits first */
  waitFor: (re: RegExp, what: string, opts?: { times?: number, stream?: 'stdout' | 'stderr' }) => Promise<RegExpExecArray>
}

type Teardown = { teardown: (fn: () => unknown) => void }
/** How to start the launcher: which node, extra environment, another copy of the script. */
export interface LaunchOptions { node?: string, env?: Record<string, string>, script?: string }

/** Starts `node bin/freshgate.js ...args` (Node 24 unless `node` says otherwise). */
export function launch (t: Teardown, args: string[], opts: LaunchOptions = {}): Child {
  const child = spawn(opts.node ?? process.execPath, [opts.script ?? LAUNCHER, ...args], { env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const text = { stdout: '', stderr: '' }
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { text.stdout += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { text.stderr += s })
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  const waitFor: Child['waitFor'] = async (re, what, { times = 1, stream = 'stderr' } = {}) => {
    const all = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')
    return await within(new Promise<RegExpExecArray>((resolve, reject) => {
      const check = (): void => {
        const found = [...text[stream].matchAll(all)]
        if (found.length >= times) resolve(found[0]!)
      }
      child[stream]!.on('data', check)
      void exited.then(([code]) => { check(); reject(new Error(`exited with ${code} before ${what}: ${text.stderr}`)) })
      check()
    }), CHILD_TIMEOUT, what)
  }
  return { process: child, stdout: () => text.stdout, stderr: () => text.stderr, exited, waitFor }
}

/** Runs the launcher to completion. */
export async function runToEnd (t: Teardown, args: string[], opts: LaunchOptions = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const c = launch(t, args, opts)
  const [code] = await within(c.exited, CHILD_TIMEOUT, `freshgate ${args.join(' ')}`)
  return { code, stdout: c.stdout(), stderr: c.stderr() }
}

/** Starts freshgate on free ports and resolves the proxy URL from its "listening" line. */
export async function startProxy (t: Teardown, args: string[], opts: LaunchOptions = {}): Promise<Child & { url: string }> {
  const c = launch(t, ['--port', '0', '--host', '127.0.0.1', '--admin-port', '0', ...args], opts)
  const m = await c.waitFor(/"msg":"freshgate listening on (http:\/\/[^ ,"]+)/, 'the "listening" log line')
  return { ...c, url: m[1]! }
}

/** A port that nothing listens on (bound, then released). */
export async function closedPort (): Promise<number> {
  const s = createNetServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address() as AddressInfo
  await new Promise(resolve => s.close(resolve))
  return port
}

/** Every JSON line of a log. */
export function jsonLines (text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
}
