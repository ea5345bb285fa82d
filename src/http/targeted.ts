// Targeted Cache-Control fields (RFC 9213): CDN-Cache-Control and friends, which a cache on the
// target list obeys instead of Cache-Control and Expires.

import { parseCacheControl, FLAGS, type CacheControl } from './cache-control.ts'
import { splitList, isToken } from './fields.ts'
import { DELTA_SECONDS_MAX } from './dates.ts'
import { parseDictionary, type Member } from './structured.ts'

/** Directives whose argument is delta-seconds: an sf-integer, never negative (RFC 9213 §2.1). */
const DELTA = new Map<string, 'maxAge' | 'sMaxAge' | 'staleWhileRevalidate' | 'staleIfError' | 'maxStale' | 'minFresh'>([
  ['max-age', 'maxAge'],
  ['s-maxage', 'sMaxAge'],
  ['stale-while-revalidate', 'staleWhileRevalidate'],
  ['stale-if-error', 'staleIfError'],
  ['max-stale', 'maxStale'],
  ['min-fresh', 'minFresh']
])

/**
 * Parses a targeted field (RFC 9213 §2.1) into directives; undefined when the field is absent or
 * empty, is not a valid Structured Field Dictionary (RFC 8941), or gives a known directive a value
 * of the wrong type, so that the caller falls back to Cache-Control as a whole:
 * - delta-seconds directives (max-age, s-maxage, stale-*) must be non-negative sf-integers
 *   (max-age="10", max-age=1.5 and max-age=-1 are wrong: "a consuming implementation [that] were to
 *   coerce a max-age with a decimal value into an integer would behave differently");
 * - directives without an argument (no-store, public, …) must be sf-booleans (no-store=3 is wrong);
 * - no-cache and private must be an sf-boolean or an sf-string listing field names (private=x is wrong).
 * Unknown directives may have any value, and parameters are ignored ("Parameters received on cache
 * directives are to be ignored"). A member set to ?0 is false.
 * https://www.rfc-editor.org/rfc/rfc9213#section-2.1
 */
export function parseTargeted (value: string | string[] | undefined): CacheControl | undefined {
  const dict = parseDictionary(value)
  // Only an empty field falls back to Cache-Control (RFC 9213 §2.2); a valid one whose members
  // are all ?0 still governs, with those directives false.
  if (dict === undefined || dict.size === 0) return undefined
  const cc: CacheControl = { ...parseCacheControl(undefined) }
  for (const [key, member] of dict) {
    const delta = DELTA.get(key)
    if (delta !== undefined) {
      const n = integerOf(member)
      if (n === undefined) return undefined
      cc[delta] = Math.min(n, DELTA_SECONDS_MAX)
      continue
    }
    // Directives without an argument are sf-booleans, true when written bare (RFC 9213 §2.1):
    // the same set as Cache-Control's.
    const flag = FLAGS.get(key)
    if (flag !== undefined) {
      const b = booleanOf(member)
      if (b === undefined) return undefined
      cc[flag] = b
      continue
    }
    if (key === 'no-cache' || key === 'private') {
      const b = booleanOf(member)
      const fields = b === undefined ? fieldNamesOf(member) : undefined
      if (b === undefined && fields === undefined) return undefined
      // An empty list names no field: the directive is unqualified, as in parseCacheControl.
      const qualified = fields !== undefined && fields.length > 0
      if (key === 'no-cache') {
        cc.noCache = b === true || (fields !== undefined && !qualified)
        if (qualified) cc.noCacheFields = fields; else delete cc.noCacheFields
      } else {
        cc.private = b === true || (fields !== undefined && !qualified)
        if (qualified) cc.privateFields = fields; else delete cc.privateFields
      }
    }
    // Unknown directives are ignored (RFC 9111 §5.2.3), whatever their type.
  }
  return cc
}

/** The value of an sf-integer member that is a valid delta-seconds, else undefined. */
function integerOf (m: Member): number | undefined {
  if (m.kind !== 'item' || m.item.type !== 'integer' || m.item.value < 0) return undefined
  return m.item.value
}

/** The value of an sf-boolean member, else undefined. */
function booleanOf (m: Member): boolean | undefined {
  if (m.kind !== 'item' || m.item.type !== 'boolean') return undefined
  return m.item.value
}

/** The lowercased field names of an sf-string member listing field names, else undefined. */
function fieldNamesOf (m: Member): string[] | undefined {
  if (m.kind !== 'item' || m.item.type !== 'string') return undefined
  const names = splitList(m.item.value)
  if (!names.every(isToken)) return undefined
  return names.map(n => n.toLowerCase())
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
