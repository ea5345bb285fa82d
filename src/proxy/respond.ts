// Writing to the client: Cache-Status values (RFC 9211), forwarded heads without hop-by-hop
// fields, stored responses with Age, 304s and error responses with stable codes.

import { STATUS_CODES, type ServerResponse, type IncomingMessage } from 'node:http'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { appendMember } from '../http/fields.ts'
import { formatHttpDate } from '../http/dates.ts'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'
import type { Headers } from '../cache/entry.ts'

/** The `fwd` parameter of Cache-Status (RFC 9211 §2.2). */
export type Forward =
  /** the cache was configured not to handle this request */
  | 'bypass'
  /** the request method is not cacheable */
  | 'method'
  /** nothing stored for the URI */
  | 'uri-miss'
  /** something stored for the URI, but no variant matched */
  | 'vary-miss'
  /** a stored response could not be used for another reason (e.g. hit-for-miss) */
  | 'miss'
  /** request directives (no-cache, max-age, Authorization…) required going forward */
  | 'request'
  /** the stored response was stale and was revalidated */
  | 'stale'
  /** only part of the response was stored (Range) */
  | 'partial'

/** Builds a Cache-Status member for this cache (RFC 9211 §2). Parameters in the RFC's order. */
export function cacheStatus (name: string, p: {
  hit?: boolean
  fwd?: Forward
  fwdStatus?: number
  ttl?: number
  stored?: boolean
  collapsed?: boolean
  key?: string
  detail?: string
}): string {
  let s = name
  if (p.hit === true) s += '; hit'
  if (p.fwd !== undefined) s += '; fwd=' + p.fwd
  if (p.fwdStatus !== undefined) s += '; fwd-status=' + p.fwdStatus
  if (p.stored === true) s += '; stored'
  if (p.collapsed === true) s += '; collapsed'
  if (p.ttl !== undefined) s += '; ttl=' + Math.floor(p.ttl / 1000)
  if (p.key !== undefined) s += '; key=' + JSON.stringify(p.key)
  if (p.detail !== undefined) s += '; detail=' + p.detail
  return s
}


/**
 * The head of a forwarded response: upstream fields without hop-by-hop ones and fields we were
 * told to strip, Via appended, Date added when missing, our Cache-Status last.
 */
export function forwardedHead (headers: Headers, strip: readonly string[], via: string, status: string, now: number): string[] {
  const drop = hopByHopFor(headers.connection)
  const head: string[] = []
  for (const name in headers) {
    const v = headers[name]
    if (v === undefined || drop.has(name) || name === 'via' || name === 'cache-status' || strip.includes(name)) continue
    if (Array.isArray(v)) for (const x of v) head.push(name, x)
    else head.push(name, v)
  }
  if (headers.date === undefined) head.push('date', formatHttpDate(now))
  head.push('via', appendMember(headers.via, via))
  // RFC 9211 §2: our member goes after those of caches nearer the origin.
  head.push('cache-status', appendMember(headers['cache-status'], status))
  return head
}

/** Sends a short plain-text error naming its stable code. */
export function sendError (res: ServerResponse, code: ErrorCode, status: string, detail?: string): number {
  const { status: httpStatus, text } = ERROR_CODES[code]
  if (res.headersSent) {
    res.destroy()
    return httpStatus
  }
  const body = `${httpStatus} ${code}: ${text}${detail === undefined ? '' : ` (${detail})`}\n`
  res.writeHead(httpStatus, STATUS_CODES[httpStatus], [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store',
    'x-freshgate-error', code,
    'cache-status', status
  ])
  res.end(res.req.method === 'HEAD' ? undefined : body)
  return httpStatus
}

/** True when the client request carries a body to stream upstream. */
export function hasBody (req: IncomingMessage): boolean {
  const cl = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0')
}
