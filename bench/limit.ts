// "Node limit" baseline: a bare node:http server answering every request from a prebuilt Map of
// Buffers with the origin's headers plus Age, as a cache would. The best a Node hit path can do.
// It never contacts the origin (its /revalidate and /nostore would be hits: a ceiling, not a proxy).
// env: PORT (required)

import { createServer } from 'node:http'
import { RESOURCES } from './resources.ts'

const PORT = Number(process.env.PORT)
if (!(PORT > 0)) throw new TypeError(`limit: PORT must be a port number, got ${process.env.PORT}`)

const map = new Map<string, { buf: Buffer, headers: Record<string, string> }>()
for (const [path, r] of Object.entries(RESOURCES)) map.set(path, { buf: r.buf, headers: { ...r.headers, age: '0' } })
const NOT_FOUND = Buffer.from('not found\n')

const server = createServer((req, res) => {
  const e = map.get(req.url ?? '/')
  if (e === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain', 'content-length': String(NOT_FOUND.length) })
    res.end(NOT_FOUND)
    return
  }
  res.writeHead(200, e.headers)
  res.end(req.method === 'HEAD' ? undefined : e.buf)
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.listen(PORT, '127.0.0.1', () => console.log(`limit pid=${process.pid} listening 127.0.0.1:${PORT}`))
process.on('SIGTERM', () => process.exit(0))
