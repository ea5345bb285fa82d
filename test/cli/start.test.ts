// Start-up and reload over the real launcher: a port in use is one clear line and exit 1; an
// unreachable origin is one warning and start-up goes on; SIGHUP keeps the running config when
// the new origin does not accept a connection (issue 9 #8).

import t from 'tap'
import { once } from 'node:events'
import { writeFileSync, renameSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Origin, get } from '../proxy/harness.ts'
import { tempFiles, within } from '../support.ts'
import { CHILD_TIMEOUT, closedPort, runToEnd, startProxy } from './child.ts'

const file = tempFiles(t, 'freshgate-start-')

/** A port this test holds open, released at teardown. */
async function heldPort (t: { teardown: (fn: () => unknown) => void }): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  t.teardown(() => s.close())
  return (s.address() as AddressInfo).port
}

t.test('a port in use: one line naming the address, exit 1 (issue 12)', async t => {
  const port = await heldPort(t)
  const proxy = await runToEnd(t, ['--origin', 'http://127.0.0.1:3000', '--host', '127.0.0.1', '--port', String(port), '--admin-port', '0'])
  t.equal(proxy.code, 1, 'exit code')
  t.equal(proxy.stderr.split('\n').filter(l => !l.startsWith('{')).join('\n'), `freshgate: 127.0.0.1:${port} is already in use\n`, 'one clear line, no stack')
  t.notMatch(proxy.stderr, /EADDRINUSE|at /, 'no error dump')
  t.equal(proxy.stdout, '')
  const admin = await runToEnd(t, ['--origin', 'http://127.0.0.1:3000', '--port', '0', '--admin-host', '127.0.0.1', '--admin-port', String(port)])
  t.equal(admin.code, 1, 'the admin port too')
  t.match(admin.stderr, new RegExp(`^freshgate: 127\\.0\\.0\\.1:${port} is already in use$`, 'm'))
})

t.test('an unreachable origin at start-up: one warning line, and freshgate keeps starting (issue 12)', async t => {
  const origin = `http://127.0.0.1:${await closedPort()}`
  const fg = await startProxy(t, ['--origin', origin])
  const m = await fg.waitFor(/^.*is not reachable.*$/m, 'the warning')
  t.match(JSON.parse(m[0]), { level: 40, msg: `origin ${origin} is not reachable: ECONNREFUSED`, origin, cause: 'ECONNREFUSED' })
  t.equal((await get(`${fg.url}/a`)).status, 502, 'still serving: the origin error is a 502')
  fg.process.kill('SIGTERM')
  t.same(await within(fg.exited, CHILD_TIMEOUT, 'exit'), [0, null])
})

t.test('with workers, the unreachable-origin warning is still one line', async t => {
  const origin = `http://127.0.0.1:${await closedPort()}`
  const fg = await startProxy(t, ['--origin', origin, '--workers', '2', '--admin', 'false'])
  await fg.waitFor(/freshgate listening on/, 'both workers', { times: 2 })
  await fg.waitFor(/is not reachable/, 'the warning')
  fg.process.kill('SIGTERM')
  await within(fg.exited, CHILD_TIMEOUT, 'exit')
  t.equal(fg.stderr().match(/is not reachable/g)?.length, 1, fg.stderr())
})

t.test('a reachable origin gives no warning', async t => {
  const o = await new Origin((_req, res) => res.end('ok')).start()
  t.teardown(() => o.close())
  const fg = await startProxy(t, ['--origin', o.url])
  t.equal((await get(`${fg.url}/a`)).body, 'ok')
  fg.process.kill('SIGTERM')
  await within(fg.exited, CHILD_TIMEOUT, 'exit')
  t.notMatch(fg.stderr(), /not reachable/)
})

t.test('SIGHUP to an origin that accepts no connection keeps the running origin (issue 9 #8)', async t => {
  const a = await new Origin((_req, res) => { res.setHeader('cache-control', 'no-store'); res.end('from a') }).start()
  const b = await new Origin((_req, res) => { res.setHeader('cache-control', 'no-store'); res.end('from b') }).start()
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const path = file(`origin: ${a.url}\n`)
  const fg = await startProxy(t, ['--config', path])
  t.equal((await get(`${fg.url}/x`)).body, 'from a')

  // A half-written file that still parses: "origin: http://127.0" is a valid URL nobody answers on.
  const dead = `http://127.0.0.1:${await closedPort()}`
  writeFileSync(path, `origin: ${dead}\n`)
  fg.process.kill('SIGHUP')
  const m = await fg.waitFor(/^.*reload rejected.*$/m, 'the rejection')
  t.match(JSON.parse(m[0]), { level: 50, origin: dead, cause: 'ECONNREFUSED', msg: `reload rejected: origin ${dead} is not reachable: ECONNREFUSED; keeping the running configuration` })
  t.equal((await get(`${fg.url}/x`)).body, 'from a', 'still the old origin')

  // Write-then-rename, as the README says: the new file appears whole.
  const next = file(`origin: ${b.url}\n`)
  renameSync(next, path)
  fg.process.kill('SIGHUP')
  await fg.waitFor(/reloaded configuration/, 'the reload')
  t.equal((await get(`${fg.url}/x`)).body, 'from b', 'the new, reachable origin')
  fg.process.kill('SIGTERM')
  t.same(await within(fg.exited, CHILD_TIMEOUT, 'exit'), [0, null])
})
