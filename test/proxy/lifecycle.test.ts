// Lifecycle of the real CLI process: SIGTERM drains in-flight requests and exits 0; SIGHUP reloads
// the config file, applying live settings and rejecting a bad file while the old config runs on.

import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Origin, startFreshgate, get } from './harness.ts'

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

/** Starts the CLI and resolves with its URL once it listens. */
async function launch (t: { teardown: (fn: () => unknown) => void }, args: string[]): Promise<{ child: ChildProcess, url: string, stderr: () => string }> {
  const child = spawn(process.execPath, [cli, '--port', '0', '--access-log', 'false', '--admin', 'false', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let err = ''
  child.stderr!.on('data', d => { err += d })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${err}`)), 15_000)
    child.stderr!.on('data', () => {
      const m = /listening on (http:\/\/[\d.:]+)/.exec(err)
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
  })
  return { child, url, stderr: () => err }
}

async function waitFor (cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('SIGTERM lets an in-flight request finish, then exits 0', async t => {
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const origin = await new Origin(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('started-')
    await gate
    res.end('finished')
  }).start()
  t.teardown(() => origin.close())
  const { child, url } = await launch(t, ['--origin', origin.url])
  const inflight = get(`${url}/slow`)
  await waitFor(() => origin.count() === 1)
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  child.kill('SIGTERM')
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(child.exitCode, null, 'still running while the request is in flight')
  await get(`${url}/new`).then(() => t.fail('a new connection was accepted'), () => t.pass('new connections are refused while draining'))
  release()
  const r = await inflight
  t.equal(r.body, 'started-finished', 'the in-flight request completed')
  t.equal(await exited, 0)
})

t.test('SIGTERM with a stuck request exits 0 after the drain timeout', async t => {
  const origin = await new Origin(() => { /* never answers */ }).start()
  t.teardown(() => origin.close())
  const { child, url } = await launch(t, ['--origin', origin.url, '--shutdown-timeout', '300ms'])
  get(`${url}/stuck`).catch(() => undefined)
  await waitFor(() => origin.count() === 1)
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const started = Date.now()
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  t.ok(Date.now() - started < 3000, 'bounded by the drain timeout')
})

t.test('SIGHUP reloads live settings, reports restart-only ones, and rejects a bad file', async t => {
  const a = await new Origin((_req, res) => { res.writeHead(200, { 'cache-control': 'no-store' }); res.end('from a') }).start()
  const b = await new Origin((_req, res) => { res.writeHead(200, { 'cache-control': 'no-store' }); res.end('from b') }).start()
  t.teardown(async () => { await a.close(); await b.close() })
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-'))
  const file = join(dir, 'freshgate.yaml')
  writeFileSync(file, `origin: ${a.url}\n`)
  const { child, url, stderr } = await launch(t, ['--config', file])
  t.equal((await get(`${url}/x`)).body, 'from a')

  writeFileSync(file, `origin: ${a.url}\nroutes:\n  - prefix: /b/\n    origin: ${b.url}\ncache:\n  maxSize: 64MiB\n`)
  child.kill('SIGHUP')
  await waitFor(() => /reloaded configuration/.test(stderr()))
  t.equal((await get(`${url}/b/x`)).body, 'from b', 'the new route is live')
  t.match(stderr(), /need a restart.*cache\.maxSize|cache\.maxSize.*need a restart/, 'restart-only keys are reported')

  writeFileSync(file, 'origin: [not, a, url]\n')
  child.kill('SIGHUP')
  await waitFor(() => /reload rejected/.test(stderr()))
  t.equal((await get(`${url}/b/x`)).body, 'from b', 'the old config keeps running')
  t.equal((await get(`${url}/x`)).body, 'from a')
  child.kill('SIGTERM')
})

t.test('close() ends once in-flight requests finish, without waiting for their keep-alive connections to time out', async t => {
  const origin = await new Origin(async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 300))
    res.writeHead(200, { 'cache-control': 'no-store' })
    res.end('done')
  }).start()
  t.teardown(() => origin.close())
  const proxy = await startFreshgate(origin.url)
  const inFlight = get(`${proxy.url}/slow`)
  await new Promise(resolve => setTimeout(resolve, 50))
  const t0 = performance.now()
  await proxy.fg.close()
  const ms = performance.now() - t0
  t.equal((await inFlight).body, 'done', 'the in-flight request completed')
  t.ok(ms < 2000, `closed ${Math.round(ms)} ms after close(), not after the 5 s keep-alive timeout`)
})
