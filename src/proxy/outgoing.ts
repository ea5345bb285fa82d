// The request fields sent upstream: hop-by-hop fields removed, the cache's validators in place of
// the client's conditionals when filling (RFC 9111 §4.3.1), forwarding fields, Via, and the
// operator's request rules.

import { appendMember } from '../http/fields.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { normalizeAcceptEncoding } from '../cache/key.ts'
import type { StoredRecord } from '../cache/contract.ts'
import type { Ctx, Runtime } from './context.ts'
import { forwardedFields, FORWARDING_FIELDS } from './forwarded.ts'
import { rewriteFields } from './rewrite.ts'

/** Conditional fields a cache replaces with its own when it fills or revalidates (RFC 9111 §4.3.1). */
const CLIENT_CONDITIONALS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'])

/**
 * Request fields sent upstream: the client's without hop-by-hop fields (RFC 9110 §7.6.1), with
 * Via and X-Forwarded-* added. When the cache fills or revalidates, the client's conditionals and
 * Range are replaced by the cache's own validators (RFC 9111 §4.3.1) — one home for both halves.
 */
export function upstreamHeaders (rt: Runtime, ctx: Ctx, fill: boolean, validators: StoredRecord | undefined): Record<string, string | string[]> {
  const src = ctx.preq.headers
  const drop = hopByHopFor(src.connection)
  const out: Record<string, string | string[]> = {}
  for (const name in src) {
    const v = src[name]
    if (v === undefined || drop.has(name) || name === 'expect' || name === 'via' || name === 'host' || FORWARDING_FIELDS.has(name)) continue
    if (fill && CLIENT_CONDITIONALS.has(name)) continue
    out[name] = v
  }
  if (validators !== undefined) {
    if (validators.etag !== undefined) out['if-none-match'] = validators.etag
    if (validators.lastModified !== undefined) out['if-modified-since'] = validators.lastModified
  }
  // The cache keys Accept-Encoding on the coding it chose (cache/key.ts): asking the origin for
  // that coding alone keeps every stored body in the coding its key names, or identity.
  const ae = src['accept-encoding']
  if (fill && ae !== undefined) out['accept-encoding'] = normalizeAcceptEncoding(Array.isArray(ae) ? ae.join(', ') : ae)
  out.host = rt.config.hostHeader === 'origin' ? ctx.route.originHost : ctx.preq.authority
  // X-Forwarded-*, Forwarded and their look-alikes: freshgate's own view, or a trusted peer's (forwarded.ts).
  const preq = ctx.preq
  Object.assign(out, forwardedFields(preq, { peer: preq.clientAddress, trusted: preq.peerTrusted && !drop.has('x-forwarded-for'), tls: preq.tls }))
  // A field the client's Connection names is hop-by-hop: its value is not carried on (RFC 9110 §7.6.1).
  out.via = appendMember(drop.has('via') ? undefined : src.via, `${preq.httpVersion === '2' ? '2' : preq.httpVersion} ${rt.config.cacheName}`)
  // The operator's rules last, so they may also set or remove Via and X-Forwarded-*.
  rewriteFields(out, ctx.route.requestRules)
  return out
}
