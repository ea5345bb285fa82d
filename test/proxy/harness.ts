// End-to-end harness: a real origin on listen(0) that records what reached it, the real proxy on
// listen(0) with an injectable clock, and a client that reads whole responses.

import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect as connectH2, type ClientHttp2Session } from 'node:http2'
import { request as undiciRequest, Agent } from 'undici'
import { loadConfig } from '../../src/config/load.ts'
import { startProxy, type Freshgate } from '../../src/proxy/server.ts'
import type { AccessRecord } from '../../src/proxy/context.ts'
import { formatHttpDate } from '../../src/http/dates.ts'

/** A clock tests move by hand. Starts at a whole second. */
export class FakeClock {
  t = Math.floor(Date.now() / 1000) * 1000
  now = (): number => this.t
  /** moves time forward by `s` seconds */
  advance (s: number): void { this.t += s * 1000 }
}

/** What the origin saw of one request. */
export interface Seen {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export type OriginHandler = (req: IncomingMessage, res: ServerResponse, body: string, clock: FakeClock) => unknown

/** A real origin server recording every request. */
export class Origin {
  server!: Server
  seen: Seen[] = []
  handler: OriginHandler
  clock: FakeClock
  url = ''

  constructor (handler: OriginHandler, clock = new FakeClock()) {
    this.handler = handler
    this.clock = clock
  }

  async start (): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', c => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString()
        this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
        Promise.resolve(this.handler(req, res, body, this.clock)).catch(err => { res.destroy(err) })
      })
    })
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  /** requests that reached the origin for a path */
  count (url?: string): number {
    return url === undefined ? this.seen.length : this.seen.filter(s => s.url === url).length
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

/** A started proxy plus the things tests inspect. */
export interface Proxy {
  fg: Freshgate
  url: string
  clock: FakeClock
  log: AccessRecord[]
}

/** Starts freshgate in front of `origin` with option flags (dotted keys). */
export async function startFreshgate (origin: string, flags: Record<string, unknown> = {}, clock = new FakeClock()): Promise<Proxy> {
  // Every listener on port 0, the admin one included: the suite passes while 8080 and 9091 are taken.
  const config = loadConfig({ flags: { origin, port: 0, host: '127.0.0.1', 'admin.port': 0, ...(H2 ? { 'http2.cleartext': true } : {}), ...flags } })
  const log: AccessRecord[] = []
  const fg = await startProxy(config, { clock: clock.now, accessLog: r => log.push(r) })
  return { fg, url: fg.url, clock, log }
}

/** A whole response as the client saw it. */
export interface Got {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  /** our Cache-Status member */
  cs: string
}

const agent = new Agent({ keepAliveTimeout: 1000 })

/**
 * HTTP/2 mode: with FG_TEST_H2=1, `setup` turns on h2c and `get` speaks prior-knowledge HTTP/2
 * through node:http2, so every end-to-end test that uses them runs over HTTP/2. `raw` stays
 * HTTP/1.1 (the same port serves both).
 */
export const H2 = process.env.FG_TEST_H2 === '1'

const sessions = new Map<string, ClientHttp2Session>()

/** Sends a request over HTTP/2 (one cached session per origin) and reads the whole response. */
export async function h2get (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Got> {
  const u = new URL(url)
  let session = sessions.get(u.origin)
  if (session === undefined || session.closed || session.destroyed) {
    const s = connectH2(u.origin)
    s.on('error', () => undefined)
    s.on('close', () => { if (sessions.get(u.origin) === s) sessions.delete(u.origin) })
    s.unref()
    sessions.set(u.origin, session = s)
  }
  const headers: Record<string, string> = { ':method': opts.method ?? 'GET', ':path': u.pathname + u.search }
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (k.toLowerCase() === 'host') headers[':authority'] = v
    // RFC 9113 §8.2.1: no surrounding whitespace in HTTP/2 field values (nghttp2 drops such fields).
    else headers[k.toLowerCase()] = v.trim()
  }
  return await h2stream(session, headers, opts.body)
}

/** Sends one request on an HTTP/2 session (pseudo-headers included in `headers`) and reads the whole response. */
export async function h2stream (session: ClientHttp2Session, headers: Record<string, string>, body?: string): Promise<Got> {
  const stream = session.request(headers, { endStream: body === undefined })
  if (body !== undefined) stream.end(body)
  return await new Promise<Got>((resolve, reject) => {
    let status = 0
    let head: Record<string, string | string[] | undefined> = {}
    const chunks: Buffer[] = []
    stream.on('response', h => {
      status = Number(h[':status'])
      head = {}
      // Like undici: a field sent once is a string, even set-cookie.
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) head[k] = Array.isArray(v) && v.length === 1 ? v[0] : v as string | string[]
    })
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => {
      const cs = String(head['cache-status'] ?? '')
      resolve({ status, headers: head, body: Buffer.concat(chunks).toString(), cs: cs.split(', ').pop() ?? '' })
    })
    stream.on('error', reject)
  })
}

/** Sends a request through undici (or HTTP/2 in H2 mode) and reads the whole response. */
export async function get (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Got> {
  if (H2 && url.startsWith('http:')) return await h2get(url, opts)
  const res = await undiciRequest(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher: agent
  })
  const body = await res.body.text()
  const cs = String(res.headers['cache-status'] ?? '')
  return { status: res.statusCode, headers: res.headers, body, cs: cs.split(', ').pop() ?? '' }
}

/** An origin Date header for the fake clock's now. */
export function dateAt (clock: FakeClock, offsetS = 0): string {
  return formatHttpDate(clock.t + offsetS * 1000)
}

/** Starts an origin and a proxy, and registers teardown on the tap test. */
export async function setup (t: { teardown: (fn: () => unknown) => void }, handler: OriginHandler, flags: Record<string, unknown> = {}): Promise<{ origin: Origin, proxy: Proxy, clock: FakeClock }> {
  const clock = new FakeClock()
  const origin = await new Origin(handler, clock).start()
  const proxy = await startFreshgate(origin.url, flags, clock)
  t.teardown(async () => { await proxy.fg.close(); await origin.close() })
  return { origin, proxy, clock }
}

/** Sends raw request bytes on a fresh connection and returns the raw response once `until` matches. */
export async function raw (url: string, request: string, until: RegExp = /\r\n\r\n/): Promise<string> {
  const { connect } = await import('node:net')
  const u = new URL(url)
  return await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname)
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no match for ${until} in ${JSON.stringify(text)}`)) }, 5000)
    socket.on('data', d => {
      text += d
      if (until.test(text)) { clearTimeout(timer); socket.destroy(); resolve(text) }
    })
    socket.on('error', err => { clearTimeout(timer); reject(err) })
    socket.write(request)
  })
}
