// Loads the configuration: defaults < config file < environment < flags, each value validated
// against the schema, unknown keys refused, the result frozen.

import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { availableParallelism } from 'node:os'
import { isIP } from 'node:net'
import { yamlParser } from '../lazy.ts'
import { ConfigError } from '../errors.ts'
import { parseRoutes } from './routes.ts'
import { isToken } from '../http/fields.ts'
import { parseFieldMap, parseFieldList, FIELD_MAP } from './headers.ts'
import { parseTtlTable, type TtlTable } from '../cache/overrides.ts'
import { SCHEMA, envName, type Config, type OptionSpec } from './schema.ts'
import { BYTE_UNITS, TIME_UNITS, durationText, quantity } from './units.ts'

/** What a TTL table must look like. */
export const TTLS_EXPECTED = 'a mapping of status codes ("200", "404") or "any" to durations, such as {"200": "10m", "any": "30s"}'

/** A TTL table as a file would state it: durations as text. */
export function ttlsText (table: TtlTable): Record<string, string> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, durationText(v)]))
}

function expected (spec: OptionSpec): string {
  const range = spec.min !== undefined || spec.max !== undefined ? ` in [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}]` : ''
  switch (spec.type) {
    case 'url': return 'an http:// or https:// URL with no path, query, fragment or credentials'
    case 'integer': return `a whole number${range}`
    case 'number': return `a number${range}`
    case 'boolean': return 'true or false'
    case 'bytes': return `a byte size such as 8388608, "512KiB" or "256MiB"${range}`
    case 'duration': return `a duration in seconds or with a unit, such as 30, "500ms", "5m"${range.replace(/\d+/g, n => `${Number(n) / 1000}s`)}`
    case 'enum': return `one of ${spec.values!.map(v => JSON.stringify(v)).join(', ')}`
    case 'list': return 'a list of strings'
    case 'count': return `a whole number${range} or "auto"`
    case 'routes': return 'a list of routes'
    case 'ttls': return TTLS_EXPECTED
    case 'fields': return FIELD_MAP
    default: return 'text'
  }
}

/** Validates one raw value (from a file, the environment or a flag) against its spec. */
export function coerce (spec: OptionSpec, raw: unknown, source: string): unknown {
  const fail = (): never => { throw new ConfigError(`${spec.key} (${source})`, raw, expected(spec)) }
  const inRange = (n: number): number => {
    if (!Number.isFinite(n) || (spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) fail()
    return n
  }
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') fail()
      return raw
    case 'url': {
      if (typeof raw !== 'string') return fail()
      let u: URL
      try { u = new URL(raw) } catch { return fail() }
      // Only scheme, host and port: a path, query, fragment or credentials would be silently lost.
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || (u.pathname !== '/' && u.pathname !== '') ||
          u.search !== '' || u.hash !== '' || raw.includes('#') || u.username !== '' || u.password !== '') fail()
      return u.origin
    }
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN
      if (!Number.isInteger(n)) fail()
      return inRange(n)
    }
    case 'number': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN
      return inRange(n)
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw
      if (typeof raw === 'string' && /^(true|1|yes|on)$/i.test(raw)) return true
      if (typeof raw === 'string' && /^(false|0|no|off)$/i.test(raw)) return false
      return fail()
    case 'bytes': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? quantity(raw, BYTE_UNITS) : undefined
      if (n === undefined || !Number.isInteger(n)) return fail()
      return inRange(n)
    }
    case 'duration': {
      const n = typeof raw === 'number' ? raw * 1000 : typeof raw === 'string' ? quantity(raw, TIME_UNITS) : undefined
      if (n === undefined) return fail()
      return inRange(Math.round(n))
    }
    case 'enum':
      if (typeof raw !== 'string' || !spec.values!.includes(raw)) fail()
      return raw
    case 'routes':
      return parseRoutes(raw, source, (v, key) => coerce({ key, type: 'duration', flag: '', doc: '', min: 0 }, v, source) as number)
    case 'fields':
      return parseFieldMap(raw, spec.key, ` (${source})`)
    case 'ttls':
      return parseTtlTable(raw, (v, key) => coerce({ key, type: 'duration', flag: '', doc: '', min: 0 }, v, source) as number,
        (key, v) => { throw new ConfigError(`${key} (${source})`, v, TTLS_EXPECTED) }, spec.key)
    case 'count': {
      if (raw === 'auto') return Math.min(availableParallelism(), spec.max ?? Infinity)
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN
      if (!Number.isInteger(n)) fail()
      return inRange(n)
    }
    case 'list': {
      const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',').map(s => s.trim()).filter(s => s !== '') : undefined
      if (list === undefined || !list.every(s => typeof s === 'string' && s !== '')) return fail()
      return list.map(s => (s as string).toLowerCase())
    }
  }
}

/** Flattens a nested config object to dotted keys, refusing keys the schema does not know. */
function flatten (obj: unknown, source: string, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(prefix === '' ? `(${source})` : `${prefix} (${source})`, obj, 'a mapping of option names to values')
  }
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`
    // Nested form only: a dotted key could silently compete with its nested twin.
    if (k.includes('.')) throw new ConfigError(`${key} (${source})`, v, `nested keys (e.g. "${k.split('.')[0]}:" with "${k.split('.').slice(1).join('.')}:" under it)`)
    if (SCHEMA.some(s => s.key === key)) out.set(key, v)
    // A section whose options are all commented out is empty, not an error.
    else if (SCHEMA.some(s => s.key.startsWith(key + '.'))) { if (v !== null) flatten(v, source, key, out) }
    else throw new ConfigError(`${key} (${source})`, v, `a known option (${knownNear(key)})`)
  }
  return out
}

function knownNear (key: string): string {
  const dot = key.lastIndexOf('.')
  const section = dot === -1 ? '' : key.slice(0, dot + 1)
  // At the top level, name the options and sections; inside a section, its options.
  const names = new Set(SCHEMA.filter(s => s.key.startsWith(section)).map(s => section + s.key.slice(section.length).split('.')[0]))
  return `see README; known here: ${[...names].join(', ')}`
}

/** Reads a YAML or JSON config file into dotted keys. */
export function readConfigFile (path: string): Map<string, unknown> {
  let text: string
  try { text = readFileSync(path, 'utf8') } catch (err) {
    throw new ConfigError('config', path, `a readable file (${(err as Error).message})`)
  }
  let data: unknown
  try {
    data = extname(path) === '.json' ? JSON.parse(text) : yamlParser().parse(text)
  } catch (err) {
    throw new ConfigError('config', path, `valid ${extname(path) === '.json' ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0]})`)
  }
  return flatten(data ?? {}, path)
}

/** Where raw option values come from, lowest precedence first. */
export interface ConfigSources {
  /** path of a YAML or JSON file */
  file?: string
  /** environment (FRESHGATE_*) */
  env?: NodeJS.ProcessEnv
  /** flags keyed by option key (dotted) */
  flags?: Record<string, unknown>
}

/**
 * The config as a file would state it: durations as "<n>ms" text, so that `--print-config` output
 * loads back to the same config (a bare number in a file means seconds).
 */
export function printable (config: Config, schema: readonly OptionSpec[] = SCHEMA): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const spec of schema) {
    const v = spec.key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config)
    if (v === undefined) continue
    assign(out, spec.key, shown(spec, v))
  }
  return out
}

/** The text that stands in for a secret in printed configs. */
export const REDACTED = '<redacted>'

/** One value as printed: secrets and URL passwords redacted, durations in their shortest exact unit. */
function shown (spec: OptionSpec, v: unknown): unknown {
  if (spec.secret === true) return REDACTED
  if (spec.type === 'duration') return durationText(v as number)
  if (spec.type === 'ttls') return ttlsText(v as TtlTable)
  if (spec.type === 'url' && typeof v === 'string') return redactUrl(v)
  return v
}

/** A URL with its password (redis://user:pass@host) replaced by "<redacted>"; other text unchanged. */
export function redactUrl (text: string): string {
  let u: URL
  try { u = new URL(text) } catch { return text }
  if (u.password === '') return text
  // Splice the text rather than set u.password, which would percent-encode "<>" (RFC 3986 §3.2:
  // authority = [ userinfo "@" ] host [ ":" port ], ending at the first "/", "?" or "#").
  const start = text.indexOf('//') + 2
  const rest = text.slice(start)
  const authority = rest.split(/[/?#]/, 1)[0]!
  const at = authority.lastIndexOf('@')
  const colon = authority.indexOf(':')
  if (at === -1 || colon === -1 || colon > at) return text
  return `${text.slice(0, start)}${authority.slice(0, colon + 1)}${REDACTED}${text.slice(start + at)}`
}

/** Builds the validated, frozen Config. Throws ConfigError naming the key, value and expectation. */
export function loadConfig (sources: ConfigSources): Config {
  const layers: Array<[string, Map<string, unknown>]> = []
  if (sources.file !== undefined) layers.push([sources.file, readConfigFile(sources.file)])
  const env = new Map<string, unknown>()
  for (const spec of SCHEMA) {
    const v = sources.env?.[envName(spec.key)]
    if (v !== undefined) env.set(spec.key, v)
  }
  // A misspelt FRESHGATE_ variable is refused like a misspelt key in the file.
  const known = new Set(SCHEMA.map(s => envName(s.key)))
  for (const name of Object.keys(sources.env ?? {})) {
    if (name.startsWith('FRESHGATE_') && !known.has(name)) throw new ConfigError(name, sources.env![name], 'a known FRESHGATE_ variable (see README "Reference")')
  }
  for (const k of Object.keys(sources.flags ?? {})) {
    if (!SCHEMA.some(s => s.key === k)) throw new ConfigError(k, sources.flags![k], 'a known option')
  }
  layers.push(['environment', env])
  const flags = new Map<string, unknown>()
  for (const [k, v] of Object.entries(sources.flags ?? {})) if (v !== undefined) flags.set(k, v)
  layers.push(['flags', flags])

  const out: Record<string, unknown> = {}
  const unset: OptionSpec[] = []
  for (const spec of SCHEMA) {
    let value = spec.default
    let set = false
    for (const [source, layer] of layers) {
      if (layer.has(spec.key)) {
        value = coerce(spec, layer.get(spec.key), source === 'environment' ? envName(spec.key) : source === 'flags' ? `--${spec.flag}` : source)
        set = true
      }
    }
    if (!set && spec.required === true) {
      throw new ConfigError(spec.key, undefined, `${expected(spec)} (set --${spec.flag}, ${envName(spec.key)} or "${spec.key}" in the config file)`)
    }
    if (!set) unset.push(spec)
    assign(out, spec.key, value)
  }
  const config = out as unknown as Config
  // Derived after everything else is known, so they follow what the operator did set.
  for (const spec of unset) if (spec.derived !== undefined) assign(out, spec.key, spec.derived.value(config))
  if (config.origin === undefined && !config.routes.some(r => r.origin !== undefined)) {
    throw new ConfigError('origin', undefined, 'an http:// or https:// URL (set --origin, FRESHGATE_ORIGIN, "origin" in the config file, or routes with origins)')
  }
  for (const [i, r] of config.routes.entries()) {
    if (r.origin === undefined && config.origin === undefined) throw new ConfigError(`routes[${i}].origin`, undefined, 'an origin URL (there is no top-level origin to fall back to)')
  }
  // Only an explicit contradiction: the derived default always fits.
  if (config.cache.maxEntrySize > config.cache.maxSize && config.cache.maxSize > 0) {
    throw new ConfigError('cache.maxEntrySize', config.cache.maxEntrySize, `at most cache.maxSize (${config.cache.maxSize})`)
  }
  if (config.admin.enabled && config.admin.port !== 0 && config.admin.port === config.port && config.admin.host === config.host) {
    throw new ConfigError('admin.port', config.admin.port, `a port other than the proxy's (${config.port})`)
  }
  for (const d of ['request', 'response'] as const) parseFieldList(config.headers[d].remove, `headers.${d}.remove`)
  for (const k of ['keyHeaders', 'keyCookies'] as const) {
    const bad = config.cache[k].find(n => !isToken(n))
    if (bad !== undefined) throw new ConfigError(`cache.${k}`, bad, k === 'keyHeaders' ? 'request field names' : 'cookie names')
  }
  for (const a of config.purge.allow) {
    const [addr, bits, extra] = a.split('/')
    const family = isIP(addr ?? '')
    const max = family === 6 ? 128 : 32
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
      throw new ConfigError('purge.allow', a, 'an IPv4/IPv6 address or CIDR range such as "10.0.0.0/8"')
    }
  }
  return deepFreeze(config)
}

function assign (obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.')
  let o = obj
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>
  o[parts[parts.length - 1]!] = Array.isArray(value) ? [...value] : value
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}
