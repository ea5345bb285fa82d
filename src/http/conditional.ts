// Entity tags and the conditional request fields a cache answers itself
// (RFC 9110 §8.8.3, §13.1.2, §13.1.3, §13.1.5, §13.2.2). Pure predicates over header values.

import { splitOutsideQuotes } from './fields.ts'
import { parseHttpDate } from './dates.ts'

/** A parsed entity-tag. */
export interface EntityTag {
  /** true for `W/"…"`. */
  weak: boolean
  /** the opaque-tag including its quotes, e.g. `"abc"`. */
  tag: string
}

const ETAG = /^(W\/)?("[^"]*")$/

/** Parses one entity-tag (RFC 9110 §8.8.3); undefined when malformed. */
export function parseETag (value: string | undefined): EntityTag | undefined {
  if (value === undefined) return undefined
  const m = ETAG.exec(value.trim())
  if (m === null) return undefined
  return { weak: m[1] !== undefined, tag: m[2]! }
}

/**
 * Splits an entity-tag list (If-None-Match, If-Match). A comma inside quotes does not split, and a
 * backslash is an ordinary etagc, not an escape: `"\\", "a"` is two tags (RFC 9110 §8.8.3 has no
 * quoted-pair in opaque-tag).
 * https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
 */
export function splitETagList (value: string): string[] {
  return splitOutsideQuotes(value, 0x2c /* , */, false)
}

/** Strong comparison: both strong and identical (RFC 9110 §8.8.3.2). */
export function strongMatch (a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.tag === b.tag
}

/** Weak comparison: identical opaque-tags, weakness ignored (RFC 9110 §8.8.3.2). */
export function weakMatch (a: EntityTag, b: EntityTag): boolean {
  return a.tag === b.tag
}

/**
 * Evaluates If-None-Match against the stored response's ETag with weak comparison
 * (RFC 9110 §13.1.2). Returns true when the condition is false, i.e. the client's copy
 * matches and a 304 is due. `*` matches any current representation.
 * https://www.rfc-editor.org/rfc/rfc9110#section-13.1.2
 */
export function noneMatchFails (ifNoneMatch: string, etag: string | undefined): boolean {
  const members = splitETagList(ifNoneMatch)
  if (members.some(m => m === '*')) return true
  const current = parseETag(etag)
  if (current === undefined) return false
  for (const m of members) {
    const t = parseETag(m)
    if (t !== undefined && weakMatch(t, current)) return true
  }
  return false
}

/**
 * Evaluates If-Modified-Since (RFC 9110 §13.1.3): true when the stored representation has not
 * been modified since the given date, i.e. a 304 is due. A cache compares with the stored
 * response's Last-Modified, and without a usable one with its Date, which freshgate always holds
 * (the origin's, or the time of receipt: entry.ts storedHeaders) (RFC 9111 §4.3.2). An invalid
 * If-Modified-Since never yields a 304.
 * https://www.rfc-editor.org/rfc/rfc9110#section-13.1.3
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.3.2
 */
export function notModifiedSince (ifModifiedSince: string, lastModified: string | undefined, date: string | undefined): boolean {
  const since = parseHttpDate(ifModifiedSince)
  if (since === undefined) return false
  // Without Last-Modified, the response's Date stands in (RFC 9111 §4.3.2).
  const modified = parseHttpDate(lastModified) ?? parseHttpDate(date)
  if (modified === undefined) return false
  return modified <= since
}

/** The conditional fields of a client request that a cache evaluates for GET/HEAD. */
export interface ClientConditionals {
  ifNoneMatch?: string
  ifModifiedSince?: string
}

/**
 * Decides whether a client's GET/HEAD conditional is answered 304 from a stored response, in the
 * precedence order of RFC 9110 §13.2.2: If-None-Match when present, else If-Modified-Since.
 * A request with neither never gets a 304.
 * https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2
 */
export function shouldAnswer304 (cond: ClientConditionals, stored: { etag?: string, lastModified?: string, date?: string }): boolean {
  if (cond.ifNoneMatch !== undefined) return noneMatchFails(cond.ifNoneMatch, stored.etag)
  if (cond.ifModifiedSince !== undefined) return notModifiedSince(cond.ifModifiedSince, stored.lastModified, stored.date)
  return false
}

/**
 * Evaluates If-Range (RFC 9110 §13.1.5): true when the Range may be applied. An entity-tag must
 * match strongly; a date must exactly equal a strong Last-Modified (here: any Last-Modified that
 * is at least one second older than Date, the §8.8.2.2 rule for a strong date validator).
 * https://www.rfc-editor.org/rfc/rfc9110#section-13.1.5
 */
export function ifRangeMatches (ifRange: string, stored: { etag?: string, lastModified?: string, date?: string }): boolean {
  const v = ifRange.trim()
  if (v.startsWith('"') || v.startsWith('W/')) {
    const want = parseETag(v)
    const have = parseETag(stored.etag)
    return want !== undefined && have !== undefined && strongMatch(want, have)
  }
  const when = parseHttpDate(v)
  const modified = parseHttpDate(stored.lastModified)
  const date = parseHttpDate(stored.date)
  if (when === undefined || modified === undefined || date === undefined) return false
  return when === modified && date - modified >= 1000
}
