// Assembles a running proxy: config → store → cache → upstream → handler, behind the listener
// (HTTP/1.1, TLS with h2, or h2c) that builds the normalised request, and the upgrade tunnels.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import type { Config } from '../config/schema.ts'
import { MemoryStore } from '../cache/store.ts'
import { HttpCache, type VariantSet } from '../cache/cache.ts'
import { ProxyHandler, type AccessLog, type Observer } from './handler.ts'
import { normalizeRequest, unmapAddress, type ProxyRequest, type RequestRefusal } from './request.ts'
import { forwardedFields, trustList, withoutForwarding, type Hop } from './forwarded.ts'
import { createListener, type ClientRequest, type ClientResponse, type Listener } from './listen.ts'
import { Tunnels, type TunnelObserver, type TunnelTarget } from './tunnel.ts'
import { hostMatches } from './router.ts'
import { cacheStatus, sendError } from './respond.ts'

/** Start-up options beyond the config. */
export interface StartOptions {
  /** the clock policy reads, ms since the epoch (tests inject one) */
  clock?: () => number
  /** where access-log records go; undefined: none */
  accessLog?: AccessLog
  /** receives measurements (metrics) */
  observer?: Observer
  /** receives the open-tunnel count and one record per finished tunnel */
  tunnelObserver?: TunnelObserver
}

/** A running freshgate instance. */
export interface Freshgate {
  /** the listening server (node:http, node:http2 secure, or the h2c sniffer) */
  server: NetServer
  handler: ProxyHandler
  store: MemoryStore<VariantSet> | undefined
  /** open upgrade tunnels */
  tunnels: Tunnels
  /** the bound address */
  address: AddressInfo
  /** base URL of the proxy, e.g. http://127.0.0.1:8080 (https:// with TLS) */
  url: string
  /** re-reads tls.cert and tls.key for new connections (SIGHUP); no-op without TLS */
  reloadTls (): void
  /** stops accepting, closes idle connections and tunnels, waits for in-flight requests */
  close (): Promise<void>
}

/** The parts of a proxy before it listens. */
export interface Proxy {
  server: NetServer
  listener: Listener
  handler: ProxyHandler
  store: MemoryStore<VariantSet> | undefined
  tunnels: Tunnels
}

/** Builds the proxy for a config without listening. */
export function createProxy (config: Config, opts: StartOptions = {}): Proxy {
  const clock = opts.clock ?? Date.now
  const store = config.cache.maxSize > 0
    ? new MemoryStore<VariantSet>(config.cache.maxSize, Math.min(config.cache.maxSize, config.cache.maxEntrySize * config.cache.maxVariants + 65536 * config.cache.maxVariants))
    : undefined
  const cache = store === undefined
    ? undefined
    : new HttpCache(store, { maxVariants: config.cache.maxVariants, keepStale: config.cache.keepStale, staleIfErrorGrace: config.cache.staleIfErrorGrace })
  const handler = new ProxyHandler(config, cache, clock, opts.accessLog, opts.observer)
  const tunnels = new Tunnels({
    idleTimeout: config.websocket.idleTimeout,
    maxTunnels: config.websocket.maxTunnels,
    connectTimeout: config.timeouts.connect,
    maxHeaderSize: config.maxHeaderSize,
    via: `1.1 ${config.cacheName}`
  }, opts.tunnelObserver)
  const trusted = trustList(config.trustProxy)
  const defaultAuthority = config.origin === undefined ? 'localhost' : new URL(config.origin).host
  const hopOf = (socket: { remoteAddress?: string }, tls: boolean): Hop => {
    const peer = unmapAddress(socket.remoteAddress ?? '')
    return { peer, trusted: trusted(peer), tls }
  }
  const listener = createListener(config, {
    request (req, res, tls) {
      const hop = hopOf(req.socket, tls)
      const built = normalizeRequest(req, { tls, peer: hop.peer, trusted: hop.trusted }, { defaultAuthority })
      if ('refused' in built) return refuse(res, config.cacheName, built.refused)
      legacyHandle(handler, built.request, hop, req, res)
    },
    upgrade (req, socket, head, tls) {
      const hop = hopOf(socket as Socket, tls)
      const built = normalizeRequest(req, { tls, peer: hop.peer, trusted: hop.trusted }, { defaultAuthority })
      if ('refused' in built) {
        socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: ${built.refused.code.length + 1}\r\nx-freshgate-error: ${built.refused.code}\r\nconnection: close\r\n\r\n${built.refused.code}\n`)
        return
      }
      tunnels.tunnel(built.request, socket as Socket, head, tunnelTarget(config, built.request, hop))
    }
  })
  return { server: listener.server, listener, handler, store, tunnels }
}

/** Where an upgrade goes: the first route matching host and path, else the top-level origin. */
function tunnelTarget (config: Config, req: ProxyRequest, hop: Hop): TunnelTarget | undefined {
  const q = req.target.indexOf('?')
  const path = q === -1 ? req.target : req.target.slice(0, q)
  const route = config.routes.find(r => (r.host === undefined || hostMatches(r.host, req.authority)) && path.startsWith(r.prefix))
  const origin = route?.origin ?? config.origin
  if (origin === undefined) return undefined
  return { origin, host: config.hostHeader === 'origin' ? new URL(origin).host : req.authority, forwarded: forwardedFields(req, hop) }
}

/** 400 for a request the listener refused (bad Host, bad target). */
function refuse (res: ClientResponse, cacheName: string, why: RequestRefusal): void {
  sendError(res as ServerResponse, why.code, cacheStatus(cacheName, { fwd: 'bypass', detail: why.code === 'FG_BAD_HOST' ? 'bad-host' : 'bad-request' }), why.detail)
}

// ── LEGACY ADAPTER ─────────────────────────────────────────────────────────────────────────────
// Until the handler takes `handle(preq, req, res)`, it reads the request line and Host from the
// node request: rewrite them to the normalised request's. The handler still appends the socket
// address to X-Forwarded-For and writes its own X-Forwarded-Proto/-Host; the rest of the
// forwarding view (Forwarded, look-alikes removed, a trusted X-Forwarded-For kept) goes through
// the fields. To be replaced by `handler.handle(preq, req, res)` with `forwardedFields` called in
// the handler's upstream header builder.
function legacyHandle (handler: ProxyHandler, preq: ProxyRequest, hop: Hop, req: ClientRequest, res: ClientResponse): void {
  const headers: IncomingMessage['headers'] = { ...withoutForwarding(preq.headers), host: preq.authority }
  const fields = forwardedFields(preq, hop)
  for (const [name, value] of Object.entries(fields)) if (name !== 'x-forwarded-for') headers[name] = value
  if (hop.trusted && preq.headers['x-forwarded-for'] !== undefined) headers['x-forwarded-for'] = preq.headers['x-forwarded-for']
  // The handler looks for Content-Length or Transfer-Encoding; an HTTP/2 body may have neither.
  if (preq.hasBody && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked'
  Object.defineProperty(req, 'url', { value: preq.target, writable: true, configurable: true })
  Object.defineProperty(req, 'headers', { value: headers, writable: true, configurable: true })
  handler.handle(req as IncomingMessage, res as ServerResponse)
}
// ── END LEGACY ADAPTER ─────────────────────────────────────────────────────────────────────────

/** Creates the proxy and listens on config.host:config.port. */
export async function startProxy (config: Config, opts: StartOptions = {}): Promise<Freshgate> {
  const { server, listener, handler, store, tunnels } = createProxy(config, opts)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server,
    handler,
    store,
    tunnels,
    address,
    url: `${listener.tls ? 'https' : 'http'}://${host}:${address.port}`,
    reloadTls: () => listener.reloadTls(),
    async close () {
      await Promise.all([listener.close(), tunnels.close(config.shutdownTimeout)])
      await handler.close()
    }
  }
}
