// The single executable (`npm run build:binary` → build/freshgate) run as a user would: version,
// a bad flag, miss → stored → hit against a real origin, SIGTERM → exit 0, and cluster workers.
// Building takes a while, so this test never builds: without the binary it skips (CI builds first).

import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Origin, get } from '../proxy/harness.ts'
import { childEnv, within } from '../support.ts'

const BINARY = fileURLToPath(new URL('../../build/freshgate', import.meta.url))
const SRC = fileURLToPath(new URL('../../src/', import.meta.url))
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
/** Longest any one child process may take to start or to stop. */
const CHILD_TIMEOUT = 15_000



interface Running { child: ChildProcess, stdout: () => string, stderr: () => string }

function start (t: { teardown: (fn: () => unknown) => void }, args: string[]): Running {
  const child = spawn(BINARY, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  return { child, stdout: () => out, stderr: () => err }
}

/** Resolves once stderr (the JSON application log) matches `re` `times` times, with the first match. */
async function waitForLog (run: Running, re: RegExp, what: string, times = 1): Promise<RegExpExecArray> {
  const all = new RegExp(re.source, re.flags + 'g')
  return await within(new Promise<RegExpExecArray>((resolve, reject) => {
    const check = (): void => {
      const found = [...run.stderr().matchAll(all)]
      if (found.length >= times) resolve(found[0]!)
    }
    run.child.stderr!.on('data', check)
    run.child.on('exit', code => reject(new Error(`exited with ${code} before ${what}: ${run.stderr()}`)))
    check()
  }), CHILD_TIMEOUT, what)
}

/** Runs the binary to completion. */
async function runToEnd (t: { teardown: (fn: () => unknown) => void }, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const run = start(t, args)
  const [code] = await within(once(run.child, 'close') as Promise<[number | null]>, CHILD_TIMEOUT, `freshgate ${args.join(' ')}`)
  return { code, stdout: run.stdout(), stderr: run.stderr() }
}

/** The newest modification time of any file under `dir`. */
function newest (dir: string): number {
  return Math.max(...readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter(e => e.isFile()).map(e => statSync(join(e.parentPath, e.name)).mtimeMs))
}

if (!existsSync(BINARY)) {
  t.skip(`${BINARY} is not built: run \`npm run build:binary\` first (about 5 s; .ci/run does it before npm test)`, () => {})
} else {
  if (statSync(BINARY).mtimeMs < newest(SRC)) t.comment(`${BINARY} is older than src/: these tests run the code it was built from`)

  t.test('--version prints the package version', async t => {
    const r = await runToEnd(t, ['--version'])
    t.equal(r.code, 0)
    t.equal(r.stdout.trim(), version)
  })

  t.test('a bad flag exits 2 with a message naming the key, the value and the expectation', async t => {
    const r = await runToEnd(t, ['--origin', 'http://127.0.0.1:3000', '--port', 'eighty', '--admin', 'false'])
    t.equal(r.code, 2)
    t.match(r.stderr, 'port (--port): got "eighty", expected a whole number in [0, 65535]')
  })

  t.test('proxies a miss, stores it, answers the repeat from the cache, and exits 0 on SIGTERM', async t => {
    const origin = await new Origin((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' })
      res.end('from the origin')
    }).start()
    t.teardown(() => origin.close())
    const run = start(t, ['--origin', origin.url, '--port', '0', '--admin', 'false', '--access-log', 'false'])
    const [, url] = await waitForLog(run, /freshgate listening on (http:\/\/[\d.]+:\d+)/, 'listening')

    const miss = await get(`${url}/thing`)
    t.equal(miss.status, 200)
    t.equal(miss.body, 'from the origin')
    t.equal(miss.cs, 'freshgate; fwd=uri-miss; stored')
    const hit = await get(`${url}/thing`)
    t.equal(hit.body, 'from the origin')
    t.match(hit.cs, /^freshgate; hit; ttl=(5[5-9]|60)$/)
    t.equal(origin.count('/thing'), 1, 'the hit did not reach the origin')

    const exited = once(run.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    run.child.kill('SIGTERM')
    const [code, signal] = await within(exited, CHILD_TIMEOUT, 'exit after SIGTERM')
    t.equal(signal, null)
    t.equal(code, 0)
    t.match(run.stderr(), /"msg":"stopped"/)
  })

  // Workers are forked from the executable itself, which hands them one extra argument that the
  // build's prelude removes; without it every worker exits 2 on "Unknown argument".
  t.test('--workers 2: both workers listen and serve, SIGTERM stops them all with exit 0', async t => {
    const origin = await new Origin((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' })
      res.end('ok')
    }).start()
    t.teardown(() => origin.close())
    const run = start(t, ['--origin', origin.url, '--port', '0', '--admin', 'false', '--access-log', 'false', '--workers', '2'])
    const [, url] = await waitForLog(run, /"worker":\d+,.*freshgate listening on (http:\/\/[\d.]+:\d+)/, 'two workers listening', 2)
    t.equal((await get(`${url}/w`)).body, 'ok')
    t.notMatch(run.stderr(), /Unknown argument|worker exited/)

    const exited = once(run.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    run.child.kill('SIGTERM')
    const [code] = await within(exited, CHILD_TIMEOUT, 'exit after SIGTERM')
    t.equal(code, 0)
    t.match(run.stderr(), /all workers stopped/)
  })
}
