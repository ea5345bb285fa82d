// Proactive negotiation fields (RFC 9110 §12.5): weights, the field-aware normal form of the
// Accept-* fields used for Vary matching, and language selection (RFC 4647 basic filtering).

import { joinField, splitList, splitParameters, unquote, isToken } from './fields.ts'

/**
 * Parses a qvalue (RFC 9110 §12.4.2): "0" with up to three decimals, or "1" with up to three
 * zeros. Returns the weight, or undefined when the text is not a qvalue ("2", "0.5000", "-1", "").
 * https://www.rfc-editor.org/rfc/rfc9110#section-12.4.2
 */
export function parseWeight (value: string): number | undefined {
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value)) return undefined
  return Number(value)
}

/** One member of an Accept-* field: the item (lowercased), its weight, and its other parameters. */
export interface Preference {
  /** the media range, charset, coding or language range, lowercased (all are case-insensitive) */
  item: string
  /** the weight; 1 when absent (RFC 9110 §12.4.2) */
  q: number
  /** parameters other than q, names lowercased, values unquoted */
  params: Array<[string, string]>
}

/**
 * Parses an Accept-* field into its members in the client's order. A member whose weight is not
 * a qvalue is dropped: it states no usable preference. Never throws.
 */
export function parsePreferences (value: string | string[] | undefined): Preference[] {
  const out: Preference[] = []
  for (const member of splitList(value)) {
    const [item, ...rawParams] = splitParameters(member)
    if (item === undefined) continue
    let q = 1
    let valid = true
    const params: Array<[string, string]> = []
    for (const p of rawParams) {
      const eq = p.indexOf('=')
      const name = (eq === -1 ? p : p.slice(0, eq)).trim().toLowerCase()
      const val = eq === -1 ? '' : unquote(p.slice(eq + 1).trim())
      if (name !== 'q') {
        params.push([name, val])
        continue
      }
      const w = parseWeight(val)
      if (w === undefined) valid = false
      else q = w
    }
    if (valid) out.push({ item: item.toLowerCase(), q, params })
  }
  return out
}

/** Parameters whose values are case-insensitive: charset names (RFC 9110 §8.3.2) and weights. */
const CASELESS_PARAMS = new Set(['charset', 'q'])

/**
 * The normal form of an Accept, Accept-Charset or Accept-Language value for Vary matching
 * (RFC 9111 §4.1: "normalizing both header field values in a way that is known to have identical
 * semantics"): whitespace around delimiters removed; media ranges, charsets, language ranges,
 * parameter names, charset values and weights lowercased; a quoted parameter value that is a
 * token unquoted (§5.6.6: the forms are equivalent); a weight written as its number ("q=1.0" is
 * "q=1"). Members are never reordered: origins break ties between equal weights by the client's
 * order (RFC 9110 §12.5.4 leaves it to them), so "fr, en" and "en, fr" may get different answers.
 * https://www.rfc-editor.org/rfc/rfc9111#section-4.1
 */
export function normalizeAcceptList (value: string | string[]): string {
  const members: string[] = []
  for (const member of splitList(value)) {
    const [item, ...params] = splitParameters(member)
    if (item === undefined) continue
    let out = item.replace(/\s+/g, '').toLowerCase()
    for (const p of params) {
      const eq = p.indexOf('=')
      const name = (eq === -1 ? p : p.slice(0, eq)).trim().toLowerCase()
      if (eq === -1) { out += `;${name}`; continue }
      let val = p.slice(eq + 1).trim()
      const bare = unquote(val)
      if (val.startsWith('"') && isToken(bare)) val = bare
      if (CASELESS_PARAMS.has(name) && isToken(val)) val = val.toLowerCase()
      const w = name === 'q' ? parseWeight(val) : undefined
      out += `;${name}=${w === undefined ? val : String(w)}`
    }
    members.push(out)
  }
  return members.join(',')
}

// language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*" (RFC 4647 §2.1)
const LANGUAGE_RANGE = /^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/

/**
 * Picks the language of `available` that Accept-Language selects (RFC 9110 §12.5.4), or
 * undefined when none is acceptable or the field is absent, empty or has no valid member.
 * Matching is RFC 4647 §3.3.1 basic filtering: a range matches a tag equal to it or beginning
 * with it followed by "-" ("de" matches "de-CH", "de-CH" does not match "de"), case-insensitively;
 * "*" matches every tag. A tag takes the weight of the most specific range that matches it, so
 * "de-CH;q=0, de" refuses de-CH but accepts de-AT; weight 0 means "not acceptable". The highest
 * weight wins; ties go to the range the client listed first, then to the order of `available`.
 * Returns the element of `available` as given.
 * https://www.rfc-editor.org/rfc/rfc9110#section-12.5.4
 * https://www.rfc-editor.org/rfc/rfc4647#section-3.3.1
 */
export function selectLanguage (acceptLanguage: string | string[] | undefined, available: readonly string[]): string | undefined {
  const joined = joinField(acceptLanguage)
  if (joined === undefined) return undefined
  const ranges = parsePreferences(joined).filter(p => LANGUAGE_RANGE.test(p.item))
  let best: string | undefined
  let bestQ = 0
  let bestOrder = Infinity
  for (const tag of available) {
    const match = mostSpecificRange(ranges, tag.toLowerCase())
    if (match === undefined) continue
    const { q, order } = match
    if (q > bestQ || (q === bestQ && q > 0 && order < bestOrder)) {
      best = tag
      bestQ = q
      bestOrder = order
    }
  }
  return best
}

/**
 * The client's most preferred language range: the first of the highest-weighted ranges, unless it
 * is "*" (then any language would do and nothing is clearly preferred).
 */
export function topLanguage (acceptLanguage: string | string[] | undefined): string | undefined {
  let top: Preference | undefined
  for (const p of parsePreferences(joinField(acceptLanguage))) {
    if (LANGUAGE_RANGE.test(p.item) && p.q > 0 && (top === undefined || p.q > top.q)) top = p
  }
  return top === undefined || top.item === '*' ? undefined : top.item
}

/** The weight and position of the longest range that matches `tag`, "*" counting as the shortest. */
function mostSpecificRange (ranges: readonly Preference[], tag: string): { q: number, order: number } | undefined {
  let found: { q: number, order: number, length: number } | undefined
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]!.item
    const matches = range === '*' || tag === range || tag.startsWith(range + '-')
    if (!matches) continue
    const length = range === '*' ? 0 : range.length
    // The first of equally specific ranges counts ("de;q=1, de;q=0" is de at 1).
    if (found === undefined || length > found.length) found = { q: ranges[i]!.q, order: i, length }
  }
  return found
}
