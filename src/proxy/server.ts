// Assembles a running proxy: config → store → cache → upstream → handler, behind the listener
// (HTTP/1.1, TLS with h2, or h2c) that builds the normalised request, and the upgrade tunnels.

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Server as NetServer, Socket } from 'node:net'
import type { Config } from '../config/schema.ts'
import { matchRoute } from '../config/routes.ts'
import type { Store } from '../cache/contract.ts'
import { createStore } from '../store/stores.ts'
import { openTiers, type Tiers } from '../store/tiers.ts'
import { TieredStore } from '../store/tiered-store.ts'
import type { RedisStore } from '../store/redis-store.ts'
import { HttpCache, type Purge } from '../cache/cache.ts'
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
  /**
   * Carries this process's purges to its sibling workers (cluster IPC, admin/cluster.ts); used
   * when there is no shared tier, which carries them otherwise.
   */
  announce?: (p: Purge) => Promise<void>
}

/** A running freshgate instance. */
export interface Freshgate {
  /** the listening server (node:http, node:http2 secure, or the h2c sniffer) */
  server: NetServer
  handler: ProxyHandler
  store: Store | undefined
  /** the shared (Redis/Valkey) tier, when store.shared is set: its state and counters */
  shared: RedisStore | undefined
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
  shared: RedisStore | undefined
  tunnels: Tunnels
}

/** Most keys a prefix, path or pattern purge visits. */
const MAX_PURGE_KEYS = 100_000

/** The cache over the tiers: a second tier adds reloads on Vary misses, and a shared one invalidations, SCAN and fill locks. */
function cacheFor (config: Config, tiers: Tiers, announce: StartOptions['announce']): HttpCache | undefined {
  const { store, shared } = tiers
  if (store === undefined) return undefined
  const tiered = store instanceof TieredStore ? store : undefined
  const opts = { maxVariants: config.cache.maxVariants, maxPurgeKeys: MAX_PURGE_KEYS }
  if (tiered === undefined || shared === undefined) return new HttpCache(store, { ...opts, reload: tiered === undefined ? undefined : async k => await tiered.refresh(k), announce })
  // Another replica's purge: it already purged the shared tier, so only this L1 is left.
  shared.onInvalidation(msg => { void tiered.dropLocal(msg) })
  return new HttpCache(store, {
    ...opts,
    reload: async k => await tiered.refresh(k),
    scanKeys: async (prefix, limit) => {
      const [local, remote] = await Promise.all([tiered.l1.keys(limit), shared.scanKeys(prefix, limit)])
      return [...new Set([...local.filter(k => k.startsWith(prefix)), ...remote])].slice(0, limit)
    },
    announce: async p => { await shared.publishInvalidation(p) },
    locks: shared
  })
}

/**
 * Builds the proxy for a config without listening. Without `tiers` the store is memory alone
 * (startProxy opens the configured tiers).
 */
export function createProxy (config: Config, opts: StartOptions = {}, tiers?: Tiers): Proxy {
  const clock = opts.clock ?? Date.now
  const { store, shared } = tiers ?? { store: createStore(config, clock), shared: undefined }
  const cache = cacheFor(config, { store, shared }, opts.announce)
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
      handler.handle(built.request, req as IncomingMessage, res as ServerResponse)
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
  return { server: listener.server, listener, handler, store, shared, tunnels }
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

/**
 * Opens the configured store tiers, creates the proxy and listens on config.host:config.port.
 * A bad store setting rejects with a ConfigError naming the key; an unreachable shared tier does
 * not: the proxy starts without it and it joins when it answers.
 */
export async function startProxy (config: Config, opts: StartOptions = {}): Promise<Freshgate> {
  const tiers = await openTiers(config, opts.clock ?? Date.now)
  const { server, listener, handler, store, shared, tunnels } = createProxy(config, opts, tiers)
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => { server.off('error', reject); resolve() })
    })
  } catch (err) {
    await Promise.all([handler.close(), store?.close()])
    throw err
  }
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    server,
    handler,
    store,
    shared,
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
