// Cache keys: the primary key (RFC 9111 §2: method-independent target URI, with scheme and
// Host) and the Vary secondary key (§4.1) with field-value normalisation.

import { splitList } from '../http/fields.ts'
import { matchRoute, type Route, type RouteCache } from '../config/routes.ts'

/**
 * Primary cache key: scheme, authority (validated by the listener, so it holds no "/", "?", "#"
 * or "@") and the full path with query, so virtual hosts behind one origin never share entries
 * and no two (authority, path) pairs share a key.
 * https://www.rfc-editor.org/rfc/rfc9111#section-2
 */
export function primaryKey (scheme: string, authority: string, path: string): string {
  return `${scheme}://${authority.toLowerCase()}${path}`
}

/** Cache settings of requests no route matches. */
export const DEFAULT_CACHE: RouteCache = Object.freeze({ enabled: true, defaultTtl: 0, ignoreQuery: false, sortQuery: false })

/**
 * The primary key of a request target, shaped by the route it takes: one function for the proxy
 * and the admin API, so a purge names exactly the entry a request stored.
 */
export function keyFor (u: { scheme: string, authority: string, target: string }, routes: readonly Route[]): string {
  const i = matchRoute(routes, u.authority, u.target)
  return primaryKey(u.scheme, u.authority, keyPath(u.target, i === -1 ? DEFAULT_CACHE : routes[i]!.cache))
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

/** Parses a Vary value into sorted, lowercased, de-duplicated field names; `['*']` for Vary: *. */
export function varyFields (vary: string | string[] | undefined): string[] {
  const names = [...new Set(splitList(vary).map(n => n.toLowerCase()))]
  if (names.includes('*')) return ['*']
  return names.sort()
}

/** Codings a response may come in besides identity, best first: a tie in q-values goes to the earlier one. */
const PREFERENCE = ['br', 'zstd', 'gzip', 'deflate']

/**
 * The coding freshgate serves for an Accept-Encoding value (RFC 9110 §12.5.3): the acceptable
 * coding (q > 0, named or through "*", which stands only for codings not named) with the highest
 * q-value, ties going to br, zstd, gzip, deflate in that order; "identity" when none is
 * acceptable or the client names identity with a higher q-value. A malformed q-value counts as 0.
 * https://www.rfc-editor.org/rfc/rfc9110#section-12.5.3
 */
export function chosenCoding (value: string): string {
  const weights = new Map<string, number>()
  let star: number | undefined
  for (const member of splitList(value)) {
    const [raw, ...params] = member.split(';').map(s => s.trim().toLowerCase())
    const coding = raw === 'x-gzip' ? 'gzip' : raw
    if (coding === undefined || coding === '') continue
    const q = params.find(p => p.startsWith('q='))
    const w = q === undefined ? 1 : Number(q.slice(2))
    const weight = w >= 0 && w <= 1 ? w : 0
    if (coding === '*') star = weight
    else if (!weights.has(coding)) weights.set(coding, weight)
  }
  let best = 'identity'
  let bestQ = 0
  for (const c of PREFERENCE) {
    const w = weights.get(c) ?? star ?? 0
    if (w > bestQ) { best = c; bestQ = w }
  }
  const identity = weights.get('identity')
  return identity !== undefined && identity > bestQ ? 'identity' : best
}

/**
 * Normalises Accept-Encoding to the coding freshgate will serve (chosenCoding), so there is at
 * most one stored body per coding: "gzip", "gzip, deflate" and "x-gzip;q=0.8" share a variant, and
 * so do "br, gzip" and "gzip, deflate, br, zstd". The origin is asked for that one coding when the
 * cache fills (proxy/forward.ts upstreamHeaders), so a variant's body is always in the coding its
 * key names, or identity.
 */
export function normalizeAcceptEncoding (value: string): string {
  return chosenCoding(value)
}

/** Fields whose values are lists where member order carries no meaning for selection. */
const LIST_FIELDS = new Set(['accept', 'accept-charset', 'accept-language', 'cache-control', 'pragma', 'te', 'prefer'])

/**
 * Normalises one request field value for Vary matching (§4.1: "normalizing ... e.g. whitespace,
 * ordering of list members"): whitespace collapsed, list members sorted where order is not
 * significant, Accept-Encoding reduced to the accepted codings. Absent fields stay distinct from
 * empty ones.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.1
 */
export function normalizeVaryValue (field: string, value: string | string[] | undefined): string {
  if (value === undefined) return '\u0000'
  const joined = Array.isArray(value) ? value.join(', ') : value
  if (field === 'accept-encoding') return normalizeAcceptEncoding(joined)
  if (LIST_FIELDS.has(field)) return splitList(joined).map(m => m.replace(/\s*;\s*/g, ';').replace(/\s+/g, ' ')).sort().join(',')
  return joined.trim().replace(/\s+/g, ' ')
}

/** The secondary key: the normalised values of the Vary fields, in field order. '' when Vary is empty. */
export function secondaryKey (fields: readonly string[], headers: Record<string, string | string[] | undefined>): string {
  if (fields.length === 0) return ''
  let key = ''
  for (const f of fields) key += f + '=' + normalizeVaryValue(f, headers[f]) + '\n'
  return key
}

/** The field values a secondary key was built from (null: the field was absent), for inspection. */
export function varyValues (varyKey: string): Record<string, string | null> {
  const out: Record<string, string | null> = {}
  for (const line of varyKey.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1) === '\u0000' ? null : line.slice(eq + 1)
  }
  return out
}
