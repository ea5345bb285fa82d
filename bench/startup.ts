// What each dependency costs at start-up: resident memory added by importing it, in a fresh
// Node per module, on top of a base of the node: modules freshgate always loads. Run with
// `node --expose-gc bench/startup.ts` (the GC is run before each reading).
// A benchmark, not a test: it reports.

import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..')

/**
 * Modules measured; `require:` ones are loaded with createRequire (CommonJS files inside a package),
 * and node: ones too, as freshgate loads node:http (src/node-http.ts: an ESM import of it loads
 * Node's bundled undici through its lazy WebSocket exports).
 */
const MODULES = [
  'none',
  'node:http', 'node:http2', 'node:net',
  'undici', 'require:undici/lib/dispatcher/pool.js',
  'lru-cache', 'pino', 'pino-pretty', 'prom-client', 'yargs', 'yaml', 'ioredis',
  './src/proxy/server.ts'
]

/** The node: modules every freshgate loads (the base the others are measured on). */
const BASE = ['node:http', 'node:http2', 'node:net', 'node:crypto', 'node:fs']

const CHILD = `
const { createRequire } = await import('node:module')
const require = createRequire(${JSON.stringify(join(ROOT, 'x.js'))})
const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise(r => setTimeout(r, 50)) } }
const load = async (s) => s === 'none' ? undefined : s.startsWith('require:') || s.startsWith('node:') ? require(s.replace(/^require:/, '')) : import(s.startsWith('./') ? ${JSON.stringify(ROOT + '/')} + s.slice(2) : s)
const [spec, base] = process.argv.slice(-2)
if (base === 'base') for (const b of ${JSON.stringify(BASE)}) await load(b)
await settle()
const r0 = process.memoryUsage().rss
await load(spec)
await settle()
const m = process.memoryUsage()
console.log(JSON.stringify({ spec, addedMiB: (m.rss - r0) / 1048576, rssMiB: m.rss / 1048576, heapMiB: m.heapUsed / 1048576 }))
`

const rows: string[] = []
for (const base of ['alone', 'base']) {
  for (const spec of MODULES) {
    try {
      const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD, spec, base], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 })
      const r = JSON.parse(out.trim().split('\n').pop()!) as { addedMiB: number, rssMiB: number, heapMiB: number }
      rows.push(`| ${base === 'base' ? 'on base' : 'alone'} | ${spec} | +${r.addedMiB.toFixed(1)} | ${r.rssMiB.toFixed(1)} | ${r.heapMiB.toFixed(1)} |`)
    } catch (err) {
      rows.push(`| ${base} | ${spec} | failed: ${(err as Error).message.split('\n')[0]} | | |`)
    }
  }
}
process.stdout.write(`base: ${BASE.join(', ')}\n\n| measured | module | RSS added, MiB | RSS after, MiB | heap used, MiB |\n|---|---|---|---|---|\n${rows.join('\n')}\n`)
