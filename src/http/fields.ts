// Field-value helpers shared by the RFC 9110 parsers: list splitting and
// optional-whitespace trimming. One home for each, so no parser carries a copy.

/** Splits a comma-separated list field (RFC 9110 §5.6.1), honouring quoted strings, dropping empty members. */
export function splitList (value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  if (Array.isArray(value)) return value.flatMap(v => splitList(v))
  return splitOutsideQuotes(value, 0x2c /* , */, true)
}

/** Splits a list member into its item and parameters at ";" (RFC 9110 §5.6.6), honouring quoted strings. */
export function splitParameters (member: string): string[] {
  return splitOutsideQuotes(member, 0x3b /* ; */, true)
}

/**
 * Splits `value` at the `separator` character where it is outside double quotes, trimming members
 * and dropping empty ones. With `escapes`, a backslash inside quotes escapes the next character
 * (quoted-string, RFC 9110 §5.6.4); without, it is an ordinary character (entity-tags, §8.8.3).
 */
export function splitOutsideQuotes (value: string, separator: number, escapes: boolean): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 0x22 /* " */) quoted = !quoted
    else if (c === 0x5c /* \ */ && quoted && escapes) i++
    else if (c === separator && !quoted) {
      const member = value.slice(start, i).trim()
      if (member !== '') out.push(member)
      start = i + 1
    }
  }
  const last = value.slice(start).trim()
  if (last !== '') out.push(last)
  return out
}

/**
 * Normalises the whitespace of a field value without knowing its grammar: outside quoted strings,
 * runs of whitespace become one space, and whitespace at the ends and beside "," goes (OWS around
 * list delimiters, RFC 9110 §5.6.1, carries no meaning). Quoted strings are kept byte for byte.
 */
export function normalizeWhitespace (value: string): string {
  let out = ''
  let pendingSpace = false
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!
    if (quoted) {
      out += ch
      if (ch === '\\' && i + 1 < value.length) out += value[++i]!
      else if (ch === '"') quoted = false
      continue
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      pendingSpace = true
      continue
    }
    if (ch === ',') {
      out += ch
      pendingSpace = false
      continue
    }
    if (pendingSpace && out !== '' && !out.endsWith(',')) out += ' '
    pendingSpace = false
    out += ch
    if (ch === '"') quoted = true
  }
  return out
}

/** Joins repeated field lines into one value, as RFC 9110 §5.3 allows for list fields. */
export function joinField (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(', ') : value
}

/** Returns the field's only value, or undefined when absent or repeated (a singleton field sent twice is invalid). */
export function singleField (value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined
  return value
}

/** Removes surrounding double quotes and unescapes a quoted-string (RFC 9110 §5.6.4); other text is returned as is. */
export function unquote (value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(.)/g, '$1')
  }
  return value
}

/** True when `value` is a valid token (RFC 9110 §5.6.2). */
export function isToken (value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)
}

/** The first value of a possibly repeated field. */
export function firstValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Appends a member to a list field (Via, Cache-Status, X-Forwarded-For), joining repeated lines. */
export function appendMember (existing: string | string[] | undefined, member: string): string {
  const joined = joinField(existing)
  return joined === undefined ? member : `${joined}, ${member}`
}
