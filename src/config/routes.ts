// The `routes` option: Host (exact or wildcard) and path prefix mapped to an origin, each with its
// own cache settings. Validated strictly, like every other option.

import { ConfigError } from '../errors.ts'
import { isToken } from '../http/fields.ts'
import { parseTtlTable, type TtlTable } from '../cache/overrides.ts'
import { parseHeaderRules, type HeaderRules } from './headers.ts'

/** Cache settings of one route. */
export interface RouteCache {
  /** false: requests on this route pass through without the cache (Cache-Status fwd=bypass) */
  enabled: boolean
  /** freshness in ms given to responses that carry no explicit freshness or validator-based heuristic; 0 = off */
  defaultTtl: number
  /** drop the query from the cache key (true), or drop only the named parameters (exact names or globs such as "utm_*") */
  ignoreQuery: boolean | string[]
  /** sort query parameters in the cache key, so ?a=1&b=2 and ?b=2&a=1 share an entry */
  sortQuery: boolean
  /** the route's cache.ignoreClientNoCache; undefined follows the global option */
  ignoreClientNoCache?: boolean
  /** the route's cache.requestCookies; undefined follows the global option */
  requestCookies?: 'store' | 'pass'
  /** the route's cache.overrideTtl; undefined follows the global option */
  overrideTtl?: TtlTable
  /** the route's cache.minTtl; undefined follows the global option */
  minTtl?: TtlTable
  /** the route's cache.maxTtl; undefined follows the global option */
  maxTtl?: TtlTable
  /** the route's cache.keyHeaders; undefined follows the global option */
  keyHeaders?: string[]
  /** the route's cache.keyCookies; undefined follows the global option */
  keyCookies?: string[]
}

/** The global options a route may set for itself. */
export type RouteOverridable = Pick<Required<RouteCache>, 'ignoreClientNoCache' | 'requestCookies' | 'overrideTtl' | 'minTtl' | 'maxTtl' | 'keyHeaders' | 'keyCookies'>

/** A route's cache settings with the global options it does not set filled in. */
export function routeSettings (global: RouteOverridable, route: RouteCache): RouteOverridable {
  return {
    ignoreClientNoCache: route.ignoreClientNoCache ?? global.ignoreClientNoCache,
    requestCookies: route.requestCookies ?? global.requestCookies,
    overrideTtl: route.overrideTtl ?? global.overrideTtl,
    minTtl: route.minTtl ?? global.minTtl,
    maxTtl: route.maxTtl ?? global.maxTtl,
    keyHeaders: route.keyHeaders ?? global.keyHeaders,
    keyCookies: route.keyCookies ?? global.keyCookies
  }
}

/** One route. */
export interface Route {
  /** exact host ("api.example.com") or wildcard ("*.example.com"); undefined matches any host */
  host?: string
  /** path prefix, default "/" */
  prefix: string
  /** origin URL (scheme://host:port); undefined uses the top-level origin */
  origin?: string
  cache: RouteCache
  /** header rewriting for this route, applied after the global rules */
  headers?: HeaderRules
}

const ROUTE_KEYS = new Set(['host', 'prefix', 'origin', 'cache', 'headers'])
const CACHE_KEYS = new Set(['enabled', 'defaultTtl', 'ignoreQuery', 'sortQuery', 'ignoreClientNoCache', 'requestCookies', 'overrideTtl', 'minTtl', 'maxTtl', 'keyHeaders', 'keyCookies'])

/** Validates the raw `routes` value (a YAML/JSON list, or JSON text from env/flags). */
export function parseRoutes (raw: unknown, source: string, seconds: (v: unknown, key: string) => number): Route[] {
  const where = (i: number, k?: string): string => `routes[${i}]${k === undefined ? '' : '.' + k} (${source})`
  let list = raw
  if (typeof raw === 'string') {
    try { list = JSON.parse(raw) } catch { throw new ConfigError(`routes (${source})`, raw, 'a JSON list of routes') }
  }
  if (!Array.isArray(list)) throw new ConfigError(`routes (${source})`, raw, 'a list of routes')
  return list.map((r: unknown, i): Route => {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ConfigError(where(i), r, 'a mapping with host, prefix, origin, cache, headers')
    const o = r as Record<string, unknown>
    for (const k of Object.keys(o)) if (!ROUTE_KEYS.has(k)) throw new ConfigError(where(i, k), o[k], `one of ${[...ROUTE_KEYS].join(', ')}`)
    if (o.host !== undefined && (typeof o.host !== 'string' || !/^(\*\.)?[a-z0-9.-]+(:\d+)?$/i.test(o.host))) {
      throw new ConfigError(where(i, 'host'), o.host, 'a host name such as "api.example.com" or "*.example.com"')
    }
    const prefix = o.prefix ?? '/'
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) throw new ConfigError(where(i, 'prefix'), o.prefix, 'a path prefix starting with "/"')
    let origin: string | undefined
    if (o.origin !== undefined) {
      let u: URL | undefined
      try { u = typeof o.origin === 'string' ? new URL(o.origin) : undefined } catch { u = undefined }
      if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search !== '') {
        throw new ConfigError(where(i, 'origin'), o.origin, 'an http:// or https:// URL without a path')
      }
      origin = u.origin
    }
    const c = (o.cache ?? {}) as Record<string, unknown>
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new ConfigError(where(i, 'cache'), o.cache, `a mapping with ${[...CACHE_KEYS].join(', ')}`)
    for (const k of Object.keys(c)) if (!CACHE_KEYS.has(k)) throw new ConfigError(where(i, `cache.${k}`), c[k], `one of ${[...CACHE_KEYS].join(', ')}`)
    const bool = (k: string, dflt: boolean): boolean => {
      const v = c[k] ?? dflt
      if (typeof v !== 'boolean') throw new ConfigError(where(i, `cache.${k}`), v, 'true or false')
      return v
    }
    const iq = c.ignoreQuery ?? false
    if (typeof iq !== 'boolean' && !(Array.isArray(iq) && iq.every(p => typeof p === 'string' && p !== ''))) {
      throw new ConfigError(where(i, 'cache.ignoreQuery'), iq, 'true, false or a list of query parameter names or globs ("utm_*")')
    }
    const names = (k: string, what: string): { [k: string]: string[] } => {
      const v = c[k]
      if (v === undefined) return {}
      if (!Array.isArray(v) || !v.every(n => typeof n === 'string' && isToken(n))) throw new ConfigError(where(i, `cache.${k}`), v, `a list of ${what}`)
      return { [k]: v.map(n => (n as string).toLowerCase()) }
    }
    const rc = c.requestCookies
    if (rc !== undefined && rc !== 'store' && rc !== 'pass') throw new ConfigError(where(i, 'cache.requestCookies'), rc, '"store" or "pass"')
    const ttls = (k: string): { [k: string]: TtlTable } => c[k] === undefined
      ? {}
      : { [k]: parseTtlTable(c[k], (v, key) => seconds(v, key), (key, v) => { throw new ConfigError(`${key} (${source})`, v, 'a mapping of status codes ("200", "404") or "any" to durations') }, `routes[${i}].cache.${k}`) }
    return {
      ...(o.host === undefined ? {} : { host: (o.host as string).toLowerCase() }),
      prefix,
      ...(origin === undefined ? {} : { origin }),
      ...(o.headers === undefined ? {} : { headers: parseHeaderRules(o.headers, `routes[${i}].headers`, ` (${source})`) }),
      cache: {
        enabled: bool('enabled', true),
        defaultTtl: c.defaultTtl === undefined ? 0 : seconds(c.defaultTtl, `routes[${i}].cache.defaultTtl`),
        ignoreQuery: iq as boolean | string[],
        sortQuery: bool('sortQuery', false),
        ...(c.ignoreClientNoCache === undefined ? {} : { ignoreClientNoCache: bool('ignoreClientNoCache', false) }),
        ...(rc === undefined ? {} : { requestCookies: rc }),
        ...ttls('overrideTtl'),
        ...ttls('minTtl'),
        ...ttls('maxTtl'),
        ...names('keyHeaders', 'request field names'),
        ...names('keyCookies', 'cookie names')
      }
    }
  })
}

/** Exact host (port optional unless the pattern has one) or "*.suffix" wildcard matching. */
export function hostMatches (pattern: string, host: string): boolean {
  const h = host.toLowerCase()
  const bare = pattern.includes(':') ? h : h.replace(/:\d+$/, '')
  if (pattern.startsWith('*.')) return bare.endsWith(pattern.slice(1)) && bare.length > pattern.length - 1
  return bare === pattern
}

/** The index of the first route whose host and path prefix match, or -1 (the default origin). */
export function matchRoute (routes: readonly Route[], host: string, path: string): number {
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!
    if (r.host !== undefined && !hostMatches(r.host, host)) continue
    if (!path.startsWith(r.prefix)) continue
    return i
  }
  return -1
}
