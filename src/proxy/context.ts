// What every part of the request flow shares: the per-request context, the runtime the handler
// hands down (config, cache, clock, observers), and the measurement and logging interfaces.
// Types and plain data only: every proxy module may import it, and it imports none of them.

import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { Config } from '../config/schema.ts'
import type { CacheControl } from '../http/cache-control.ts'
import type { HttpCache } from '../cache/cache.ts'
import type { EntryOptions } from '../cache/entry.ts'
import type { ErrorCode } from '../errors.ts'
import type { Collapser } from './collapse.ts'
import type { ResolvedRoute } from './router.ts'
import type { ProxyRequest } from './request.ts'
import type { Forward } from '../cache/plan.ts'
import type { BufferBudget } from './exchange.ts'
import type { Route } from '../config/routes.ts'

export type { Forward } from '../cache/plan.ts'

/** One access-log record. */
export interface AccessRecord {
  /** the client's X-Request-Id, or a new random id */
  id: string
  method: string
  url: string
  host: string
  status: number
  /** our Cache-Status member */
  cache: string
  /** body bytes sent to the client */
  bytes: number
  /** ms from arrival to the last byte handed to the socket */
  ms: number
  /** ms until the upstream response head arrived, when the request went upstream */
  upstreamMs?: number
  /** the upstream response status, when the request went upstream */
  upstreamStatus?: number
  /** the client's address */
  client: string
  /** "HTTP/1.1", "HTTP/2", … */
  protocol: string
  userAgent?: string
  referer?: string
}

/** Where access-log records go. */
export type AccessLog = (r: AccessRecord) => void

/** How a request was answered, for metrics. */
export type ServedKind =
  /** a fresh (or client-accepted stale) stored response */
  | 'hit'
  /** a stale stored response: stale-while-revalidate or stale-if-error */
  | 'stale'
  /** a stored response validated by the origin (304 folded) */
  | 'revalidated'
  /** fetched from the origin for the cache (stored or not) */
  | 'miss'
  /** passed through without the cache (unsafe method, bypass, Range) */
  | 'pass'
  /** answered from another request's upstream exchange */
  | 'collapsed'
  /** answered with an error of freshgate's own (4xx/5xx) */
  | 'error'

/** What the observer hears of a finished client response (logDone builds it once per request). */
export interface ServedFacts {
  /** seconds from arrival to the last byte handed to the socket */
  seconds: number
  /** body bytes sent */
  bytes: number
  /** our Cache-Status member ('' for answers of our own without one) */
  cache: string
  /** primary cache key ('' when the request could not be keyed) */
  key: string
  method: string
  /** the configured route taken; undefined for the top-level origin or no route */
  route: Route | undefined
}

/** Receives measurements; the metrics module implements it. Calls are cheap and synchronous. */
export interface Observer {
  /** a response was sent to a client */
  served (kind: ServedKind, status: number, facts: ServedFacts): void
  /** an upstream response head arrived after `seconds` */
  upstream (status: number, seconds: number): void
  /** an upstream exchange failed */
  upstreamError (code: ErrorCode): void
}

/** Cache-Status parameters for a stored response being served. */
export interface CacheStatusParts {
  hit?: boolean
  fwd?: Forward
  fwdStatus?: number
  stored?: boolean
  collapsed?: boolean
  detail?: string
}

/** Everything a request needs to know about itself; one allocation per request. */
export interface Ctx {
  /** the normalised request (protocol-independent) */
  readonly preq: ProxyRequest
  /** the client request's body stream (node:http or node:http2 compat request) */
  readonly body: Readable | undefined
  /** undefined for background fetches, which have no client */
  res: ServerResponse | undefined
  /** the method this context sends upstream (a background fill of a HEAD is a GET) */
  method: string
  /** primary cache key ('' when the request cannot be keyed) */
  key: string
  /** the route taken (undefined only while answering FG_NO_ROUTE / FG_BAD_HOST) */
  route: ResolvedRoute
  /** performance.now() at arrival */
  start: number
  /** body bytes sent to the client (for the access log) */
  bytes: number
  /** ms until the upstream head arrived, when the request went upstream */
  upstreamMs: number | undefined
  /** the upstream response status, when the request went upstream */
  upstreamStatus: number | undefined
  /** the request was logged and counted (once only) */
  logged: boolean
  reqCC: CacheControl
  pragma: boolean
}

/** Where the proxy writes warnings (pino's shape: fields first, then the message). */
export interface ProxyLog {
  warn (fields: Record<string, unknown>, msg: string): void
  debug (fields: Record<string, unknown>, msg: string): void
}

/** What the handler hands to the parts that carry out its plans. Read-only for them. */
export interface Runtime {
  readonly config: Config
  readonly cache: HttpCache | undefined
  readonly collapser: Collapser | undefined
  readonly clock: () => number
  readonly entryOptions: EntryOptions
  readonly observer: Observer | undefined
  readonly accessLog: AccessLog | undefined
  /** response bytes buffered for slow clients, shared by every exchange */
  readonly buffers: BufferBudget
  /** application log for upstream failures and internal errors; rate-limited by the caller */
  readonly log: ProxyLog | undefined
  /** "<name>; hit; ttl=", prebuilt for the plain hit */
  readonly hitStatus: string
}
