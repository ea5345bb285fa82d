// Assembles a running proxy: config → store → cache → upstream → handler, behind the listener
// (HTTP/1.1, TLS with h2, or h2c) that builds the normalised request, and the upgrade tunnels.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import type { Config } from '../config/schema.ts'
import { matchRoute } from '../config/routes.ts'
import type { Store } from '../cache/contract.ts'
import { createStore } from '../store/stores.ts'
import { HttpCache } from '../cache/cache.ts'
import { ProxyHandler } from './handler.ts'
import type { AccessLog, Observer, ProxyLog } from './context.ts'
import { normalizeRequest, unmapAddress, type ProxyRequest, type RequestRefusal } from './request.ts'
import { forwardedFields, trustList, type Hop } from './forwarded.ts'
import { createListener, type ClientResponse, type Listener } from './listen.ts'
import { Tunnels, type TunnelObserver, type TunnelTarget } from './tunnel.ts'
import { cacheStatus, sendError } from './respond.ts'

/** Start-up options beyond the config. */
export interface StartOptions {
  /** the clock policy reads, ms since the epoch (tests inject one) */
  clock?: () => number
  /** where access-log records go; undefined: none */
  accessLog?: AccessLog
  /** receives measurements (metrics) */
  observer?: Observer
  /** where upstream failures are logged (rate-limited), e.g. the pino app logger */
  log?: ProxyLog
  /** receives the open-tunnel count and one record per finished tunnel */
  tunnelObserver?: TunnelObserver
}

/** A running freshgate instance. */
export interface Freshgate {
  /** the listening server (node:http, node:http2 secure, or the h2c sniffer) */
  server: NetServer
  handler: ProxyHandler
  store: Store | undefined
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
  store: Store | undefined
  tunnels: Tunnels
}

/** Builds the proxy for a config without listening. */
export function createProxy (config: Config, opts: StartOptions = {}): Proxy {
  const clock = opts.clock ?? Date.now
  const store = createStore(config, clock)
  const cache = store === undefined ? undefined : new HttpCache(store, { maxVariants: config.cache.maxVariants, maxPurgeKeys: 100_000 })
  const handler = new ProxyHandler(config, cache, { clock, accessLog: opts.accessLog, observer: opts.observer, log: opts.log })
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
      handler.handle({ ...built.request, peerTrusted: hop.trusted, tls }, req as IncomingMessage, res as ServerResponse)
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
  const i = matchRoute(config.routes, req.authority, path)
  const origin = (i === -1 ? undefined : config.routes[i]!.origin) ?? config.origin
  if (origin === undefined) return undefined
  return { origin, host: config.hostHeader === 'origin' ? new URL(origin).host : req.authority, forwarded: forwardedFields(req, hop) }
}

/** 400 for a request the listener refused (bad Host, bad target). */
function refuse (res: ClientResponse, cacheName: string, why: RequestRefusal): void {
  sendError(res as ServerResponse, why.code, cacheStatus(cacheName, { fwd: 'bypass', detail: why.code === 'FG_BAD_HOST' ? 'bad-host' : 'bad-request' }), why.detail)
}

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
      await store?.close()
    }
  }
}
