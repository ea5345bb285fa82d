// Cache-Control (RFC 9111 §5.2) and Pragma (§5.4) parsing into a typed record.
// Tolerant of case, odd spacing and quoting; malformed values never throw.

import { splitList, unquote, joinField } from './fields.ts'
import { parseDeltaSeconds } from './dates.ts'

/** Parsed Cache-Control directives. Numeric directives are in seconds; absent directives are undefined/false. */
export interface CacheControl {
  /** `max-age`: in a response, its freshness lifetime; in a request, the oldest response the client accepts. */
  maxAge?: number
  /** `s-maxage`: freshness lifetime for shared caches; implies proxy-revalidate (§5.2.2.10). */
  sMaxAge?: number
  /** `max-stale`: how stale a response the client accepts; Infinity when sent without a value (§5.2.1.2). */
  maxStale?: number
  /** `min-fresh`: the client wants a response fresh for at least this long (§5.2.1.3). */
  minFresh?: number
  /** `no-cache`: a stored response must be revalidated before every use. */
  noCache: boolean
  /** `no-cache="a, b"`: only these response fields need revalidation before reuse (§5.2.2.4). */
  noCacheFields?: string[]
  /** `no-store`: do not store the request or response. */
  noStore: boolean
  /** `private`: a shared cache must not store the response (unqualified form). */
  private: boolean
  /** `private="a, b"`: a shared cache may store the response without these fields (§5.2.2.7). */
  privateFields?: string[]
  /** `public`: the response may be stored even when otherwise prohibited (e.g. with Authorization). */
  public: boolean
  /** `must-revalidate`: once stale, never served without successful revalidation. */
  mustRevalidate: boolean
  /** `proxy-revalidate`: must-revalidate for shared caches only. */
  proxyRevalidate: boolean
  /** `immutable` (RFC 8246): the representation will not change while fresh. */
  immutable: boolean
  /** `no-transform`: intermediaries must not transform the content. */
  noTransform: boolean
  /** `only-if-cached`: the client wants a stored response or a 504 (§5.2.1.7). */
  onlyIfCached: boolean
  /** `must-understand` (§5.2.2.3). */
  mustUnderstand: boolean
  /** `stale-while-revalidate` (RFC 5861 §3). */
  staleWhileRevalidate?: number
  /** `stale-if-error` (RFC 5861 §4). */
  staleIfError?: number
}

/** What a numeric directive with an invalid argument means. */
export type InvalidNumber =
  /** treat as 0: a response with an invalid max-age is stale (RFC 9111 §4.2.1, most restrictive). */
  | 'zero'
  /** ignore the directive (request directives: a malformed max-age demands nothing). */
  | 'ignore'

const EMPTY: CacheControl = Object.freeze({
  noCache: false,
  noStore: false,
  private: false,
  public: false,
  mustRevalidate: false,
  proxyRevalidate: false,
  immutable: false,
  noTransform: false,
  onlyIfCached: false,
  mustUnderstand: false
})

const NUMERIC = new Map<string, 'maxAge' | 'sMaxAge' | 'maxStale' | 'minFresh' | 'staleWhileRevalidate' | 'staleIfError'>([
  ['max-age', 'maxAge'],
  ['s-maxage', 'sMaxAge'],
  ['max-stale', 'maxStale'],
  ['min-fresh', 'minFresh'],
  ['stale-while-revalidate', 'staleWhileRevalidate'],
  ['stale-if-error', 'staleIfError']
])

/** Directives without an argument, by name: the record field each sets. */
export const FLAGS = new Map<string, 'noStore' | 'public' | 'mustRevalidate' | 'proxyRevalidate' | 'immutable' | 'noTransform' | 'onlyIfCached' | 'mustUnderstand'>([
  ['no-store', 'noStore'],
  ['public', 'public'],
  ['must-revalidate', 'mustRevalidate'],
  ['proxy-revalidate', 'proxyRevalidate'],
  ['immutable', 'immutable'],
  ['no-transform', 'noTransform'],
  ['only-if-cached', 'onlyIfCached'],
  ['must-understand', 'mustUnderstand']
])

/**
 * Parses a Cache-Control field value (or repeated field lines).
 * Directive names are case-insensitive; arguments may be tokens or quoted strings (§5.2);
 * whitespace is allowed around list members, not around "=" (the grammar has none there).
 * In a response ('zero' mode) a numeric directive that is malformed, or repeated with different
 * values, makes the response stale: §4.2.1 allows "the first occurrence ... or ... stale" for
 * duplicates and encourages treating "invalid freshness information" as stale; freshgate takes
 * the more restrictive option. In a request ('ignore' mode) a malformed directive is ignored and
 * duplicates resolve to the smallest value.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
 */
export function parseCacheControl (value: string | string[] | undefined, invalid: InvalidNumber = 'zero'): CacheControl {
  const joined = joinField(value)
  if (joined === undefined || joined.trim() === '') return EMPTY
  const cc: CacheControl = { ...EMPTY }
  for (const member of splitList(joined)) {
    const eq = member.indexOf('=')
    const rawName = eq === -1 ? member : member.slice(0, eq)
    const rawArg = eq === -1 ? undefined : member.slice(eq + 1)
    // "max-age =60" and "max-age= 60" do not fit the grammar: the argument is invalid.
    const spaced = rawArg !== undefined && (/\s$/.test(rawName) || /^\s/.test(rawArg))
    const name = rawName.trim().toLowerCase()
    const arg = rawArg === undefined ? undefined : unquote(rawArg.trim())
    const numeric = NUMERIC.get(name)
    if (numeric !== undefined) {
      let n: number | undefined
      if (arg === undefined) {
        // max-stale without a value means "any staleness" (§5.2.1.2); the others need an argument.
        n = name === 'max-stale' ? Infinity : (invalid === 'zero' ? 0 : undefined)
      } else {
        n = spaced ? undefined : parseDeltaSeconds(arg)
        if (n === undefined && invalid === 'zero') n = 0
      }
      if (n === undefined) continue
      const prev = cc[numeric]
      cc[numeric] = prev === undefined || prev === n ? n : (invalid === 'zero' ? 0 : Math.min(prev, n))
      continue
    }
    const flag = FLAGS.get(name)
    if (flag !== undefined) {
      cc[flag] = true
      continue
    }
    if (name === 'no-cache' || name === 'private') {
      const fields = arg === undefined ? undefined : splitList(arg).map(f => f.toLowerCase())
      const qualified = fields !== undefined && fields.length > 0
      if (name === 'no-cache') {
        if (qualified && !cc.noCache) cc.noCacheFields = [...(cc.noCacheFields ?? []), ...fields]
        else { cc.noCache = true; delete cc.noCacheFields }
      } else {
        if (qualified && !cc.private) cc.privateFields = [...(cc.privateFields ?? []), ...fields]
        else { cc.private = true; delete cc.privateFields }
      }
    }
    // Unknown directives are ignored (§5.2.3).
  }
  return cc
}

/**
 * Whether a request carries `Pragma: no-cache` that counts: only when there is no Cache-Control
 * field at all (RFC 9111 §5.4, RFC 9110 §5.4 deprecates Pragma but caches still honour it).
 * https://www.rfc-editor.org/rfc/rfc9111#section-5.4
 */
export function pragmaNoCache (pragma: string | string[] | undefined, cacheControl: string | string[] | undefined): boolean {
  if (cacheControl !== undefined || pragma === undefined) return false
  return splitList(pragma).some(d => d.toLowerCase() === 'no-cache')
}
