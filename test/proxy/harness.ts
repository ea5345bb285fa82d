// End-to-end harness: a real origin on listen(0) that records what reached it, the real proxy on
// listen(0) with an injectable clock, and a client that reads whole responses.

import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
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
  const config = loadConfig({ flags: { origin, port: 0, host: '127.0.0.1', 'admin.port': 0, ...flags } })
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

/** Sends a request through undici and reads the whole response. */
export async function get (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Got> {
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
