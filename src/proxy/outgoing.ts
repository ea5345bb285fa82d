// The request fields sent upstream: hop-by-hop fields removed, the cache's validators in place of
// the client's conditionals when filling (RFC 9111 §4.3.1), forwarding fields, Via, and the
// operator's request rules.

import { appendMember } from '../http/fields.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { normalizeAcceptEncoding } from '../cache/key.ts'
import type { StoredRecord } from '../cache/contract.ts'
import type { Ctx, Runtime } from './context.ts'
import { pushForwardedFields, FORWARDING_FIELDS } from './forwarded.ts'
import { rewriteHead } from './rewrite.ts'

/** Conditional fields a cache replaces with its own when it fills or revalidates (RFC 9111 §4.3.1). */
const CLIENT_CONDITIONALS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range'])

/**
 * Request fields sent upstream, as a flat [name, value, …] list (what undici takes without
 * copying): the client's without hop-by-hop fields (RFC 9110 §7.6.1), with Via and
 * X-Forwarded-* added. When the cache fills or revalidates, the client's conditionals and Range
 * are replaced by the cache's own validators (RFC 9111 §4.3.1) — one home for both halves. A
 * part's fetch (`part`) carries the client's Range and If-Range instead.
 */
export function upstreamHeaders (rt: Runtime, ctx: Ctx, fill: boolean, validators: StoredRecord | undefined, part = false): string[] {
  const preq = ctx.preq
  const src = preq.headers
  const drop = hopByHopFor(src.connection)
  const out: string[] = []
  for (const name in src) {
    const v = src[name]
    if (v === undefined || drop.has(name) || name === 'expect' || name === 'via' || name === 'host' || FORWARDING_FIELDS.has(name)) continue
    if (fill && (CLIENT_CONDITIONALS.has(name) || name === 'accept-encoding')) continue
    pushField(out, name, v)
  }
  if (validators !== undefined) {
    if (validators.etag !== undefined) out.push('if-none-match', validators.etag)
    if (validators.lastModified !== undefined) out.push('if-modified-since', validators.lastModified)
  }
  // The cache keys Accept-Encoding on the coding it chose (cache/key.ts): asking the origin for
  // that coding alone keeps every stored body in the coding its key names, or identity.
  const ae = src['accept-encoding']
  if (fill && ae !== undefined) out.push('accept-encoding', normalizeAcceptEncoding(Array.isArray(ae) ? ae.join(', ') : ae))
  out.push('host', rt.config.hostHeader === 'origin' ? ctx.route.originHost : preq.authority)
  // X-Forwarded-*, Forwarded and their look-alikes: freshgate's own view, or a trusted peer's (forwarded.ts).
  pushForwardedFields(out, preq, { peer: preq.clientAddress, trusted: preq.peerTrusted && !drop.has('x-forwarded-for'), tls: preq.tls })
  // A field the client's Connection names is hop-by-hop: its value is not carried on (RFC 9110 §7.6.1).
  out.push('via', appendMember(drop.has('via') ? undefined : src.via, `${preq.httpVersion === '2' ? '2' : preq.httpVersion} ${rt.config.cacheName}`))
  // The operator's rules last, so they may also set or remove Via and X-Forwarded-*.
  const rules = ctx.route.requestRules
  const fields = rules.length === 0 ? out : rewriteHead(out, rules)
  if (!part) return fields
  // A part is fetched with the client's Range (and If-Range, which only narrows what comes back).
  const partFields = withoutFields(fields, PART_FIELDS)
  pushField(partFields, 'range', src.range)
  pushField(partFields, 'if-range', src['if-range'])
  return partFields
}

/** Range and If-Range: a part's fetch sends the client's. */
const PART_FIELDS: ReadonlySet<string> = new Set(['range', 'if-range'])

/** A flat field list without the named fields. */
function withoutFields (fields: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < fields.length; i += 2) if (!names.has(fields[i]!)) out.push(fields[i]!, fields[i + 1]!)
  return out
}

/** Appends a field's lines to a flat list (none when absent). */
function pushField (out: string[], name: string, v: string | string[] | undefined): void {
  if (v === undefined) return
  if (typeof v === 'string') out.push(name, v)
  else for (const x of v) out.push(name, x)
}
