// Upgrade tunnels (WebSocket and any other HTTP/1.1 Upgrade except h2c): the request is written
// to the origin on a connection of its own, its 101 is relayed, then bytes flow both ways until
// either side closes, the tunnel idles out or freshgate shuts down.
// https://www.rfc-editor.org/rfc/rfc9110#section-7.8

import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { STATUS_CODES } from '../node-http.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { appendMember } from '../http/fields.ts'
import { ERROR_CODES, upstreamCode, type ErrorCode } from '../errors.ts'
import type { ProxyRequest } from './request.ts'
import { FORWARDING_FIELDS } from './forwarded.ts'

/** Settings of the tunnel manager. */
export interface TunnelOptions {
  /** a tunnel with no bytes either way for this long is closed (ms) */
  idleTimeout: number
  /** most open tunnels; more are refused with 503 */
  maxTunnels: number
  /** origin connect timeout (ms) */
  connectTimeout: number
  /** largest origin response head accepted (bytes) */
  maxHeaderSize: number
  /** Via member for this hop, e.g. "1.1 freshgate" */
  via: string
}

/** One finished tunnel, for the access log. */
export interface TunnelRecord {
  method: string
  authority: string
  target: string
  /** the origin's status (101 when the tunnel opened), or the error status sent */
  status: number
  /** set when freshgate refused or failed the upgrade */
  code?: ErrorCode
  /** bytes client → origin and origin → client after the heads */
  bytesUp: number
  bytesDown: number
  ms: number
}

/** Hooks for metrics and the access log. */
export interface TunnelObserver {
  /** the number of open tunnels changed */
  open? (count: number): void
  /** a tunnel (or a refused upgrade) ended */
  done? (record: TunnelRecord): void
}

/** Where an upgrade goes: the origin URL, the Host to send and the forwarding fields. */
export interface TunnelTarget {
  origin: string
  host: string
  forwarded: Record<string, string>
}

interface Open { client: Socket, origin: Socket | undefined }

/** Opens, counts, bounds and closes upgrade tunnels. */
export class Tunnels {
  readonly #opts: TunnelOptions
  readonly #observer: TunnelObserver
  readonly #open = new Set<Open>()
  #closing = false

  constructor (opts: TunnelOptions, observer: TunnelObserver = {}) {
    this.#opts = opts
    this.#observer = observer
  }

  /** open tunnels */
  get count (): number { return this.#open.size }

  /**
   * Tunnels an upgrade request to `target`. `client` is the socket node handed over with the
   * 'upgrade' event, `head` the bytes the client sent after its request head.
   */
  tunnel (req: ProxyRequest, client: Socket, head: Buffer, target: TunnelTarget | undefined): void {
    const start = performance.now()
    const t: Open = { client, origin: undefined }
    let status = 0
    let bytesUp = 0
    let bytesDown = 0
    let finished = false
    const finish = (code?: ErrorCode): void => {
      if (finished) return
      finished = true
      if (this.#open.delete(t)) this.#observer.open?.(this.#open.size)
      this.#observer.done?.({ method: req.method, authority: req.authority, target: req.target, status, code, bytesUp, bytesDown, ms: performance.now() - start })
    }
    const refuse = (code: ErrorCode, detail?: string): void => {
      status = ERROR_CODES[code].status
      if (client.writable) client.end(errorResponse(code, detail))
      setTimeout(() => client.destroy(), 1000).unref()
      t.origin?.destroy()
      finish(code)
    }
    client.on('error', () => { t.origin?.destroy(); finish() })
    if (this.#closing) return refuse('FG_UPSTREAM_BUSY', 'shutting down')
    if (target === undefined) return refuse('FG_NO_ROUTE')
    if (this.#open.size >= this.#opts.maxTunnels) return refuse('FG_UPSTREAM_BUSY', 'too many open tunnels')
    this.#open.add(t)
    this.#observer.open?.(this.#open.size)

    const url = new URL(target.origin)
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
    const hostname = url.hostname.replace(/^\[|\]$/g, '')
    const origin: Socket = url.protocol === 'https:'
      ? tlsConnect({ host: hostname, port, servername: isIP(hostname) === 0 ? hostname : undefined, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host: hostname, port })
    t.origin = origin
    let connected = false
    origin.setTimeout(this.#opts.connectTimeout, () => {
      if (status === 0) refuse(connected ? 'FG_UPSTREAM_HEADERS_TIMEOUT' : 'FG_UPSTREAM_CONNECT_TIMEOUT')
      else { client.destroy(); origin.destroy() }
    })
    origin.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      connected = true
      origin.write(upgradeHead(req, target, this.#opts.via))
      if (head.length > 0) { bytesUp += head.length; origin.write(head) }
    })
    origin.on('error', err => {
      if (status === 0) refuse(upstreamCode(err))
      else { client.destroy(); finish() }
    })
    client.on('close', () => { origin.destroy(); finish() })
    origin.on('close', () => { if (status !== 0) client.end(); finish() })

    // Read the origin's response head, then relay it and switch to raw bytes.
    let buffered = Buffer.alloc(0)
    const onHead = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end === -1) {
        if (buffered.length > this.#opts.maxHeaderSize) refuse('FG_UPSTREAM_INVALID', 'response head too large')
        return
      }
      const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(buffered.toString('latin1', 0, end + 2))
      if (m === null) return refuse('FG_UPSTREAM_INVALID', 'malformed status line')
      status = Number(m[1])
      origin.off('data', onHead)
      client.write(buffered)
      bytesDown += buffered.length - end - 4
      if (status !== 101) {
        // Not switched: relay the answer and close, the client's connection ends with it.
        origin.on('data', (c: Buffer) => { bytesDown += c.length; client.write(c) })
        return
      }
      origin.setTimeout(this.#opts.idleTimeout, () => { client.destroy(); origin.destroy() })
      client.setTimeout(this.#opts.idleTimeout, () => { client.destroy(); origin.destroy() })
      origin.on('data', (c: Buffer) => { bytesDown += c.length })
      client.on('data', (c: Buffer) => { bytesUp += c.length })
      origin.pipe(client)
      client.pipe(origin)
      client.on('end', () => origin.end())
    }
    origin.on('data', onHead)
  }

  /**
   * Shutdown: refuses new upgrades and half-closes every tunnel (FIN both ways) so each side sees
   * a clean end; whatever is still open after `timeoutMs` is destroyed. Resolves when all are gone.
   */
  async close (timeoutMs: number): Promise<void> {
    this.#closing = true
    const all = [...this.#open]
    const gone = all.map(t => new Promise<void>(resolve => {
      if (t.client.destroyed) return resolve()
      t.client.once('close', () => resolve())
    }))
    for (const t of all) { t.client.end(); t.origin?.end() }
    const timer = setTimeout(() => { for (const t of all) { t.client.destroy(); t.origin?.destroy() } }, timeoutMs)
    timer.unref()
    await Promise.all(gone)
    clearTimeout(timer)
  }
}

/**
 * The upgrade request for the origin: the client's fields without hop-by-hop ones (RFC 9110
 * §7.6.1) and without the forwarding family, then Connection and Upgrade as the client sent
 * them, Host, the forwarding fields and Via.
 */
export function upgradeHead (req: ProxyRequest, target: TunnelTarget, via: string): string {
  const src = req.headers
  const drop = hopByHopFor(src.connection)
  let text = `${req.method} ${req.target} HTTP/1.1\r\nhost: ${target.host}\r\nconnection: upgrade\r\nupgrade: ${String(src.upgrade)}\r\n`
  for (const name in src) {
    const v = src[name]
    if (v === undefined || drop.has(name) || name === 'via' || FORWARDING_FIELDS.has(name)) continue
    for (const x of Array.isArray(v) ? v : [v]) text += `${name}: ${x}\r\n`
  }
  for (const [name, v] of Object.entries(target.forwarded)) text += `${name}: ${v}\r\n`
  text += `via: ${appendMember(src.via, via)}\r\n\r\n`
  return text
}

/** A complete HTTP/1.1 error response naming its stable code, closing the connection. */
function errorResponse (code: ErrorCode, detail?: string): string {
  const { status, text } = ERROR_CODES[code]
  const body = `${status} ${code}: ${text}${detail === undefined ? '' : ` (${detail})`}\n`
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `cache-control: no-store\r\nx-freshgate-error: ${code}\r\nconnection: close\r\n\r\n${body}`
}
