// Assembles a running proxy: config → store → cache → upstream → handler → listener.

import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Config } from '../config/schema.ts'
import type { Store } from '../cache/contract.ts'
import { createStore } from '../cache/stores.ts'
import { HttpCache } from '../cache/cache.ts'
import { ProxyHandler } from './handler.ts'
import type { AccessLog, Observer, ProxyLog } from './context.ts'
import type { ProxyRequest } from './request.ts'

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
}

/** A running freshgate instance. */
export interface Freshgate {
  server: Server
  handler: ProxyHandler
  store: Store | undefined
  /** the bound address */
  address: AddressInfo
  /** base URL of the proxy, e.g. http://127.0.0.1:8080 */
  url: string
  /** stops accepting, closes idle connections, waits for in-flight requests */
  close (): Promise<void>
}

/** The normalised request of an HTTP/1 request (absolute-form targets included). */
function fromHttp1 (req: IncomingMessage, defaultAuthority: string): ProxyRequest | undefined {
  let target = req.url ?? '/'
  let authority = req.headers.host
  if (target.charCodeAt(0) !== 0x2f /* / */ && target !== '*') {
    // absolute-form request target (RFC 9112 §3.2.2): the authority replaces Host.
    try {
      const u = new URL(target)
      target = u.pathname + u.search
      authority = u.host
    } catch {
      return undefined
    }
  }
  if (authority === undefined || authority === '') authority = defaultAuthority
  const ip = req.socket.remoteAddress ?? ''
  return {
    scheme: 'http',
    authority: authority.toLowerCase(),
    method: req.method ?? 'GET',
    target,
    headers: req.headers,
    clientAddress: ip.startsWith('::ffff:') ? ip.slice(7) : ip,
    httpVersion: req.httpVersion
  }
}

/** Builds the proxy for a config without listening. */
export function createProxy (config: Config, opts: StartOptions = {}): { server: Server, handler: ProxyHandler, store: Store | undefined } {
  const clock = opts.clock ?? Date.now
  const store = createStore(config, clock)
  const cache = store === undefined ? undefined : new HttpCache(store, { maxVariants: config.cache.maxVariants, maxPurgeKeys: 100_000 })
  const handler = new ProxyHandler(config, cache, { clock, accessLog: opts.accessLog, observer: opts.observer, log: opts.log })
  const defaultAuthority = config.origin === undefined ? 'localhost' : new URL(config.origin).host
  const server = createServer({ maxHeaderSize: config.maxHeaderSize, keepAliveTimeout: 5_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const preq = fromHttp1(req, defaultAuthority)
    if (preq === undefined) {
      const ip = req.socket.remoteAddress ?? ''
      return handler.reject({ scheme: 'http', authority: defaultAuthority, method: req.method ?? 'GET', target: req.url ?? '', headers: req.headers, clientAddress: ip, httpVersion: req.httpVersion }, res, 'FG_BAD_REQUEST')
    }
    handler.handle(preq, req, res)
  })
  return { server, handler, store }
}

/** Creates the proxy and listens on config.host:config.port. */
export async function startProxy (config: Config, opts: StartOptions = {}): Promise<Freshgate> {
  const { server, handler, store } = createProxy(config, opts)
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
    address,
    url: `http://${host}:${address.port}`,
    async close () {
      await new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
      await handler.close()
      await store?.close()
    }
  }
}
