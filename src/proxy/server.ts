// Assembles a running proxy: config → store → cache → upstream → handler → node:http server.

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Config } from '../config/schema.ts'
import { MemoryStore } from '../cache/store.ts'
import { HttpCache, type VariantSet } from '../cache/cache.ts'
import { ProxyHandler, type AccessLog, type Observer } from './handler.ts'

/** Start-up options beyond the config. */
export interface StartOptions {
  /** the clock policy reads, ms since the epoch (tests inject one) */
  clock?: () => number
  /** where access-log records go; undefined: none */
  accessLog?: AccessLog
  /** receives measurements (metrics) */
  observer?: Observer
}

/** A running freshgate instance. */
export interface Freshgate {
  server: Server
  handler: ProxyHandler
  store: MemoryStore<VariantSet> | undefined
  /** the bound address */
  address: AddressInfo
  /** base URL of the proxy, e.g. http://127.0.0.1:8080 */
  url: string
  /** stops accepting, closes idle connections, waits for in-flight requests */
  close (): Promise<void>
}

/** Builds the proxy for a config without listening. */
export function createProxy (config: Config, opts: StartOptions = {}): { server: Server, handler: ProxyHandler, store: MemoryStore<VariantSet> | undefined } {
  const clock = opts.clock ?? Date.now
  const store = config.cache.maxSize > 0
    ? new MemoryStore<VariantSet>(config.cache.maxSize, Math.min(config.cache.maxSize, config.cache.maxEntrySize * config.cache.maxVariants + 65536 * config.cache.maxVariants))
    : undefined
  const cache = store === undefined
    ? undefined
    : new HttpCache(store, { maxVariants: config.cache.maxVariants, keepStale: config.cache.keepStale, staleIfErrorGrace: config.cache.staleIfErrorGrace })
  const handler = new ProxyHandler(config, cache, clock, opts.accessLog, opts.observer)
  const server = createServer({ maxHeaderSize: config.maxHeaderSize, keepAliveTimeout: 5_000 }, handler.handle)
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
    }
  }
}
