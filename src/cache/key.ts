// Cache keys: the primary key (RFC 9111 §2: method-independent target URI, with scheme and
// Host) and the Vary secondary key (§4.1) with field-value normalisation.

import { splitList, splitParameters, normalizeWhitespace } from '../http/fields.ts'
import { normalizeAcceptList, parseWeight } from '../http/negotiation.ts'
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

/** What shapes keys besides the request: the routes, and the query parameters every key drops. */
export interface KeyConfig {
  routes: readonly Route[]
  cache: { ignoreQuery: readonly string[] }
}

/**
 * The primary key of a request target, shaped by the route it takes: one function for the proxy
 * and the admin API, so a purge names exactly the entry a request stored.
 */
export function keyFor (u: { scheme: string, authority: string, target: string }, config: KeyConfig): string {
  const i = matchRoute(config.routes, u.authority, u.target)
  return keyOnRoute(u, i === -1 ? DEFAULT_CACHE : config.routes[i]!.cache, config)
}

/** keyFor when the route is already known (the proxy matched it to pick the origin). */
export function keyOnRoute (u: { scheme: string, authority: string, target: string }, route: RouteCache, config: KeyConfig): string {
  return primaryKey(u.scheme, u.authority, keyPath(u.target, route, config.cache.ignoreQuery))
}

/**
 * True when a query parameter name is one of `patterns`: an exact name, or a glob where `*`
 * stands for any run of characters (`utm_*`).
 */
export function paramMatches (name: string, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (!p.includes('*')) {
      if (p === name) return true
      continue
    }
    const parts = p.split('*')
    const first = parts[0]!
    const last = parts[parts.length - 1]!
    if (!name.startsWith(first) || !name.endsWith(last) || name.length < first.length + last.length) continue
    let at = first.length
    const end = name.length - last.length
    let ok = true
    for (const mid of parts.slice(1, -1)) {
      const i = name.indexOf(mid, at)
      if (i === -1 || i + mid.length > end) { ok = false; break }
      at = i + mid.length
    }
    if (ok) return true
  }
  return false
}

/** The path used in the cache key: query removed, filtered (names or globs) or sorted as the route says. */
export function keyPath (path: string, cache: RouteCache, dropEverywhere: readonly string[] = []): string {
  const q = path.indexOf('?')
  if (q === -1 || (cache.ignoreQuery === false && !cache.sortQuery && dropEverywhere.length === 0)) return path
  if (cache.ignoreQuery === true) return path.slice(0, q)
  let params = new URLSearchParams(path.slice(q + 1))
  const drop = Array.isArray(cache.ignoreQuery) ? [...dropEverywhere, ...cache.ignoreQuery] : dropEverywhere
  if (drop.length > 0) params = new URLSearchParams([...params].filter(([name]) => !paramMatches(name, drop)))
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
    const [raw, ...params] = splitParameters(member).map(s => s.toLowerCase())
    const coding = raw === 'x-gzip' ? 'gzip' : raw
    if (coding === undefined || coding === '') continue
    // A weight that is not a qvalue counts as 0 (refused).
    const q = params.find(p => /^q\s*=/.test(p))
    const weight = q === undefined ? 1 : (parseWeight(q.slice(q.indexOf('=') + 1).trim()) ?? 0)
    // A coding listed twice counts with its lowest weight, so member order never matters.
    if (coding === '*') star = Math.min(star ?? 1, weight)
    else weights.set(coding, Math.min(weights.get(coding) ?? 1, weight))
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

/** Accept-* fields whose members are case-insensitive and whose order carries the client's tie-break. */
const ACCEPT_LISTS = new Set(['accept', 'accept-charset', 'accept-language'])

/**
 * Normalises one request field value for Vary matching, by what the field means (§4.1 allows
 * "normalizing both header field values in a way that is known to have identical semantics"):
 * - Accept-Encoding: the set of accepted codings;
 * - Accept, Accept-Charset, Accept-Language: whitespace and case folded, weights canonical, and
 *   members kept in the client's order (origins break ties by it: "fr, en" ≢ "en, fr");
 * - any other field: whitespace only, case and order kept (freshgate does not know its grammar).
 * Absent fields stay distinct from empty ones (and from every present value).
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.1
 */
export function normalizeVaryValue (field: string, value: string | string[] | undefined): string {
  if (value === undefined) return '\u0000'
  // RFC 9110 §5.5: a recipient MAY replace NUL, CR and LF in a field value with SP; done here so a
  // value can never equal the absent marker nor forge a line of the secondary key.
  const joined = (Array.isArray(value) ? value.join(', ') : value).replace(/[\u0000\r\n]/g, ' ')
  if (field === 'accept-encoding') return normalizeAcceptEncoding(joined)
  if (ACCEPT_LISTS.has(field)) return normalizeAcceptList(joined)
  return normalizeWhitespace(joined)
}

/** The prefix of a secondary-key field that stands for one request cookie (cache.keyCookies). */
export const COOKIE_FIELD = 'cookie:'

/**
 * The fields a stored response is selected by: its Vary fields plus the operator's key headers
 * and cookies (cache.keyHeaders, cache.keyCookies), so responses that differ by them are kept as
 * variants of one URL and a purge of the URL removes them all. `Vary: *` stays `*`.
 */
export function keyFields (vary: readonly string[], keyHeaders: readonly string[], keyCookies: readonly string[]): string[] {
  if (vary[0] === '*' || (keyHeaders.length === 0 && keyCookies.length === 0)) return [...vary]
  return [...new Set([...vary, ...keyHeaders, ...keyCookies.map(c => COOKIE_FIELD + c)])].sort()
}

/** The value of one cookie in a Cookie field (RFC 6265 §5.4: "; "-separated pairs), names case-insensitive; undefined when absent. */
export function cookieValue (cookie: string | string[] | undefined, name: string): string | undefined {
  if (cookie === undefined) return undefined
  for (const line of Array.isArray(cookie) ? cookie : [cookie]) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=')
      if (eq !== -1 && pair.slice(0, eq).trim().toLowerCase() === name) return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

/** The secondary key: the normalised values of the Vary fields (and key cookies), in field order. '' when Vary is empty. */
export function secondaryKey (fields: readonly string[], headers: Record<string, string | string[] | undefined>): string {
  if (fields.length === 0) return ''
  let key = ''
  for (const f of fields) {
    const v = f.startsWith(COOKIE_FIELD) ? cookieValue(headers.cookie, f.slice(COOKIE_FIELD.length)) : headers[f]
    key += f + '=' + normalizeVaryValue(f, v) + '\n'
  }
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

/** True when a request matches a stored secondary key on every Vary field but `except`. */
export function matchesExcept (fields: readonly string[], varyKey: string, headers: Record<string, string | string[] | undefined>, except: string): boolean {
  const others = fields.filter(f => f !== except)
  const stored = varyKey.split('\n').filter(line => !line.startsWith(except + '=')).join('\n')
  return secondaryKey(others, headers) === (others.length === 0 ? '' : stored)
}
