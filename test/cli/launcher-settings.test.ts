// bin/freshgate.js on Node 24: it re-executes itself once (process.execve, same pid) with its V8
// flag and glibc malloc settings (issue 13, peak RSS under a miss storm); what the operator set
// explicitly wins. Read from the running process: /proc/<pid>/cmdline and /proc/<pid>/environ.

import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { CHILD_TIMEOUT, startProxy } from './child.ts'
import { within } from '../support.ts'

/** The argv and environment of a running process. */
function proc (pid: number): { argv: string[], env: Map<string, string> } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(a => a !== '')
  const env = new Map<string, string>()
  for (const pair of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = pair.indexOf('=')
    if (eq > 0) env.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  return { argv, env }
}

const rows: Array<{ name: string, env: Record<string, string>, semiSpace: string[], threshold: string, reexec: boolean }> = [
  {
    name: 'when nothing is set → the launcher should add its semi-space flag and malloc threshold, once',
    env: {},
    semiSpace: ['--max-semi-space-size=2'],
    threshold: '131072',
    reexec: true
  },
  {
    name: 'when NODE_OPTIONS sets --max-semi-space-size → the operator\'s flag should win, the malloc threshold still be added',
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=8`.trim() },
    semiSpace: [],
    threshold: '131072',
    reexec: true
  },
  {
    name: 'when MALLOC_MMAP_THRESHOLD_ is set → the operator\'s value should win, the semi-space flag still be added',
    env: { MALLOC_MMAP_THRESHOLD_: '262144' },
    semiSpace: ['--max-semi-space-size=2'],
    threshold: '262144',
    reexec: true
  },
  {
    name: 'when both are set → the launcher should not re-execute at all',
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=8`.trim(), MALLOC_MMAP_THRESHOLD_: '262144' },
    semiSpace: [],
    threshold: '262144',
    reexec: false
  }
]

t.test('the launcher applies its memory settings once, and explicit settings win', { skip: existsSync('/proc/self/environ') ? false : 'needs Linux /proc' }, async t => {
  for (const r of rows) {
    const fg = await startProxy(t, ['--origin', 'http://127.0.0.1:9'], { env: r.env })
    const p = proc(fg.process.pid!)
    t.same(p.argv.filter(a => a.startsWith('--max-semi-space-size')), r.semiSpace, `${r.name}: V8 flags`)
    t.equal(p.env.get('MALLOC_MMAP_THRESHOLD_'), r.threshold, `${r.name}: malloc threshold`)
    t.equal(p.env.get('_FRESHGATE_LAUNCHER_V8_FLAGS'), r.reexec ? '1' : undefined, `${r.name}: re-executed`)
    t.equal(p.argv.filter(a => a.endsWith('freshgate.js')).length, 1, `${r.name}: the same process, the launcher once in its argv`)
    fg.process.kill('SIGTERM')
    t.same(await within(fg.exited, CHILD_TIMEOUT, 'exit'), [0, null], `${r.name}: exits cleanly`)
  }
})
