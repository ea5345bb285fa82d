// Trusted forwarding: which X-Forwarded-* and Forwarded (RFC 7239) fields go upstream, believing
// them only from peers listed in trustProxy. Pure: the listener decides trust, the handler merges.

import { BlockList, isIP } from 'node:net'
import { appendMember, joinField } from '../http/fields.ts'
import type { ProxyRequest } from './request.ts'

/**
 * Every field of the forwarding family. The handler drops all of them from the client's fields
 * and sends what `forwardedFields` returns instead. The look-alikes (X-Forwarded-Server, -Port,
 * -Scheme, X-Host, X-Original-URL, X-Rewrite-URL) are honoured by common frameworks, so a client
 * that is not a trusted proxy must not be able to set them.
 */
export const FORWARDING_FIELDS: ReadonlySet<string> = new Set([
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-port',
  'x-forwarded-scheme',
  'x-host',
  'x-original-url',
  'x-rewrite-url'
])

/** The hop from the client to freshgate. */
export interface Hop {
  /** the peer's address (unmapped), as in ProxyRequest.clientAddress */
  peer: string
  /** the peer is in trustProxy */
  trusted: boolean
  /** the client connection to freshgate is TLS */
  tls: boolean
}

/** The fields freshgate writes its own view into. */
const OWN_VIEW = new Set(['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'])

/** The look-alikes: passed on from a trusted peer as they are, dropped from any other. */
const LOOK_ALIKES = [...FORWARDING_FIELDS].filter(n => !OWN_VIEW.has(n))

/**
 * Appends the forwarding fields for the upstream request to a flat [name, value, …] list.
 * - From a trusted peer: X-Forwarded-For gets the peer appended; X-Forwarded-Proto and
 *   X-Forwarded-Host are kept (set to freshgate's view when absent); Forwarded gets this hop
 *   appended (RFC 7239 §7.1); the look-alikes pass unchanged.
 * - From any other peer: everything the client sent is replaced by freshgate's own view, and the
 *   look-alikes are dropped.
 * freshgate's view: the peer, https behind its own TLS (else http), and the request's authority.
 */
export function pushForwardedFields (out: string[], req: ProxyRequest, hop: Hop): void {
  const proto = hop.tls ? 'https' : 'http'
  const element = forwardedElement(hop.peer, proto, req.authority)
  if (!hop.trusted) {
    out.push('x-forwarded-for', hop.peer, 'x-forwarded-proto', proto, 'x-forwarded-host', req.authority, 'forwarded', element)
    return
  }
  const src = req.headers
  out.push(
    'x-forwarded-for', appendMember(src['x-forwarded-for'], hop.peer),
    'x-forwarded-proto', joinField(src['x-forwarded-proto']) ?? proto,
    'x-forwarded-host', joinField(src['x-forwarded-host']) ?? req.authority,
    'forwarded', appendMember(src.forwarded, element)
  )
  for (const name of LOOK_ALIKES) {
    const v = joinField(src[name])
    if (v !== undefined) out.push(name, v)
  }
}

/** The forwarding fields for the upstream request as a map (see pushForwardedFields). */
export function forwardedFields (req: ProxyRequest, hop: Hop): Record<string, string> {
  const flat: string[] = []
  pushForwardedFields(flat, req, hop)
  const out: Record<string, string> = {}
  for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

/** The last element built: a connection's requests come from one peer for one authority. */
let last = { peer: '', proto: '', authority: '', element: '' }

/** This hop's Forwarded element (RFC 7239 §4): `for=…;proto=…;host=…`. */
function forwardedElement (peer: string, proto: string, authority: string): string {
  if (peer === last.peer && proto === last.proto && authority === last.authority) return last.element
  const element = `for=${nodeName(peer)};proto=${proto};host=${paramValue(authority)}`
  last = { peer, proto, authority, element }
  return element
}

/** RFC 7239 §6: an IPv6 node is bracketed, and then quoted because ":" is not a token character. */
function nodeName (address: string): string {
  return isIP(address) === 6 ? `"[${address}]"` : paramValue(address)
}

/** A token as is, anything else as a quoted-string (RFC 7239 §4, RFC 9110 §5.6.4). */
function paramValue (value: string): string {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`
}

/** A trustProxy matcher from addresses and CIDR ranges ("10.0.0.0/8", "::1"). */
export function trustList (entries: readonly string[]): (address: string) => boolean {
  if (entries.length === 0) return () => false
  const list = new BlockList()
  for (const e of entries) {
    const [addr, bits] = e.split('/')
    const type = isIP(addr!) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(addr!, type)
    else list.addSubnet(addr!, Number(bits), type)
  }
  return address => {
    const family = isIP(address)
    if (family === 0) return false
    return list.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }
}
