// End-to-end tests of the real CLI in a child process: exit codes and messages for bad
// configuration, --print-config, --help, and one start → proxy → SIGTERM cycle.

import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, printable } from '../../src/config/load.ts'
import { SCHEMA, envName } from '../../src/config/schema.ts'
import { defaultText } from '../../src/config/reference.ts'
import { childEnv, within, tempFiles } from '../support.ts'

const CLI = fileURLToPath(new URL('../../bin/freshgate.js', import.meta.url))
/** Longest any one child process may take before it is killed and the test fails. */
const CHILD_TIMEOUT = 15_000

const file = tempFiles(t, 'freshgate-cli-')
/** a path in the temporary directory that does not exist */
const missing = join(dirname(file('')), 'missing.yaml')


function startCli (args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
}

interface Run { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Runs the CLI to completion; a child still running after CHILD_TIMEOUT is killed and the run rejects. */
async function run (args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = startCli(args, env)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  try {
    const [code, signal] = await within(once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>, CHILD_TIMEOUT, `freshgate ${args.join(' ')}`)
    return { code, signal, stdout, stderr }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

t.test('bad configuration exits 2 with a message naming the key, the value and the expectation', async t => {
  const badKey = file('origin: http://127.0.0.1:3000\ncache:\n  maxsize: 1MiB\n')
  const badYaml = file('origin: [http://127.0.0.1:3000\n')
  const rows: Array<[name: string, args: string[], env: Record<string, string>, says: string[]]> = [
    ['a bad flag value', ['--origin', 'http://127.0.0.1:3000', '--port', 'eighty'], {},
      ['port (--port)', '"eighty"', 'expected a whole number in [0, 65535]']],
    ['a flag value out of range', ['--origin', 'http://127.0.0.1:3000', '--max-header-size', '2MiB'], {},
      ['maxHeaderSize (--max-header-size)', '"2MiB"', 'in [1024, 1048576]']],
    ['a bad environment value', ['--origin', 'http://127.0.0.1:3000'], { FRESHGATE_LOG_LEVEL: 'loud' },
      ['log.level (FRESHGATE_LOG_LEVEL)', '"loud"', 'expected one of "debug", "info", "warn", "error", "silent"']],
    ['an unknown flag', ['--origin', 'http://127.0.0.1:3000', '--prot', '80'], {},
      ['Unknown argument: prot']],
    ['a flag missing its value', ['--origin', 'http://127.0.0.1:3000', '--port'], {},
      ['Not enough arguments following: port']],
    ['a missing origin', [], {},
      ['origin', 'got undefined', 'expected an http:// or https:// URL', '--origin', 'FRESHGATE_ORIGIN']],
    ['an unknown key in the config file', ['--config', badKey], {},
      [`cache.maxsize (${badKey})`, '"1MiB"', 'expected a known option']],
    ['a malformed YAML file', ['--config', badYaml], {},
      ['config', JSON.stringify(badYaml), 'expected valid YAML']],
    ['a missing config file', ['--config', missing], {},
      ['config', JSON.stringify(missing), 'expected a readable file']]
  ]
  for (const [name, args, env, says] of rows) {
    t.test(`${name} → exit 2`, async t => {
      const r = await run(args, env)
      t.equal(r.code, 2, 'exit code')
      t.equal(r.stdout, '', 'nothing on stdout')
      t.match(r.stderr, /^freshgate: /, 'the message is on stderr')
      for (const s of says) t.ok(r.stderr.includes(s), `stderr says ${s}: ${r.stderr}`)
      t.ok(r.stderr.includes('freshgate --help'), 'points to --help')
    })
  }
})

t.test('--print-config prints the merged configuration (file < env < flags) and exits 0', async t => {
  const path = file('origin: http://127.0.0.1:3000\nport: 1001\ncacheName: from-file\ncache:\n  maxSize: 64MiB\nlog:\n  level: warn\n')
  const env = { FRESHGATE_PORT: '1002', FRESHGATE_CACHE_NAME: 'from-env', FRESHGATE_CACHE_MAX_SIZE: '32MiB' }
  const r = await run(['--config', path, '--print-config', '--port', '1003', '--debug'], env)
  t.equal(r.code, 0, 'exit code')
  t.equal(r.stderr, '', 'nothing on stderr')
  const printed = JSON.parse(r.stdout) as Record<string, unknown>
  t.match(printed, {
    origin: 'http://127.0.0.1:3000',
    port: 1003,
    cacheName: 'from-env',
    debug: true,
    host: '127.0.0.1',
    cache: { maxSize: 32 * 1024 * 1024 },
    log: { level: 'warn' }
  }, 'each option from the highest layer that sets it')
  const loaded = loadConfig({ file: path, env, flags: { port: '1003', debug: true } })
  t.same(printed, JSON.parse(JSON.stringify(printable(loaded))), 'the same as loadConfig with the same sources')
  t.equal((printed.timeouts as Record<string, unknown>).connect, '5s', 'durations in their shortest exact form')
  const again = file(JSON.stringify(printed))
  const reread = await run(['--config', again, '--print-config'])
  t.same(JSON.parse(reread.stdout), printed, 'the printed config loads back to itself')
})

t.test('--help exits 0 and lists every option with its flag, real type, default and environment variable', async t => {
  const r = await run(['--help'])
  t.equal(r.code, 0, 'exit code')
  // yargs wraps descriptions into a column: rejoin each option's lines into one.
  const entries = new Map<string, string>()
  for (const chunk of r.stdout.split(/\n(?= {2,}--)/)) {
    const m = /^\s*--([\w-]+)\s+([\s\S]*)$/.exec(chunk)
    if (m !== null) entries.set(m[1]!, m[2]!.replace(/\s+/g, ' ').trim())
  }
  const TYPES: Record<string, string> = { debug: 'boolean', port: 'integer', 'max-size': 'bytes', 'shutdown-timeout': 'duration', 'heuristic-fraction': 'number', 'cache-name': 'string', 'log-level': 'debug|info|warn|error|silent' }
  for (const s of SCHEMA) {
    const entry = entries.get(s.flag) ?? ''
    t.ok(entry.startsWith(s.doc), `--${s.flag}: its doc`)
    t.ok(entry.includes(`[default: ${defaultText(s)}]`), `--${s.flag}: default ${defaultText(s)}: ${entry}`)
    t.ok(entry.includes(`[env: ${envName(s.key)}]`), `--${s.flag}: ${envName(s.key)}`)
    if (TYPES[s.flag] !== undefined) t.ok(entry.includes(`[${TYPES[s.flag]}]`), `--${s.flag} is shown as ${TYPES[s.flag]}`)
  }
  t.notOk(entries.get('debug')?.includes('[string]'), 'a boolean is not shown as [string] (issue 12)')
  t.ok(entries.get('max-entry-size')?.includes('[default: min(8MiB, maxSize/8)]'), 'a derived default says how it is derived')
  t.match(r.stdout, /--config(?![\w-])/, '--config')
  t.match(r.stdout, /--print-config(?![\w-])/, '--print-config')
})

t.test('starts, proxies a request, and exits 0 on SIGTERM', async t => {
  const seen: IncomingMessage[] = []
  const origin = createServer((req, res) => {
    seen.push(req)
    res.setHeader('cache-control', 'max-age=60')
    res.end(`hello ${req.url}`)
  })
  origin.listen(0, '127.0.0.1')
  await within(once(origin, 'listening'), CHILD_TIMEOUT, 'the origin to listen')
  t.teardown(() => { origin.closeAllConnections(); origin.close() })
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`

  const child = startCli(['--origin', originUrl, '--port', '0', '--host', '127.0.0.1', '--admin-port', '0'])
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      stderr += s
      for (const line of stderr.split('\n')) {
        if (!line.startsWith('{')) continue
        const rec = JSON.parse(line) as { msg?: string, url?: string }
        if (rec.msg?.startsWith('freshgate listening on ') === true && rec.url !== undefined) resolve(rec.url)
      }
    })
    void exited.then(([code]) => reject(new Error(`exited with ${code} before listening: ${stderr}`)))
  })
  const url = await within(listening, CHILD_TIMEOUT, 'the "listening" log line')
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'logs its URL')

  const res = await within(fetch(`${url}/hello?x=1`, { signal: AbortSignal.timeout(CHILD_TIMEOUT) }), CHILD_TIMEOUT, 'the proxied response')
  t.equal(res.status, 200, 'status from the origin')
  t.equal(await res.text(), 'hello /hello?x=1', 'body from the origin')
  t.equal(seen.length, 1, 'one request reached the origin')
  t.equal(seen[0]?.url, '/hello?x=1', 'with the path and query')

  child.kill('SIGTERM')
  const [code, signal] = await within(exited, CHILD_TIMEOUT, 'exit after SIGTERM')
  t.equal(code, 0, 'exit code 0')
  t.equal(signal, null, 'exited by itself, not by the signal')
  t.ok(stdout.includes('"/hello?x=1"'), 'the access log was flushed on the way out')
})

t.test('check-config accepts an empty section header, as config/freshgate.yaml says, and redacts the token (issue 12)', async t => {
  const path = file('origin: http://127.0.0.1:3000\ncache:\n#  maxSize: 1MiB\nadmin:\n  token: s3cret\n')
  const r = await run(['check-config', path])
  t.equal(r.code, 0, 'exit code')
  t.equal(r.stderr, `freshgate: ${path} is valid\n`)
  const printed = JSON.parse(r.stdout) as { cache: { maxSize: number }, admin: { token: string } }
  t.equal(printed.cache.maxSize, 256 * 1024 * 1024, 'the section keeps its defaults')
  t.equal(printed.admin.token, '<redacted>')
  t.notOk(r.stdout.includes('s3cret'), 'the token is printed nowhere')
})

t.test('--max-size 4MiB alone starts: the entry limit follows it (issue 12)', async t => {
  const r = await run(['--origin', 'http://127.0.0.1:3000', '--max-size', '4MiB', '--print-config'])
  t.equal(r.code, 0, r.stderr)
  t.match(JSON.parse(r.stdout), { cache: { maxSize: 4 * 1024 * 1024, maxEntrySize: 512 * 1024 } })
})
