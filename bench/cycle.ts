// Memory-scenario client: cycles GETs over /blob/0 … /blob/<count-1> in order, `passes` times,
// with `concurrency` keep-alive connections. A sequential cycle over a working set larger than
// the cache is the LRU worst case: nearly every request misses and every stored body is evicted.
// Bounded by the request count and by `seconds`. Prints one JSON line.
// usage: node bench/cycle.ts BASE_URL COUNT PASSES CONCURRENCY SECONDS

import { Agent, request } from 'node:http'

const [base, countArg, passesArg, concArg, secArg] = process.argv.slice(2)
const COUNT = Number(countArg)
const TOTAL = Math.min(1_000_000, COUNT * Number(passesArg))
const CONC = Math.max(1, Number(concArg))
const DEADLINE = performance.now() + Number(secArg) * 1000
if (base === undefined || !(TOTAL > 0) || !(Number(secArg) > 0)) {
  process.stderr.write('usage: node bench/cycle.ts BASE_URL COUNT PASSES CONCURRENCY SECONDS\n')
  process.exit(2)
}
const u = new URL(base)
const agent = new Agent({ keepAlive: true, maxSockets: CONC })

let next = 0
let bytes = 0
let timedOut = false
const statuses: Record<string, number> = {}
const caches: Record<string, number> = {}

function one (i: number): Promise<void> {
  return new Promise(resolve => {
    const req = request({ host: u.hostname, port: u.port, path: `/blob/${i % COUNT}`, agent, method: 'GET' }, res => {
      res.on('data', (c: Buffer) => { bytes += c.length })
      res.on('end', () => {
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1
        const c = /; (hit|fwd=[a-z-]+)/.exec(String(res.headers['cache-status'] ?? ''))?.[1] ?? '-'
        caches[c] = (caches[c] ?? 0) + 1
        resolve()
      })
    })
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')))
    req.on('error', () => { statuses['0'] = (statuses['0'] ?? 0) + 1; resolve() })
    req.end()
  })
}

async function worker (): Promise<void> {
  while (next < TOTAL) {
    if (performance.now() > DEADLINE) { timedOut = true; return }
    await one(next++)
  }
}

const t0 = performance.now()
await Promise.all(Array.from({ length: CONC }, worker))
const seconds = (performance.now() - t0) / 1000
agent.destroy()
console.log(JSON.stringify({ requests: next, seconds: +seconds.toFixed(2), mib: +(bytes / 1048576).toFixed(1), statuses, caches, timedOut }))
