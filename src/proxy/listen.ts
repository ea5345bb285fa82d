// The listening socket: HTTP/1.1 in cleartext, TLS with ALPN h2 and http/1.1, or cleartext with
// prior-knowledge HTTP/2 (h2c) beside HTTP/1.1 on one port. Bounds and rapid-reset protection for
// HTTP/2 live here; what a request means is decided above (request.ts, handler).

import type { IncomingMessage, ServerResponse, Server as HttpServer } from 'node:http'
import { createServer as createHttpServer } from '../node-http.ts'
import {
  createServer as createH2Server, createSecureServer, constants as h2, Http2ServerResponse, type Http2ServerRequest,
  type ServerHttp2Session, type Settings
} from 'node:http2'
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import type { Duplex } from 'node:stream'
import type { Config } from '../config/schema.ts'
import { ConfigError } from '../errors.ts'

/** A request from either protocol, as the handler receives it. */
export type ClientRequest = IncomingMessage | Http2ServerRequest
/** A response to either protocol. */
export type ClientResponse = ServerResponse | Http2ServerResponse

/** What the listener calls. */
export interface ListenerHandlers {
  /** every request (HTTP/1.x or HTTP/2); `tls`: it came over freshgate's own TLS */
  request (req: ClientRequest, res: ClientResponse, tls: boolean): void
  /** an HTTP/1.1 Upgrade other than h2c: the socket is the handler's from here on */
  upgrade (req: IncomingMessage, socket: Duplex, head: Buffer, tls: boolean): void
}

/** A listening front door. */
export interface Listener {
  /** the server that owns the listening socket */
  server: NetServer
  /** the client connection speaks TLS */
  tls: boolean
  /** re-reads tls.cert and tls.key and serves them to new connections; open ones keep theirs */
  reloadTls (): void
  /** stops accepting; asks HTTP/2 clients to go away and closes idle HTTP/1 connections; resolves when every connection is gone */
  close (): Promise<void>
}

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/**
 * Connection-specific fields that must not appear in an HTTP/2 message (RFC 9113 §8.2.2); node
 * refuses to send them, so they are dropped before they reach node:http2.
 */
const H2_FORBIDDEN: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'])

/**
 * Start-up checks the schema cannot express: trustProxy entries are addresses or CIDR ranges;
 * both TLS files or neither, and readable. Throws ConfigError naming the key.
 */
export function checkListenConfig (config: Config): void {
  for (const entry of config.trustProxy) {
    const [addr, bits, extra] = entry.split('/')
    const family = isIP(addr ?? '')
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32)))) {
      throw new ConfigError('trustProxy', entry, 'an IPv4/IPv6 address or CIDR range such as "10.0.0.0/8"')
    }
  }
  if ((config.tls.cert === undefined) !== (config.tls.key === undefined)) {
    const missing = config.tls.cert === undefined ? 'tls.cert' : 'tls.key'
    throw new ConfigError(missing, undefined, `a PEM file path: tls.cert and tls.key are set together (--tls-cert, --tls-key)`)
  }
  if (config.tls.cert !== undefined) readTls(config)
}

function readTls (config: Config): { cert: Buffer, key: Buffer } {
  const read = (key: 'tls.cert' | 'tls.key', path: string): Buffer => {
    try { return readFileSync(path) } catch (err) { throw new ConfigError(key, path, `a readable PEM file (${(err as Error).message})`) }
  }
  return { cert: read('tls.cert', config.tls.cert!), key: read('tls.key', config.tls.key!) }
}

/** Builds the listener for a config (not yet listening). */
export function createListener (config: Config, handlers: ListenerHandlers): Listener {
  checkListenConfig(config)
  const settings: Settings = {
    maxConcurrentStreams: config.http2.maxConcurrentStreams,
    initialWindowSize: config.http2.initialWindowSize,
    maxHeaderListSize: config.maxHeaderSize
  }
  const sessions = new Set<ServerHttp2Session>()
  const onSession = (session: ServerHttp2Session): void => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
    guardResets(session, config.http2.maxResets)
    closeWhenIdle(session, config.http2.idleTimeout)
  }
  const h1Options = {
    maxHeaderSize: config.maxHeaderSize,
    keepAliveTimeout: 5_000,
    // h2c upgrades (RFC 7540 §3.2) are obsolete (RFC 9113 §3.1): answered as plain HTTP/1.1.
    shouldUpgradeCallback: (req: IncomingMessage) => !isH2cUpgrade(req)
  }

  if (config.tls.cert !== undefined) {
    const tls = readTls(config)
    const server = createSecureServer({
      ...tls,
      allowHTTP1: true,
      minVersion: 'TLSv1.2',
      settings,
      Http2ServerResponse: GuardedResponse,
      http1Options: { keepAliveTimeout: h1Options.keepAliveTimeout }
    })
    // node:http reads these from the server object for HTTP/1 connections; http1Options does not carry them.
    Object.assign(server, { maxHeaderSize: h1Options.maxHeaderSize, shouldUpgradeCallback: h1Options.shouldUpgradeCallback })
    server.on('session', onSession)
    server.on('request', (req, res) => { if (live(req)) handlers.request(req, res, true) })
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handlers.upgrade(req, socket, head, true))
    return {
      server,
      tls: true,
      reloadTls () { server.setSecureContext({ ...readTls(config), minVersion: 'TLSv1.2' }) },
      close: () => closeAll(server, sessions)
    }
  }

  const h1: HttpServer = createHttpServer(h1Options)
  h1.on('request', (req: IncomingMessage, res: ServerResponse) => handlers.request(req, res, false))
  h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handlers.upgrade(req, socket, head, false))
  if (!config.http2.cleartext) {
    return { server: h1, tls: false, reloadTls () {}, close: () => closeAll(h1, sessions) }
  }

  const h2c = createH2Server({ settings, Http2ServerResponse: GuardedResponse })
  h2c.on('session', onSession)
  h2c.on('request', (req, res) => { if (live(req)) handlers.request(req, res, false) })
  // One port, two protocols: the first bytes tell an HTTP/2 preface from an HTTP/1 request line.
  const server = createNetServer({ pauseOnConnect: true, noDelay: true }, socket => sniff(socket, (isH2, seen) => {
    if (isH2) {
      // node:http2 reads what is buffered on the socket before its own reads.
      socket.unshift(seen)
      h2c.emit('connection', socket)
    } else {
      // node:http reads the socket's handle directly, past the stream buffer: hand it the bytes.
      h1.emit('connection', socket)
      socket.emit('data', seen)
      socket.resume()
    }
  }))
  return {
    server,
    tls: false,
    reloadTls () {},
    close: () => closeAll(server, sessions, h1)
  }
}

/**
 * Reads until the bytes seen either start the HTTP/2 preface or cannot, then puts them back and
 * hands the socket on. A client that sends nothing is dropped after the header timeout's worth of
 * silence (10 s).
 */
function sniff (socket: Socket, hand: (isH2: boolean, seen: Buffer) => void): void {
  let seen = Buffer.alloc(0)
  const timer = setTimeout(() => socket.destroy(), 10_000)
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk])
    const n = Math.min(seen.length, PREFACE.length)
    const isPrefix = seen.subarray(0, n).equals(PREFACE.subarray(0, n))
    if (isPrefix && seen.length < PREFACE.length) return
    clearTimeout(timer)
    socket.off('data', onData)
    socket.off('error', onError)
    socket.pause()
    hand(isPrefix, seen)
  }
  const onError = (): void => { clearTimeout(timer); socket.destroy() }
  socket.on('data', onData)
  socket.on('error', onError)
  socket.resume()
}

function isH2 (req: ClientRequest): req is Http2ServerRequest {
  return 'stream' in req
}

/**
 * False for an HTTP/2 request whose stream the client already reset: nobody is left to answer,
 * and starting upstream work for it is what a rapid-reset attack wants.
 */
function live (req: ClientRequest): boolean {
  return !isH2(req) || (!req.stream.destroyed && !req.stream.closed)
}

/** `Upgrade: h2c` (only that protocol): not tunnelled, the request is served as HTTP/1.1. */
function isH2cUpgrade (req: IncomingMessage): boolean {
  return /^\s*h2c\s*$/i.test(req.headers.upgrade ?? '')
}

/**
 * GOAWAY (ENHANCE_YOUR_CALM) for a client that resets more than `limit` streams within a second:
 * the HTTP/2 rapid-reset attack (CVE-2023-44487) makes the server start work for every stream the
 * client cancels at once.
 */
function guardResets (session: ServerHttp2Session, limit: number): void {
  let windowStart = 0
  let count = 0
  session.on('stream', stream => {
    stream.once('aborted', () => {
      const now = performance.now()
      if (now - windowStart > 1000) { windowStart = now; count = 0 }
      count++
      if (count > limit && !session.destroyed) {
        // The code goes into the final GOAWAY; the error is also emitted on the session.
        session.on('error', () => undefined)
        session.destroy(new Error('rapid reset: too many stream resets'), h2.NGHTTP2_ENHANCE_YOUR_CALM)
      }
    })
  })
}

/** Closes (GOAWAY, then the connection) a session that has had no open stream for `ms`. */
function closeWhenIdle (session: ServerHttp2Session, ms: number): void {
  let open = 0
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => { timer = setTimeout(() => { if (open === 0 && !session.closed) session.close() }, ms); timer.unref() }
  session.on('stream', stream => {
    open++
    clearTimeout(timer)
    stream.once('close', () => { if (--open === 0 && !session.closed) arm() })
  })
  session.once('close', () => clearTimeout(timer))
  arm()
}

/**
 * The HTTP/2 compat response freshgate answers with (node builds one per stream from this class,
 * so the guards cost no per-request closures): connection-specific fields an HTTP/2 response must
 * not carry are dropped (RFC 9113 §8.2.2), `destroyed` and `writableFinished` tell the truth about
 * reset streams, and a response cut short resets its stream with INTERNAL_ERROR.
 */
export class GuardedResponse extends Http2ServerResponse {
  override setHeader (name: string, value: number | string | readonly string[]): this {
    if (H2_FORBIDDEN.has(name.toLowerCase())) return this
    super.setHeader(name, typeof value === 'string' ? value.trim() : Array.isArray(value) ? value.map(v => v.trim()) : value)
    return this
  }

  override writeHead (status: number, ...rest: unknown[]): this {
    return (super.writeHead as (status: number, ...rest: unknown[]) => this)(status, ...rest.map(withoutForbidden))
  }

  /** Cutting a response short must not look like its end: INTERNAL_ERROR says it is not (RFC 9113 §8.1). */
  override destroy (err?: Error): this {
    if (!this.writableEnded && !this.stream.destroyed) this.stream.close(h2.NGHTTP2_INTERNAL_ERROR)
    return super.destroy(err)
  }
}

// node:http's ServerResponse says `destroyed` once the client is gone; the compat response does
// not, and code that checks it would write into a reset stream and wait for 'drain' forever. And
// the compat response reports `writableFinished` once its stream closed, even when the client reset
// it mid-way: a reset stream did not finish. Accessors on the prototype, defined once.
const compatFinished = Object.getOwnPropertyDescriptor(Http2ServerResponse.prototype, 'writableFinished')?.get
Object.defineProperties(GuardedResponse.prototype, {
  destroyed: { configurable: true, get (this: GuardedResponse): boolean { return this.stream.destroyed } },
  writableFinished: {
    configurable: true,
    get (this: GuardedResponse): boolean {
      const rst = this.stream.rstCode
      return rst === undefined ? compatFinished?.call(this) === true : rst === h2.NGHTTP2_NO_ERROR && this.writableEnded
    }
  }
})

/**
 * Filters a writeHead headers argument (object, [[name, value]…] or flat [name, value, …]); the
 * status message passes. Values lose surrounding whitespace: RFC 9113 §8.2.1 forbids it and
 * nghttp2 would drop the whole field rather than send it.
 */
function withoutForbidden (arg: unknown): unknown {
  if (typeof arg === 'string' || arg === undefined || arg === null) return arg
  const keep = (name: unknown): boolean => !H2_FORBIDDEN.has(String(name).toLowerCase())
  const trim = (v: unknown): unknown => typeof v === 'string' ? v.trim() : Array.isArray(v) ? v.map(trim) : v
  if (Array.isArray(arg)) {
    if (arg.length > 0 && Array.isArray(arg[0])) return (arg as unknown[][]).filter(([n]) => keep(n)).map(([n, v]) => [n, trim(v)])
    const out: unknown[] = []
    for (let i = 0; i < arg.length; i += 2) if (keep(arg[i])) out.push(arg[i], trim(arg[i + 1]))
    return out
  }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(arg as Record<string, unknown>)) if (keep(k)) out[k] = trim(v)
  return out
}

async function closeAll (server: HttpServer | NetServer, sessions: Set<ServerHttp2Session>, h1Server?: HttpServer): Promise<void> {
  const h1 = h1Server ?? ('closeIdleConnections' in server ? server as HttpServer : undefined)
  const done = new Promise<void>(resolve => server.close(() => resolve()))
  // Keep-alive connections busy now turn idle as their responses finish: close each then, rather
  // than holding the drain until the keep-alive timeout.
  h1?.closeIdleConnections()
  const sweep = h1 === undefined ? undefined : setInterval(() => h1.closeIdleConnections(), 50)
  for (const s of sessions) s.close()
  await done
  clearInterval(sweep)
}
