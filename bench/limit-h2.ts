// "Node h2 limit" baseline: a bare node:http2 server (cleartext, prior knowledge) answering every
// stream from a prebuilt Map of Buffers, as limit.ts does over HTTP/1.1: the best a Node h2 hit
// path can do. env: PORT (required)

import { createServer, constants } from 'node:http2'
import { RESOURCES } from './resources.ts'

const PORT = Number(process.env.PORT)
if (!(PORT > 0)) throw new TypeError(`limit-h2: PORT must be a port number, got ${process.env.PORT}`)

const map = new Map<string, { buf: Buffer, headers: Record<string, string> }>()
for (const [path, r] of Object.entries(RESOURCES)) map.set(path, { buf: r.buf, headers: { ...r.headers, age: '0' } })
const NOT_FOUND = Buffer.from('not found\n')

const server = createServer({ peerMaxConcurrentStreams: 1000 })
server.on('stream', (stream, headers) => {
  const e = map.get(String(headers[constants.HTTP2_HEADER_PATH] ?? '/'))
  if (e === undefined) {
    stream.respond({ ':status': 404, 'content-type': 'text/plain', 'content-length': String(NOT_FOUND.length) })
    stream.end(NOT_FOUND)
    return
  }
  // HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2).
  const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...fields } = e.headers
  stream.respond({ ':status': 200, ...fields })
  stream.end(headers[constants.HTTP2_HEADER_METHOD] === 'HEAD' ? undefined : e.buf)
})
server.listen(PORT, '127.0.0.1', () => console.log(`limit-h2 pid=${process.pid} listening 127.0.0.1:${PORT}`))
process.on('SIGTERM', () => process.exit(0))
