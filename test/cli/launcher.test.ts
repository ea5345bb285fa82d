// bin/freshgate.js on a Node older than 24 (the system node): in a checkout it re-executes itself
// on the node@24 devDependency, passing signals and the exit code through; elsewhere it says what
// is needed and exits 1, before anything imports a .ts file (issue 12 #9, issue 9 #12).

import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Origin, get } from '../proxy/harness.ts'
import { childEnv, tempFiles, within } from '../support.ts'
import { VERSION } from '../../src/version.ts'
import { CHILD_TIMEOUT, LAUNCHER, runToEnd, startProxy } from './child.ts'

/** The first node on the system that is older than 24, if any. */
function oldNode (): { path: string, version: string } | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node', '/bin/node']) {
    if (!existsSync(path)) continue
    const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim()
    if (Number(version.slice(1).split('.')[0]) < 24) return { path, version }
  }
  return undefined
}

const old = oldNode()
if (old === undefined) {
  t.comment('no Node older than 24 on this machine: nothing to test')
} else {
  const node = old.path
  const file = tempFiles(t, 'freshgate-launcher-')

  t.test(`in a checkout, ${old.version} re-executes on node@24`, async t => {
    const r = await runToEnd(t, ['--version'], { node })
    t.equal(r.code, 0, 'exit code')
    t.equal(r.stdout, `${VERSION}\n`, 'freshgate ran')
    t.equal(r.stderr, '', 'quietly')
  })

  t.test('the exit code passes through', async t => {
    const r = await runToEnd(t, ['--origin', 'http://127.0.0.1:3000', '--port', 'eighty'], { node })
    t.equal(r.code, 2)
    t.match(r.stderr, /port \(--port\): got "eighty"/)
  })

  t.test('SIGHUP and SIGTERM reach freshgate: it reloads, then drains and exits 0', async t => {
    const o = await new Origin((_req, res) => res.end('ok')).start()
    t.teardown(() => o.close())
    const fg = await startProxy(t, ['--config', file(`origin: ${o.url}\n`)], { node })
    t.equal((await get(`${fg.url}/a`)).body, 'ok')
    fg.process.kill('SIGHUP')
    await fg.waitFor(/reloaded configuration/, 'the reload')
    fg.process.kill('SIGTERM')
    t.same(await within(fg.exited, CHILD_TIMEOUT, 'exit'), [0, null], 'exit 0, not killed by the signal')
    t.match(fg.stderr(), /"signal":"SIGTERM".*draining/)
    t.match(fg.stderr(), /"msg":"stopped"/)
  })

  const npx = ['/usr/bin/npx', '/usr/local/bin/npx'].find(p => existsSync(p))
  t.test('npx freshgate from the checkout is quiet: no EBADENGINE block (issue 12 #11)', { skip: npx === undefined ? 'no npx here' : false }, async t => {
    // The old Node first on PATH, as on a machine whose system Node is older; a fresh npm cache,
    // as on a first run (npx remembers the resolved package and checks engines only once).
    const env = childEnv({ PATH: `${dirname(node)}:${process.env.PATH ?? ''}`, npm_config_cache: join(dirname(file('')), 'npm-cache') })
    const root = fileURLToPath(new URL('../../', import.meta.url))
    const r = await promisify(execFile)(npx!, ['--offline', 'freshgate', '--version'], { cwd: root, env, timeout: CHILD_TIMEOUT * 2 })
    t.equal(r.stdout, `${VERSION}\n`)
    t.notMatch(r.stderr, /EBADENGINE/, r.stderr)
  })

  t.test('without node@24 at hand: one line saying what is needed, exit 1', async t => {
    // A copy of the launcher with no node_modules next to it, like an installed package on an old Node.
    const dir = join(dirname(file('')), 'pkg')
    mkdirSync(join(dir, 'bin'), { recursive: true })
    copyFileSync(LAUNCHER, join(dir, 'bin', 'freshgate.js'))
    const r = await runToEnd(t, ['--version'], { node, script: join(dir, 'bin', 'freshgate.js') })
    t.equal(r.code, 1)
    t.equal(r.stderr, `freshgate needs Node >= 24 (this is ${old.version})\n`)
    t.equal(r.stdout, '')
  })
}
