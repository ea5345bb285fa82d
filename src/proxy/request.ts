// The normalised request: what the listener (HTTP/1.1, HTTP/2, TLS or not) hands the handler.
// Nothing below the listener reads the Host header or assumes a scheme.

import type { IncomingHttpHeaders } from 'node:http'
import { isIPv4, isIPv6 } from 'node:net'

/** One client request, independent of the protocol it arrived on. */
export interface ProxyRequest {
  /** the scheme the client used to reach freshgate (or a trusted proxy in front of it) */
  scheme: 'http' | 'https'
  /** validated, lowercased host[:port] (RFC 3986 §3.2.2-3); the default port is omitted */
  authority: string
  /** request method, as sent (methods are case-sensitive, RFC 9110 §9.1) */
  method: string
  /** origin-form target: normalised path plus "?query" when present, or "*" (OPTIONS *) */
  target: string
  /** request fields with lowercased names, without pseudo-headers; a Host field is the client's as sent (use `authority`) */
  headers: IncomingHttpHeaders
  /** the peer's address (IPv4-mapped IPv6 addresses unmapped) */
  clientAddress: string
  /** protocol version for Via: "1.0", "1.1" or "2" */
  httpVersion: string
  /**
   * A request body follows. HTTP/1.1: Content-Length above 0 or Transfer-Encoding (RFC 9112 §6.3);
   * HTTP/2: the HEADERS frame did not end the stream (RFC 9113 §8.1), with or without Content-Length.
   */
  hasBody: boolean
  /** the peer is in trustProxy: its forwarding fields are believed (forwarded.ts) */
  peerTrusted: boolean
  /** the connection to freshgate is TLS */
  tls: boolean
}

/** The parts of a node:http IncomingMessage or node:http2 Http2ServerRequest the listener reads. */
export interface NodeRequestLike {
  method?: string
  url?: string
  httpVersion: string
  headers: IncomingHttpHeaders
  /** name, value, name, value…; repeated fields stay separate here, unlike `headers` */
  rawHeaders: string[]
  /** HTTP/2 only: the stream, whose `endAfterHeaders` says no body follows */
  stream?: { endAfterHeaders: boolean }
}

/** What the listener knows about the connection a request arrived on. */
export interface ConnectionFacts {
  /** the connection to freshgate is TLS */
  tls: boolean
  /** the peer's address as the socket reports it */
  peer: string
  /** the peer is in trustProxy: its X-Forwarded-Proto is believed */
  trusted: boolean
}

/** Listener settings the builder needs. */
export interface RequestSettings {
  /** authority used when the request names none (HTTP/1.0 without Host): the origin's host */
  defaultAuthority: string
}

/** Why a request was refused before the handler saw it. */
export interface RequestRefusal {
  code: 'FG_BAD_HOST' | 'FG_BAD_REQUEST'
  /** a short reason, safe to echo to the client */
  detail: string
}

/** ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3). */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/
/** A reg-name restricted to unreserved characters: see `parseAuthority`. */
const REG_NAME = /^[a-z0-9\-._~]+$/
const PORT = /^\d{0,5}$/
/** Control characters, space, DEL and "#": never valid in a request target (RFC 9112 §3.2). */
const TARGET_FORBIDDEN = /[\u0000-\u0020\u007f#]/

/**
 * Parses and normalises an authority (host[:port], RFC 3986 §3.2.2-3) for `scheme`: lowercased,
 * the scheme's default port and an empty port omitted, leading zeros of the port dropped.
 * Returns undefined for anything else: userinfo, a path, query or fragment, spaces, an empty host,
 * a port past 65535, a bracketed literal that is not IPv6.
 *
 * Deliberate deviation: a reg-name may only hold unreserved characters. RFC 3986 also allows
 * sub-delims and percent-encodings, which no DNS name uses; accepting them would only let a client
 * mint more cache keys for one origin.
 */
export function parseAuthority (raw: string, scheme: 'http' | 'https'): string | undefined {
  // Clients send the same Host on request after request: the last answer is kept.
  if (raw === lastAuthority.raw && scheme === lastAuthority.scheme) return lastAuthority.parsed
  const parsed = parseAuthorityText(raw, scheme)
  lastAuthority = { raw, scheme, parsed }
  return parsed
}

/** The last authority parsed (a one-entry memo: parseAuthority is pure). */
let lastAuthority: { raw: string, scheme: 'http' | 'https', parsed: string | undefined } = { raw: '', scheme: 'http', parsed: undefined }

function parseAuthorityText (raw: string, scheme: 'http' | 'https'): string | undefined {
  const text = raw.toLowerCase()
  let host: string
  let port: string | undefined
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close === -1) return undefined
    host = text.slice(0, close + 1)
    const rest = text.slice(close + 1)
    if (rest !== '' && !rest.startsWith(':')) return undefined
    port = rest === '' ? undefined : rest.slice(1)
    // IPvFuture ("[v1.x]") is grammar but no client sends it; zone ids are not URI syntax.
    if (!isIPv6(host.slice(1, -1))) return undefined
  } else {
    const colon = text.indexOf(':')
    host = colon === -1 ? text : text.slice(0, colon)
    port = colon === -1 ? undefined : text.slice(colon + 1)
    if (!REG_NAME.test(host)) return undefined
  }
  if (port === undefined || port === '') return host
  if (!PORT.test(port)) return undefined
  const n = Number(port)
  if (n > 65535) return undefined
  if ((scheme === 'http' && n === 80) || (scheme === 'https' && n === 443)) return host
  return `${host}:${n}`
}

/**
 * Normalises a path, the one rule used for route matching, the cache key and the request sent
 * upstream (README "Paths"):
 * 1. percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2), and so is %2F: an
 *    encoded slash is a slash, so `/private%2fme` cannot slip past a `/private/` route;
 * 2. the remaining percent-encodings are uppercased (§6.2.2.1);
 * 3. runs of "/" collapse into one;
 * 4. dot-segments are removed (§5.2.4), so `/x/../private/me` is `/private/me`.
 * Returns undefined for a "%" not followed by two hex digits.
 */
export function normalizePath (path: string): string | undefined {
  // Most paths have nothing to normalise: no "%", no "//", no dot-segment (the hit path's case).
  if (!NEEDS_NORMALIZING.test(path)) return path
  let decoded = ''
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!
    if (c !== '%') { decoded += c; continue }
    const hex = path.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined
    const ch = String.fromCharCode(parseInt(hex, 16))
    decoded += UNRESERVED.test(ch) || ch === '/' ? ch : '%' + hex.toUpperCase()
    i += 2
  }
  return removeDotSegments(decoded.replace(/\/{2,}/g, '/'))
}

/** What `normalizePath` would change: a percent-encoding, an empty segment or a dot-segment. */
const NEEDS_NORMALIZING = /%|\/\/|\/\.\.?(?:\/|$)/

/** RFC 3986 §5.2.4, for an absolute path without empty segments. */
function removeDotSegments (path: string): string {
  const out: string[] = []
  const segments = path.split('/').slice(1)
  for (const [i, s] of segments.entries()) {
    const last = i === segments.length - 1
    if (s === '..') out.pop()
    if (s === '.' || s === '..') { if (last) out.push(''); continue }
    out.push(s)
  }
  return '/' + out.join('/')
}

function refuse (code: RequestRefusal['code'], detail: string): { refused: RequestRefusal } {
  return { refused: { code, detail } }
}

/** Splits an absolute-form target (RFC 9112 §3.2.2) into scheme, authority and the rest. */
const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s

/**
 * Builds the normalised request from a node:http or node:http2 compat request, or says why it is
 * refused (400). Pure: everything it reads is in its arguments.
 * - Host: exactly one field line (RFC 9112 §3.2), a valid authority (RFC 3986 §3.2.2).
 * - HTTP/2: `:authority`, else Host; both present and different → refused (RFC 9113 §8.3.1).
 * - An absolute-form target's authority replaces Host; its scheme must be http or https.
 * - The scheme is the connection's (https behind freshgate's own TLS), or a trusted peer's
 *   X-Forwarded-Proto.
 */
export function normalizeRequest (req: NodeRequestLike, conn: ConnectionFacts, settings: RequestSettings): { request: ProxyRequest } | { refused: RequestRefusal } {
  const h2 = req.httpVersion === '2.0'
  const scheme = schemeOf(req.headers, conn)
  let hostLines = 0
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!
    if (name.length === 4 && name.toLowerCase() === 'host') hostLines++
  }
  if (hostLines > 1) return refuse('FG_BAD_HOST', 'more than one Host field')
  const hostField = req.headers.host
  let authority: string | undefined
  if (hostField !== undefined && hostField !== '') {
    authority = parseAuthority(hostField, scheme)
    if (authority === undefined) return refuse('FG_BAD_HOST', 'Host is not a valid host[:port]')
  }
  if (h2) {
    const pseudo = req.headers[':authority']
    if (typeof pseudo === 'string' && pseudo !== '') {
      const a = parseAuthority(pseudo, scheme)
      if (a === undefined) return refuse('FG_BAD_HOST', ':authority is not a valid host[:port]')
      if (authority !== undefined && authority !== a) return refuse('FG_BAD_HOST', ':authority and Host differ')
      authority = a
    }
    const s = req.headers[':scheme']
    if (s !== undefined && s !== 'http' && s !== 'https') return refuse('FG_BAD_REQUEST', ':scheme is not http or https')
  }
  let target = req.url ?? ''
  if (TARGET_FORBIDDEN.test(target)) return refuse('FG_BAD_REQUEST', 'invalid character in the request target')
  const abs = target.startsWith('/') || target === '*' ? null : ABSOLUTE_FORM.exec(target)
  if (abs !== null) {
    const s = abs[1]!.toLowerCase()
    if (s !== 'http' && s !== 'https') return refuse('FG_BAD_REQUEST', 'absolute-form target scheme is not http or https')
    const a = parseAuthority(abs[2]!, scheme)
    if (a === undefined) return refuse('FG_BAD_HOST', 'absolute-form target authority is not a valid host[:port]')
    authority = a
    target = abs[3]!.startsWith('/') ? abs[3]! : '/' + abs[3]!
  } else if (!target.startsWith('/') && target !== '*') {
    return refuse('FG_BAD_REQUEST', 'request target is not origin-form or absolute-form')
  }
  // An empty Host leaves an origin-form target without an authority: a client sends it empty only
  // when the target URI has none (RFC 9112 §3.2), which is not the case for a request to a server.
  if (abs === null && hostField === '' && target !== '*') return refuse('FG_BAD_HOST', 'Host is empty')
  if (target !== '*') {
    const q = target.indexOf('?')
    const path = normalizePath(q === -1 ? target : target.slice(0, q))
    if (path === undefined) return refuse('FG_BAD_REQUEST', 'malformed percent-encoding in the path')
    target = q === -1 ? path : path + target.slice(q)
  }
  // HTTP/1 fields are used as node parsed them (no copy per request); HTTP/2's lose their pseudo-headers.
  let headers = req.headers
  if (h2) {
    headers = {}
    for (const name in req.headers) if (name.charCodeAt(0) !== 0x3a /* : */) headers[name] = req.headers[name]
  }
  return {
    request: {
      scheme,
      authority: authority ?? settings.defaultAuthority,
      method: req.method ?? (h2 ? String(req.headers[':method']) : 'GET'),
      target,
      headers,
      clientAddress: unmapAddress(conn.peer),
      httpVersion: h2 ? '2' : req.httpVersion,
      hasBody: h2 ? req.stream?.endAfterHeaders === false : hasBody1(req.headers),
      peerTrusted: conn.trusted,
      tls: conn.tls
    }
  }
}

/** HTTP/1.1 framing says a body follows (RFC 9112 §6.3). */
function hasBody1 (headers: IncomingHttpHeaders): boolean {
  const cl = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0')
}

/** https behind freshgate's own TLS; a trusted peer's first X-Forwarded-Proto member when it is http or https. */
function schemeOf (headers: IncomingHttpHeaders, conn: ConnectionFacts): 'http' | 'https' {
  const own = conn.tls ? 'https' : 'http'
  if (!conn.trusted) return own
  const xfp = headers['x-forwarded-proto']
  const first = (Array.isArray(xfp) ? xfp[0] : xfp)?.split(',')[0]?.trim().toLowerCase()
  return first === 'http' || first === 'https' ? first : own
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; every other address unchanged. */
export function unmapAddress (address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
}
