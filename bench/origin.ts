// The bench's origin server: fixed resources, a delayed /herd/*, /blob/<id> for the memory
// scenario, and /__count with per-path counters so the bench can see what reached the origin.
//
//   /small /medium /large  1 KiB / 100 KiB / 1 MiB, public, max-age=3600, ETag, Last-Modified
//   /revalidate            1 KiB, max-age=0, must-revalidate; 304 on matching If-None-Match
//                          (or, absent If-None-Match, a satisfied If-Modified-Since)
//   /nostore               1 KiB, no-store
//   /herd/<any>            1 KiB, public, max-age=3600, answered after HERD_DELAY_MS
//   /blob/<id>             BLOB_SIZE bytes, public, max-age=3600 (counted under "/blob/*")
//   /__count               {connections, counts: {path: {total, s200, s304, inm, ims}}}; ?reset=1 resets
//
// Every other request burns ORIGIN_WORK iterations of integer math (~20 µs: cheap, not free).
// env: PORT (required), ORIGIN_WORK (10000), HERD_DELAY_MS (300), BLOB_SIZE (262144)

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { RESOURCES, HERD, LAST_MODIFIED, blob, type Resource } from './resources.ts'

const PORT = Number(process.env.PORT)
const WORK = Number(process.env.ORIGIN_WORK ?? 10000)
const HERD_DELAY_MS = Number(process.env.HERD_DELAY_MS ?? 300)
const BLOB = blob(Number(process.env.BLOB_SIZE ?? 256 * 1024))
if (!(PORT > 0)) throw new TypeError(`origin: PORT must be a port number, got ${process.env.PORT}`)

interface Count { total: number, s200: number, s304: number, inm: number, ims: number }

let counts: Record<string, Count> = Object.create(null)
let connections = 0
let sink = 0

function burn (): void {
  let x = (sink | 1) >>> 0
  for (let i = 0; i < WORK; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0 }
  sink = x
}

function count (path: string, status: number, req: IncomingMessage): void {
  let c = counts[path]
  if (c === undefined) c = counts[path] = { total: 0, s200: 0, s304: 0, inm: 0, ims: 0 }
  c.total++
  if (status === 200) c.s200++
  else if (status === 304) c.s304++
  if (req.headers['if-none-match'] !== undefined) c.inm++
  if (req.headers['if-modified-since'] !== undefined) c.ims++
}

function notModified (req: IncomingMessage, r: Resource): boolean {
  const inm = req.headers['if-none-match']
  if (inm !== undefined) {
    if (inm.trim() === '*') return true
    return inm.split(',').some(t => t.trim().replace(/^W\//, '') === r.etag)
  }
  const ims = req.headers['if-modified-since']
  if (ims === undefined) return false
  const t = Date.parse(ims)
  return !Number.isNaN(t) && Date.parse(LAST_MODIFIED) <= t
}

function send (req: IncomingMessage, res: ServerResponse, r: Resource, counted: string): void {
  if ((req.method === 'GET' || req.method === 'HEAD') && notModified(req, r)) {
    count(counted, 304, req)
    const { 'content-length': _cl, 'content-type': _ct, ...h } = r.headers
    res.writeHead(304, h)
    res.end()
    return
  }
  count(counted, 200, req)
  res.writeHead(200, r.headers)
  res.end(req.method === 'HEAD' ? undefined : r.buf)
}

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  if (path === '/__count') {
    const out = JSON.stringify({ pid: process.pid, work: WORK, sink, connections, counts })
    if (url.includes('reset=1')) { counts = Object.create(null); connections = 0 }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(out)
    return
  }
  burn()
  const r = RESOURCES[path]
  if (r !== undefined) return send(req, res, r, path)
  if (path.startsWith('/herd/')) {
    setTimeout(() => send(req, res, HERD, path), HERD_DELAY_MS)
    return
  }
  if (path.startsWith('/blob/')) return send(req, res, BLOB(path.slice(6)), '/blob/*')
  count(path, 404, req)
  res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
  res.end('not found\n')
})

// Proxies keep upstream connections idle for a while; an origin keep-alive shorter than theirs
// races with connection reuse and produces spurious 502s.
server.on('connection', () => { connections++ })
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.requestTimeout = 0
server.listen(PORT, '127.0.0.1', () => {
  console.log(`origin pid=${process.pid} listening 127.0.0.1:${PORT} work=${WORK} herd_delay=${HERD_DELAY_MS}ms`)
})
process.on('SIGTERM', () => process.exit(0))
