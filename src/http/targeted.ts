// Targeted Cache-Control fields (RFC 9213): CDN-Cache-Control and friends, which a cache on the
// target list obeys instead of Cache-Control and Expires.

import { parseCacheControl, type CacheControl } from './cache-control.ts'
import { joinField, splitList } from './fields.ts'

// A targeted field is a Structured Fields Dictionary (RFC 8941 §3.2): lowercase keys, values that
// are integers, decimals, strings, tokens, byte sequences or booleans. Members set to ?0 are false.
const SF_KEY = /^[a-z*][a-z0-9_\-.*]*$/
// Bare items: integer/decimal, string, token, byte sequence (RFC 8941 §3.3.5), boolean.
const SF_VALUE = /^(?:-?\d{1,15}(?:\.\d{1,3})?|"(?:[^"\\]|\\["\\])*"|[A-Za-z*][!#$%&'*+\-.^_`|~:/0-9A-Za-z]*|:[A-Za-z0-9+/=]*:|\?[01])$/

/** Parses a targeted field as an SF Dictionary; undefined when it is invalid or empty (RFC 9213 §2.1). */
export function parseTargeted (value: string | string[] | undefined): CacheControl | undefined {
  const joined = joinField(value)
  if (joined === undefined) return undefined
  const members = new Map<string, string | undefined>()
  for (const member of splitList(joined)) {
    // Parameters (;a=b) are allowed by the SF syntax and ignored here.
    const [head] = member.split(';')
    const eq = head!.indexOf('=')
    // No trimming: SF allows no whitespace around "=" or before ";" (RFC 8941 §4.2.2, §4.2.3.2),
    // and a parsing error means the whole field is ignored (RFC 9213 §2.1).
    const key = eq === -1 ? head! : head!.slice(0, eq)
    const val = eq === -1 ? undefined : head!.slice(eq + 1)
    if (!SF_KEY.test(key) || (val !== undefined && !SF_VALUE.test(val))) return undefined
    // A repeated key overwrites the earlier value (RFC 8941 §4.2.2), so "a, a=?0" leaves a false.
    members.set(key, val)
  }
  // Only an empty field falls back to Cache-Control (RFC 9213 §2.2); a valid one whose members
  // are all ?0 still governs, with those directives false.
  if (members.size === 0) return undefined
  const kept: string[] = []
  for (const [key, val] of members) {
    if (val === '?0') continue
    kept.push(val === undefined || val === '?1' ? key : `${key}=${val}`)
  }
  return parseCacheControl(kept.join(', '))
}

/** The directives that govern a response for this cache, and where they came from. */
export interface EffectiveDirectives {
  cc: CacheControl
  /** the targeted field used, or undefined when Cache-Control (and Expires) apply */
  target?: string
}

/**
 * Picks the first valid, non-empty targeted field in target-list order; else Cache-Control.
 * "it MUST ignore the Cache-Control and Expires header fields in that response, unless no valid,
 * non-empty value is available from the listed header fields" (RFC 9213 §2.2).
 * https://www.rfc-editor.org/rfc/rfc9213#section-2.2
 */
export function effectiveDirectives (headers: Record<string, string | string[] | undefined>, targets: readonly string[]): EffectiveDirectives {
  for (const t of targets) {
    const cc = parseTargeted(headers[t])
    if (cc !== undefined) return { cc, target: t }
  }
  return { cc: parseCacheControl(headers['cache-control']) }
}
