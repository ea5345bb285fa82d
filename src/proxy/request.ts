// The normalised request: what the listener (HTTP/1.1, HTTP/2, TLS or not) hands the handler.
// Nothing below the listener reads the Host header or assumes a scheme.

import type { IncomingHttpHeaders } from 'node:http'

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
  /** request fields with lowercased names, without pseudo-headers and without Host */
  headers: IncomingHttpHeaders
  /** the peer's address (IPv4-mapped IPv6 addresses unmapped) */
  clientAddress: string
  /** protocol version for Via: "1.0", "1.1" or "2" */
  httpVersion: string
}
