// Summarises V8 CPU profiles (node --cpu-prof; `npm run bench -- --cpu-prof DIR`): the functions
// with the most self time, and self time grouped by file.
// usage: node bench/profile.ts FILE.cpuprofile|DIR [TOP=25]

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

interface Node {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  hitCount?: number
}
interface Profile { nodes: Node[], samples?: number[], timeDeltas?: number[] }

const [target, topArg] = process.argv.slice(2)
if (target === undefined) {
  process.stderr.write('usage: node bench/profile.ts FILE.cpuprofile|DIR [TOP]\n')
  process.exit(2)
}
const TOP = Number(topArg ?? 25)
const files = statSync(target).isDirectory()
  ? readdirSync(target).filter(f => f.endsWith('.cpuprofile')).map(f => join(target, f))
  : [target]

const root = join(import.meta.dirname, '..')
function where (url: string): string {
  if (url === '') return '(native/vm)'
  const p = url.startsWith('file://') ? new URL(url).pathname : url
  const r = relative(root, p)
  return r.startsWith('..') ? p : r
}

const selfUs = new Map<string, number>()
const byFile = new Map<string, number>()
let totalUs = 0
for (const f of files) {
  const prof = JSON.parse(readFileSync(f, 'utf8')) as Profile
  const byId = new Map(prof.nodes.map(n => [n.id, n]))
  const samples = prof.samples ?? []
  const deltas = prof.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const n = byId.get(samples[i]!)
    const dt = deltas[i] ?? 0
    if (n === undefined || dt < 0) continue
    const cf = n.callFrame
    const file = where(cf.url)
    const key = `${cf.functionName || '(anonymous)'}  ${file}${cf.url === '' ? '' : `:${cf.lineNumber + 1}`}`
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt)
    byFile.set(file, (byFile.get(file) ?? 0) + dt)
    totalUs += dt
  }
}

const pct = (us: number): string => `${(100 * us / totalUs).toFixed(1).padStart(5)}%`
process.stdout.write(`${files.length} profile(s), ${(totalUs / 1e6).toFixed(2)} s sampled\n\ntop self time by function:\n`)
for (const [k, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, TOP)) process.stdout.write(`${pct(us)}  ${k}\n`)
process.stdout.write('\nself time by file:\n')
for (const [k, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, TOP)) process.stdout.write(`${pct(us)}  ${k}\n`)
