// Routing: picks the route for a request (Host exact or wildcard, then path prefix; first match
// wins), owns one upstream pool per origin, and shapes the cache key's path per route.

import type { Config } from '../config/schema.ts'
import type { Route, RouteCache } from '../config/routes.ts'
import { Upstream } from './upstream.ts'

/** A route with its upstream pool. */
export interface ResolvedRoute {
  route: Route
  upstream: Upstream
  /** host[:port] of the route's origin, for Host rewriting */
  originHost: string
}

/** The route every request takes when no routes are configured. */
const DEFAULT_CACHE: RouteCache = Object.freeze({ enabled: true, defaultTtl: 0, ignoreQuery: false, sortQuery: false })

/** Matches requests to routes. */
export class Router {
  readonly #routes: ResolvedRoute[]
  readonly #fallback: ResolvedRoute | undefined
  readonly #pools: Map<string, Upstream>

  /** @param pools upstream pools to reuse (on reload), keyed by origin */
  constructor (config: Config, pools = new Map<string, Upstream>()) {
    this.#pools = pools
    const resolve = (route: Route): ResolvedRoute => {
      const origin = route.origin ?? config.origin!
      let upstream = this.#pools.get(origin)
      if (upstream === undefined) this.#pools.set(origin, upstream = new Upstream(config, origin))
      else upstream.configure(config)
      return { route, upstream, originHost: new URL(origin).host }
    }
    this.#routes = config.routes.map(resolve)
    this.#fallback = config.origin === undefined ? undefined : resolve({ prefix: '/', origin: config.origin, cache: DEFAULT_CACHE })
  }

  /** The first route whose host and prefix match; the top-level origin otherwise; undefined: 404. */
  match (host: string, path: string): ResolvedRoute | undefined {
    for (const r of this.#routes) {
      if (r.route.host !== undefined && !hostMatches(r.route.host, host)) continue
      if (!path.startsWith(r.route.prefix)) continue
      return r
    }
    return this.#fallback
  }

  /** The pools in use, for reuse by the next Router after a reload. */
  pools (): Map<string, Upstream> {
    return this.#pools
  }

  /** Closes pools no longer used by `next` (after a reload), or all of them. */
  async close (next?: Router): Promise<void> {
    const keep = new Set(next === undefined ? [] : [...next.#routes, ...(next.#fallback === undefined ? [] : [next.#fallback])].map(r => r.upstream))
    const closing = [...this.#pools].filter(([, u]) => !keep.has(u))
    // Forget them first: a later reload naming the same origin gets a new pool, not a closed one.
    for (const [origin] of closing) this.#pools.delete(origin)
    await Promise.all(closing.map(([, u]) => u.close()))
  }
}

/** Exact host (port optional unless the pattern has one) or "*.suffix" wildcard matching. */
export function hostMatches (pattern: string, host: string): boolean {
  const h = host.toLowerCase()
  const bare = pattern.includes(':') ? h : h.replace(/:\d+$/, '')
  if (pattern.startsWith('*.')) return bare.endsWith(pattern.slice(1)) && bare.length > pattern.length - 1
  return bare === pattern
}

/** The path used in the cache key: query removed, filtered or sorted as the route says. */
export function keyPath (path: string, cache: RouteCache): string {
  const q = path.indexOf('?')
  if (q === -1 || (cache.ignoreQuery === false && !cache.sortQuery)) return path
  if (cache.ignoreQuery === true) return path.slice(0, q)
  const params = new URLSearchParams(path.slice(q + 1))
  if (Array.isArray(cache.ignoreQuery)) for (const p of cache.ignoreQuery) params.delete(p)
  if (cache.sortQuery) params.sort()
  const rest = params.toString()
  return rest === '' ? path.slice(0, q) : `${path.slice(0, q)}?${rest}`
}
