// Routing: picks the route for a request (Host exact or wildcard, then path prefix; first match
// wins, config/routes.ts), and owns one upstream pool per origin.

import type { Config } from '../config/schema.ts'
import { matchRoute, routeSettings, type Route, type RouteOverridable } from '../config/routes.ts'
import type { FieldRules } from '../config/headers.ts'
import { rulesFor } from './rewrite.ts'
import { DEFAULT_CACHE } from '../cache/key.ts'
import { Upstream } from './upstream.ts'

/** A route with its upstream pool. */
export interface ResolvedRoute {
  route: Route
  upstream: Upstream
  /** host[:port] of the route's origin, for Host rewriting */
  originHost: string
  /** the configured route; undefined for the top-level origin (metrics label it "default") */
  configured: Route | undefined
  /** the route's cache settings over the global ones, merged once per config */
  settings: RouteOverridable
  /** the operator's header rules for requests sent upstream and responses sent to clients, global first */
  requestRules: FieldRules[]
  responseRules: FieldRules[]
}


/** Matches requests to routes. */
export class Router {
  readonly #routes: ResolvedRoute[]
  readonly #fallback: ResolvedRoute | undefined
  readonly #pools: Map<string, Upstream>
  readonly #config: Config

  /** @param pools upstream pools to reuse (on reload), keyed by origin */
  constructor (config: Config, pools = new Map<string, Upstream>()) {
    this.#pools = pools
    this.#config = config
    const resolve = (route: Route, configured: boolean): ResolvedRoute => {
      const origin = route.origin ?? config.origin!
      let upstream = this.#pools.get(origin)
      if (upstream === undefined) this.#pools.set(origin, upstream = new Upstream(config, origin))
      else upstream.configure(config)
      return {
        route,
        upstream,
        originHost: new URL(origin).host,
        configured: configured ? route : undefined,
        settings: routeSettings(config.cache, route.cache),
        requestRules: rulesFor(config.headers, route.headers, 'request'),
        responseRules: rulesFor(config.headers, route.headers, 'response')
      }
    }
    this.#routes = config.routes.map(r => resolve(r, true))
    this.#fallback = config.origin === undefined ? undefined : resolve({ prefix: '/', origin: config.origin, cache: DEFAULT_CACHE }, false)
  }

  /** The first route whose host and prefix match; the top-level origin otherwise; undefined: 404. */
  match (host: string, path: string): ResolvedRoute | undefined {
    const i = matchRoute(this.#config.routes, host, path)
    return i === -1 ? this.#fallback : this.#routes[i]
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
