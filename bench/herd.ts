// Thundering-herd client: N concurrent GETs for one URL, each on its own new connection, all
// sent before any response can arrive (the origin delays). Prints one JSON line: statuses,
// Cache-Status values (ttl dropped) and latencies. Bounded: every request times out after 30 s.
// usage: node bench/herd.ts URL N

import { Agent, request } from 'node:http'

const [url, nArg] = process.argv.slice(2)
const N = Math.min(10_000, Number(nArg ?? 200))
if (url === undefined || !(N > 0)) {
  process.stderr.write('usage: node bench/herd.ts URL N\n')
  process.exit(2)
}
const u = new URL(url)
const agent = new Agent({ keepAlive: false, maxSockets: Infinity })

interface One { status: number, cache: string, ms: number }

function one (): Promise<One> {
  const t0 = performance.now()
  return new Promise(resolve => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent, method: 'GET' }, res => {
      res.resume()
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        cache: String(res.headers['cache-status'] ?? '-').replace(/; ttl=-?\d+/, ''),
        ms: performance.now() - t0
      }))
    })
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')))
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, cache: `error:${e.code ?? e.message}`, ms: performance.now() - t0 }))
    req.end()
  })
}

const t0 = performance.now()
const results = await Promise.all(Array.from({ length: N }, one))
const wallMs = performance.now() - t0
const statuses: Record<string, number> = {}
const caches: Record<string, number> = {}
for (const r of results) {
  statuses[r.status] = (statuses[r.status] ?? 0) + 1
  caches[r.cache] = (caches[r.cache] ?? 0) + 1
}
const lat = results.map(r => r.ms).sort((a, b) => a - b)
const pct = (p: number): number => +(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN).toFixed(1)
console.log(JSON.stringify({ n: N, wallMs: +wallMs.toFixed(1), statuses, caches, minMs: pct(0), p50Ms: pct(50), p99Ms: pct(99), maxMs: +(lat[lat.length - 1] ?? NaN).toFixed(1) }))
