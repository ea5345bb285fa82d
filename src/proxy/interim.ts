// Interim (1xx) responses from the origin relayed to the client before the final response
// (RFC 9110 §15.2): 100 Continue, 102 Processing and 103 Early Hints. They are never stored.

import type { ServerResponse } from 'node:http'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import type { Headers } from '../cache/contract.ts'

/** The interim responses node:http can write, and the HTTP/2 stream behind a compat response. */
interface InterimWriter {
  writeContinue?: () => void
  writeProcessing?: () => void
  writeEarlyHints?: (hints: Record<string, string | string[]>) => void
  stream?: { additionalHeaders?: (headers: Record<string, string | string[] | number>) => void }
}

/** The 103 fields worth relaying: the origin's, without hop-by-hop ones (RFC 9110 §7.6.1). */
function hintsOf (headers: Headers): Record<string, string | string[]> {
  const drop = hopByHopFor(headers.connection)
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const v = headers[name]
    if (v !== undefined && !drop.has(name) && name !== 'content-length') out[name] = v
  }
  return out
}

/**
 * Relays one interim response to a client still waiting for its final head. Dropped for HTTP/1.0
 * clients ("A server MUST NOT send a 1xx response to an HTTP/1.0 client", RFC 9110 §15.2), for
 * other 1xx codes, and for a 103 without Link (node:http writes Early Hints only with Link).
 * Returns true when something was written.
 * https://www.rfc-editor.org/rfc/rfc9110#section-15.2
 */
export function relayInterim (res: ServerResponse, httpVersion: string, status: number, headers: Headers): boolean {
  if (res.headersSent || res.destroyed || httpVersion === '1.0') return false
  const w = res as InterimWriter
  if (status !== 100 && status !== 102 && status !== 103) return false
  if (status === 103 && headers.link === undefined) return false
  try {
    // HTTP/2: any 1xx is a HEADERS frame before the final one (RFC 9113 §8.1).
    const h2 = w.stream?.additionalHeaders
    if (httpVersion === '2' && h2 !== undefined) h2.call(w.stream, { ...(status === 103 ? hintsOf(headers) : {}), ':status': status })
    else if (status === 100 && w.writeContinue !== undefined) w.writeContinue()
    else if (status === 102 && w.writeProcessing !== undefined) w.writeProcessing()
    else if (status === 103 && w.writeEarlyHints !== undefined) w.writeEarlyHints(hintsOf(headers))
    else return false
  } catch {
    // A field node:http or node:http2 refuses to write: the hint is only a hint.
    return false
  }
  return true
}
