// "Node pass-through" baseline: a minimal non-caching proxy, node:http in front of an undici Pool,
// the response streamed back with pool.stream(). The ceiling for a Node proxy's no-store path.
// (pool.stream() rather than stream/promises pipeline(): pipeline() creates and aborts an
// AbortController per request, about twice the CPU; see /work/shared/bench/nodepass.mjs.)
// env: PORT (required), ORIGIN (required), CONNECTIONS (64)

import { createServer, type IncomingHttpHeaders } from 'node:http'
import { Pool, type Dispatcher } from 'undici'

const PORT = Number(process.env.PORT)
const ORIGIN = process.env.ORIGIN ?? ''
if (!(PORT > 0) || ORIGIN === '') throw new TypeError('pass: PORT and ORIGIN are required')
const pool = new Pool(ORIGIN, { connections: Number(process.env.CONNECTIONS ?? 64), pipelining: 1, keepAliveTimeout: 60_000 })

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'])
function strip (h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const k in h) {
    const v = h[k]
    if (v !== undefined && !HOP.has(k)) out[k] = v
  }
  return out
}

const server = createServer((req, res) => {
  pool.stream(
    { path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: strip(req.headers) },
    ({ statusCode, headers }) => { res.writeHead(statusCode, strip(headers)); return res }
  ).catch(() => {
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end('bad gateway\n')
    } else {
      res.destroy()
    }
  })
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.listen(PORT, '127.0.0.1', () => console.log(`pass pid=${process.pid} listening 127.0.0.1:${PORT} -> ${ORIGIN}`))
process.on('SIGTERM', () => { pool.destroy().finally(() => process.exit(0)) })
