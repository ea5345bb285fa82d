// Hop-by-hop fields (RFC 9110 §7.6.1): connection-specific, never forwarded or stored.

import { splitList } from './fields.ts'

/** Fields that are always connection-specific, plus Proxy-* fields a gateway consumes. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate'
])

/**
 * The set of field names to drop from a message: the fixed hop-by-hop fields plus every field
 * the Connection header names. Returns the fixed set itself when Connection names nothing,
 * so the common case allocates nothing.
 * https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export function hopByHopFor (connection: string | string[] | undefined): ReadonlySet<string> {
  // The common values name no field: no list to parse.
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return HOP_BY_HOP
  const named = splitList(connection).map(n => n.toLowerCase()).filter(n => n !== 'close' && n !== 'keep-alive')
  if (named.length === 0) return HOP_BY_HOP
  const set = new Set(HOP_BY_HOP)
  for (const n of named) set.add(n)
  return set
}
