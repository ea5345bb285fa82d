// The `headers.*` options: fields the operator sets, adds or removes on requests sent to the
// origin and on responses sent to clients. Validated strictly: names are tokens, values carry no
// line breaks, and the message framing (RFC 9112 §6) and hop-by-hop fields are out of reach.

import { ConfigError } from '../errors.ts'
import { isToken } from '../http/fields.ts'
import { HOP_BY_HOP } from '../http/hop-by-hop.ts'

/** One direction's rules, applied in this order: remove, set, add. */
export interface FieldRules {
  /** fields removed */
  remove: readonly string[]
  /** fields replaced (every value) by this one */
  set: Readonly<Record<string, string>>
  /** values appended to the field (which may already be present) */
  add: Readonly<Record<string, string>>
}

/** Rules for both directions. */
export interface HeaderRules {
  /** on requests sent to the origin */
  request: FieldRules
  /** on responses sent to clients (forwarded, from the cache, or freshgate's own) */
  response: FieldRules
}

/**
 * Fields no rule may touch: the framing (Content-Length, Transfer-Encoding), the hop-by-hop ones
 * (Connection and those it always implies) and Host (`hostHeader` decides it).
 */
export const UNTOUCHABLE: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'content-length', 'host'])

/** A field value: visible characters, spaces and tabs, no CR, LF or NUL (RFC 9110 §5.5). */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** What a field map must look like. */
export const FIELD_MAP = 'a mapping of field names to values, such as {"x-env": "prod"} (JSON text from flags and environment)'

const WHAT = 'a field name (token) that is not Content-Length, Transfer-Encoding, Host or a hop-by-hop field'

/** Validates a field name for `key` (`where` follows the key in messages: the source); returns it lowercased. */
export function ruleName (name: unknown, key: string, where = ''): string {
  if (typeof name !== 'string' || !isToken(name) || UNTOUCHABLE.has(name.toLowerCase())) throw new ConfigError(key + where, name, WHAT)
  return name.toLowerCase()
}

/** Validates a mapping of field names to values (or its JSON text) for `key`. */
export function parseFieldMap (raw: unknown, key: string, where = ''): Record<string, string> {
  let map = raw
  if (typeof raw === 'string') {
    try { map = JSON.parse(raw) } catch { throw new ConfigError(key + where, raw, FIELD_MAP) }
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new ConfigError(key + where, raw, FIELD_MAP)
  const out: Record<string, string> = {}
  for (const [name, v] of Object.entries(map)) {
    const n = ruleName(name, `${key}.${name}`, where)
    if (typeof v !== 'string' || !VALUE.test(v)) throw new ConfigError(`${key}.${name}${where}`, v, 'a field value without line breaks')
    out[n] = v
  }
  return out
}

/** Validates a list of field names to remove for `key`. */
export function parseFieldList (raw: unknown, key: string, where = ''): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map(s => s.trim()).filter(s => s !== '') : undefined
  if (list === undefined) throw new ConfigError(key + where, raw, 'a list of field names')
  return list.map((n, i) => ruleName(n, `${key}[${i}]`, where))
}

const DIRECTIONS = ['request', 'response'] as const
const RULE_KEYS = ['remove', 'set', 'add'] as const

/** Validates a route's `headers` mapping: {request: {set, add, remove}, response: {…}}. */
export function parseHeaderRules (raw: unknown, key: string, where = ''): HeaderRules {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(key + where, raw, 'a mapping with request and response')
  const o = raw as Record<string, unknown>
  for (const k of Object.keys(o)) if (!(DIRECTIONS as readonly string[]).includes(k)) throw new ConfigError(`${key}.${k}${where}`, o[k], 'request or response')
  const one = (d: 'request' | 'response'): FieldRules => {
    const r = o[d] ?? {}
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ConfigError(`${key}.${d}${where}`, r, 'a mapping with set, add and remove')
    const m = r as Record<string, unknown>
    for (const k of Object.keys(m)) if (!(RULE_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${key}.${d}.${k}${where}`, m[k], 'set, add or remove')
    return {
      remove: m.remove === undefined ? [] : parseFieldList(m.remove, `${key}.${d}.remove`, where),
      set: m.set === undefined ? {} : parseFieldMap(m.set, `${key}.${d}.set`, where),
      add: m.add === undefined ? {} : parseFieldMap(m.add, `${key}.${d}.add`, where)
    }
  }
  return { request: one('request'), response: one('response') }
}

/** True when the rules change nothing. */
export function noRules (r: FieldRules): boolean {
  return r.remove.length === 0 && Object.keys(r.set).length === 0 && Object.keys(r.add).length === 0
}
