// Table tests for the config loader: every option type, ranges, unknown keys, precedence
// file < env < flags, environment names, freezing, and the shipped example files.

import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { coerce, loadConfig, readConfigFile, TTLS_EXPECTED } from '../../src/config/load.ts'
import { SCHEMA, envName, type Config, type OptionSpec } from '../../src/config/schema.ts'
import { FIELD_MAP } from '../../src/config/headers.ts'
import { ConfigError } from '../../src/errors.ts'
import { tempFiles } from '../support.ts'

const ORIGIN = 'http://127.0.0.1:3000'
const BYTES = 'a byte size such as 8388608, "512KiB" or "256MiB"'
const DURATION = 'a duration in seconds or with a unit, such as 30, "500ms", "5m"'
const exampleDir = fileURLToPath(new URL('../../config/', import.meta.url))

const file = tempFiles(t, 'freshgate-config-')

function spec (key: string): OptionSpec {
  const s = SCHEMA.find(o => o.key === key)
  if (s === undefined) throw new Error(`no option ${key} in SCHEMA`)
  return s
}

/** The config when only the origin is set: every other option at its default. */
const defaults = (): Config => loadConfig({ flags: { origin: ORIGIN } })

/** Asserts `fn` throws a ConfigError whose message names the key, the value and the expectation. */
function refuses (t: Test, fn: () => unknown, key: string, value: unknown, expectation: string): void {
  let err: unknown
  try { fn() } catch (e) { err = e }
  if (!(err instanceof ConfigError)) {
    t.fail(`should throw a ConfigError, got ${String(err)}`)
    return
  }
  t.equal(err.code, 'FG_CONFIG_INVALID', 'code')
  t.equal(err.key, key, 'names the key')
  t.ok(err.message.startsWith(`${key}: `), `message starts with the key: ${err.message}`)
  t.ok(err.message.includes(`got ${JSON.stringify(value) ?? String(value)}`), `message names the value: ${err.message}`)
  t.ok(err.message.includes(`expected ${expectation}`), `message names the expectation: ${err.message}`)
}

/** Values each option type accepts: [key, raw value, result, why]. */
const ACCEPTED: Array<[key: string, raw: unknown, want: unknown, why: string]> = [
  ['origin', 'http://127.0.0.1:3000', 'http://127.0.0.1:3000', 'an http URL'],
  ['origin', 'https://example.com/', 'https://example.com', 'a trailing slash is dropped'],
  ['origin', 'HTTP://Example.COM:80', 'http://example.com', 'scheme and host are lowercased, the default port dropped'],
  ['host', '0.0.0.0', '0.0.0.0', 'text'],
  ['port', 0, 0, 'the lowest port (pick a free one)'],
  ['port', 65535, 65535, 'the highest port'],
  ['port', '8080', 8080, 'a whole number as text'],
  ['port', ' 42 ', 42, 'surrounding spaces'],
  ['cache.maxVariants', 1, 1, 'the minimum'],
  ['cache.heuristicFraction', 0, 0, 'the lower bound'],
  ['cache.heuristicFraction', 1, 1, 'the upper bound'],
  ['cache.heuristicFraction', '0.25', 0.25, 'a number as text'],
  ['debug', true, true, 'a YAML boolean'],
  ['debug', false, false, 'a YAML boolean'],
  ['debug', 'true', true, 'text'],
  ['debug', 'TRUE', true, 'any case'],
  ['debug', '1', true, 'an environment-style 1'],
  ['debug', 'yes', true, 'yes'],
  ['debug', 'on', true, 'on'],
  ['debug', 'false', false, 'text'],
  ['debug', '0', false, 'an environment-style 0'],
  ['debug', 'no', false, 'no'],
  ['debug', 'off', false, 'off'],
  ['cache.maxSize', 0, 0, 'zero disables storing'],
  ['cache.maxSize', 1024, 1024, 'a number of bytes'],
  ['cache.maxSize', '1024', 1024, 'a number of bytes as text'],
  ['cache.maxSize', '5b', 5, 'b is bytes'],
  ['cache.maxSize', '512KiB', 512 * 1024, 'KiB is 1024-based'],
  ['cache.maxSize', '1Ki', 1024, 'Ki is 1024-based'],
  ['cache.maxSize', '256MiB', 256 * 1024 * 1024, 'MiB is 1024-based'],
  ['cache.maxSize', '256mib', 256 * 1024 * 1024, 'units in any case'],
  ['cache.maxSize', '1GiB', 1024 ** 3, 'GiB is 1024-based'],
  ['cache.maxSize', '2k', 2000, 'k is 1000-based'],
  ['cache.maxSize', '10 kB', 10_000, 'kB with a space before it'],
  ['cache.maxSize', '3M', 3_000_000, 'M is 1000-based'],
  ['cache.maxSize', '1G', 1e9, 'G is 1000-based'],
  ['cache.maxSize', '1.5KiB', 1536, 'a fraction with a unit'],
  ['maxHeaderSize', '1KiB', 1024, 'the minimum'],
  ['maxHeaderSize', '1MiB', 1024 * 1024, 'the maximum'],
  ['cache.keepStale', 30, 30_000, 'a bare number is seconds'],
  ['cache.keepStale', '30', 30_000, 'bare text is seconds'],
  ['cache.keepStale', 0.5, 500, 'a fraction of a second'],
  ['cache.keepStale', '500ms', 500, 'ms'],
  ['cache.keepStale', '30s', 30_000, 's'],
  ['cache.keepStale', '1.5s', 1500, 'a fraction with a unit'],
  ['cache.keepStale', '5m', 300_000, 'm is minutes'],
  ['cache.keepStale', '1h', 3_600_000, 'h'],
  ['cache.keepStale', '1d', 86_400_000, 'd'],
  ['cache.keepStale', '2 H', 7_200_000, 'units in any case, with a space'],
  ['cache.keepStale', '0', 0, 'zero where the minimum is zero'],
  ['timeouts.connect', '1ms', 1, 'the one-millisecond minimum'],
  ['workers', 1, 1, 'the minimum'],
  ['workers', '256', 256, 'the maximum, as text'],
  ['workers', 'auto', Math.min(availableParallelism(), 256), '"auto" is one per CPU'],
  ['hostHeader', 'origin', 'origin', 'an enum member'],
  ['cache.setCookie', 'strip', 'strip', 'an enum member'],
  ['cache.setCookie', 'never', 'never', 'an enum member'],
  ['log.level', 'silent', 'silent', 'an enum member'],
  ['cache.targets', ['CDN-Cache-Control', 'x-fg'], ['cdn-cache-control', 'x-fg'], 'a YAML list, lowercased'],
  ['cache.targets', 'a, b ,,c', ['a', 'b', 'c'], 'comma-separated text, blanks dropped'],
  ['cache.stripTargets', [], [], 'an empty list'],
  ['routes', [], [], 'no routes'],
  ['routes', '[]', [], 'JSON text, as from flags and the environment'],
  ['cache.setCookie', 'store', 'store', 'an enum member'],
  ['cache.requestCookies', 'pass', 'pass', 'an enum member'],
  ['cache.overrideTtl', { 200: '10m', 404: 30, any: '1m' }, { 200: 600_000, 404: 30_000, any: 60_000 }, 'statuses and "any" to durations'],
  ['cache.minTtl', '{"200": "5s"}', { 200: 5000 }, 'JSON text, as from flags and the environment'],
  ['cache.maxTtl', {}, {}, 'an empty table'],
  ['headers.response.set', { 'X-Served-By': 'edge' }, { 'x-served-by': 'edge' }, 'names lowercased']
]

/** Values each option type refuses: [key, raw value, expectation named in the message, why]. */
const REFUSED: Array<[key: string, raw: unknown, expectation: string, why: string]> = [
  ['origin', 'ftp://127.0.0.1/', 'an http:// or https:// URL', 'not http(s)'],
  ['origin', 'localhost:3000', 'an http:// or https:// URL', 'no scheme'],
  ['origin', 'not a url', 'an http:// or https:// URL', 'not a URL'],
  ['origin', 'http://127.0.0.1:3000/api', 'an http:// or https:// URL', 'a path'],
  ['origin', 'http://127.0.0.1:3000/?a=1', 'an http:// or https:// URL', 'a query'],
  ['origin', 3000, 'an http:// or https:// URL', 'a number'],
  ['host', '', 'text', 'empty text'],
  ['host', 127, 'text', 'a number'],
  ['port', -1, 'a whole number in [0, 65535]', 'below the range'],
  ['port', 65536, 'a whole number in [0, 65535]', 'above the range'],
  ['port', '65536', 'a whole number in [0, 65535]', 'above the range, as text'],
  ['port', 80.5, 'a whole number in [0, 65535]', 'a fraction'],
  ['port', '80.5', 'a whole number in [0, 65535]', 'a fraction as text'],
  ['port', 'eighty', 'a whole number in [0, 65535]', 'a word'],
  ['port', '', 'a whole number in [0, 65535]', 'empty text'],
  ['port', true, 'a whole number in [0, 65535]', 'a boolean'],
  ['port', ['1', '2'], 'a whole number in [0, 65535]', 'a flag given twice'],
  ['cache.maxVariants', 0, 'a whole number in [1, 1024]', 'below the minimum'],
  ['cache.maxVariants', 1025, 'a whole number in [1, 1024]', 'above the maximum'],
  ['cache.heuristicFraction', 1.1, 'a number in [0, 1]', 'above the range'],
  ['cache.heuristicFraction', -0.1, 'a number in [0, 1]', 'below the range'],
  ['cache.heuristicFraction', 'a tenth', 'a number in [0, 1]', 'a word'],
  ['cache.heuristicFraction', '', 'a number in [0, 1]', 'empty text'],
  ['cache.heuristicFraction', ' ', 'a number in [0, 1]', 'blank text'],
  ['debug', 'maybe', 'true or false', 'a word'],
  ['debug', '', 'true or false', 'empty text'],
  ['debug', 1, 'true or false', 'a YAML number'],
  ['cache.maxSize', -1, `${BYTES} in [0, ∞]`, 'negative'],
  ['cache.maxSize', '-1MiB', `${BYTES} in [0, ∞]`, 'negative with a unit'],
  ['cache.maxSize', 1.5, `${BYTES} in [0, ∞]`, 'a fraction of a byte'],
  ['cache.maxSize', '12 parsecs', `${BYTES} in [0, ∞]`, 'an unknown unit'],
  ['cache.maxSize', '1TiB', `${BYTES} in [0, ∞]`, 'a unit past GiB'],
  ['cache.maxSize', 'MiB', `${BYTES} in [0, ∞]`, 'a unit without a number'],
  ['cache.maxSize', true, `${BYTES} in [0, ∞]`, 'a boolean'],
  ['maxHeaderSize', '512', `${BYTES} in [1024, 1048576]`, 'below the minimum'],
  ['maxHeaderSize', '2MiB', `${BYTES} in [1024, 1048576]`, 'above the maximum'],
  ['cache.keepStale', -1, `${DURATION} in [0s, ∞]`, 'negative seconds'],
  ['cache.keepStale', '-5s', `${DURATION} in [0s, ∞]`, 'negative with a unit'],
  ['cache.keepStale', '2w', `${DURATION} in [0s, ∞]`, 'weeks are not a unit'],
  ['cache.keepStale', 'soon', `${DURATION} in [0s, ∞]`, 'a word'],
  ['cache.keepStale', false, `${DURATION} in [0s, ∞]`, 'a boolean'],
  ['timeouts.connect', '0', `${DURATION} in [0.001s, ∞]`, 'zero where the minimum is 1ms'],
  ['timeouts.connect', '0.4ms', `${DURATION} in [0.001s, ∞]`, 'rounds to zero'],
  ['workers', 0, 'a whole number in [1, 256] or "auto"', 'below the minimum'],
  ['workers', '257', 'a whole number in [1, 256] or "auto"', 'above the maximum'],
  ['workers', '-1', 'a whole number in [1, 256] or "auto"', 'negative'],
  ['workers', 2.5, 'a whole number in [1, 256] or "auto"', 'a fraction'],
  ['workers', 'all', 'a whole number in [1, 256] or "auto"', 'a word other than auto'],
  ['workers', 'AUTO', 'a whole number in [1, 256] or "auto"', '"auto" is case-sensitive'],
  ['hostHeader', 'server', 'one of "client", "origin"', 'not a member'],
  ['hostHeader', 'Client', 'one of "client", "origin"', 'members are case-sensitive'],
  ['cache.setCookie', 'always', 'one of "unless-public", "strip", "never"', 'not a member'],
  ['log.level', 'trace', 'one of "debug", "info", "warn", "error", "silent"', 'not a member'],
  ['log.level', 3, 'one of "debug", "info", "warn", "error", "silent"', 'a number'],
  ['cache.targets', 5, 'a list of strings', 'a number'],
  ['cache.targets', ['a', 1], 'a list of strings', 'a list holding a number'],
  ['cache.targets', ['a', ''], 'a list of strings', 'a list holding empty text'],
  ['cache.targets', { a: 1 }, 'a list of strings', 'a mapping'],
  ['routes', 'not json', 'a JSON list of routes', 'text that is not JSON'],
  ['routes', 5, 'a list of routes', 'a number'],
  ['cache.overrideTtl', '{', TTLS_EXPECTED, 'text that is not JSON'],
  ['cache.overrideTtl', ['10m'], TTLS_EXPECTED, 'a list'],
  ['cache.requestCookies', 'strip', 'one of "store", "pass"', 'not a member'],
  ['headers.request.set', '{', FIELD_MAP, 'text that is not JSON']
]

t.test('coerce: accepted values', async t => {
  for (const [key, raw, want, why] of ACCEPTED) {
    t.same(coerce(spec(key), raw, 'test'), want, `${key} ← ${JSON.stringify(raw)}: ${why}`)
  }
})

t.test('coerce: refused values name the key, the value and the expectation', async t => {
  for (const [key, raw, expectation, why] of REFUSED) {
    t.test(`${key} ← ${JSON.stringify(raw)}: ${why} → refused`, async t => {
      refuses(t, () => coerce(spec(key), raw, 'test'), `${key} (test)`, raw, expectation)
    })
  }
})

t.test('every option type has rows in both tables', async t => {
  for (const type of new Set(SCHEMA.map(s => s.type))) {
    t.ok(ACCEPTED.some(([key]) => spec(key).type === type), `${type}: an accepted row`)
    t.ok(REFUSED.some(([key]) => spec(key).type === type), `${type}: a refused row`)
  }
})

t.test('a TTL table names the member it refuses', async t => {
  refuses(t, () => coerce(spec('cache.overrideTtl'), { '2xx': '1m' }, 'test'), 'cache.overrideTtl.2xx (test)', '1m', TTLS_EXPECTED)
  refuses(t, () => coerce(spec('cache.maxTtl'), { 200: 'soon' }, 'test'), 'cache.maxTtl.200 (test)', 'soon', 'a duration in seconds or with a unit, such as 30, "500ms", "5m" in [0s, ∞]')
})

t.test('envName: FRESHGATE_ + the key in upper snake case', async t => {
  const rows: Array<[key: string, want: string]> = [
    ['origin', 'FRESHGATE_ORIGIN'],
    ['maxHeaderSize', 'FRESHGATE_MAX_HEADER_SIZE'],
    ['cache.maxEntrySize', 'FRESHGATE_CACHE_MAX_ENTRY_SIZE'],
    ['upstream.allowH2', 'FRESHGATE_UPSTREAM_ALLOW_H2'],
    ['upstream.keepAliveTimeout', 'FRESHGATE_UPSTREAM_KEEP_ALIVE_TIMEOUT'],
    ['collapse.enabled', 'FRESHGATE_COLLAPSE_ENABLED'],
    ['log.access', 'FRESHGATE_LOG_ACCESS']
  ]
  for (const [key, want] of rows) t.equal(envName(key), want, key)
  const names = SCHEMA.map(s => envName(s.key))
  t.equal(new Set(names).size, names.length, 'no two options share a variable')
  for (const name of names) t.match(name, /^FRESHGATE_[A-Z0-9_]+$/, name)
})

/**
 * A valid value other than the default for an option, as the environment spells it, and what it
 * loads as. Derived from the type so a new option is covered without editing this file.
 */
function envSample (s: OptionSpec): [raw: string, want: unknown] {
  const d = s.default
  const step = (n: number): number => s.max === undefined || n + 1 <= s.max ? n + 1 : n - 1
  switch (s.type) {
    case 'url': return ['https://env.test', 'https://env.test']
    case 'string': return ['from-env', 'from-env']
    case 'boolean': return d === true ? ['off', false] : ['yes', true]
    case 'integer':
    case 'count': { const n = step(d as number); return [String(n), n] }
    case 'number': {
      const n = s.max !== undefined && (d as number) >= s.max ? ((d as number) + (s.min ?? 0)) / 2 : ((d as number) + (s.max ?? (d as number) + 1)) / 2
      return [String(n), n]
    }
    case 'bytes': { const n = Math.min((d as number) * 2 || 1024, s.max ?? Infinity); return [`${n / 1024}KiB`, n] }
    case 'duration': { const n = (d as number) * 2 + 500; return [`${n}ms`, n] }
    case 'enum': { const v = s.values!.find(v => v !== d)!; return [v, v] }
    // Field names for the key and header options; elsewhere valid both as field names and as addresses.
    case 'list': return /^(cache\.key|headers\.)/.test(s.key) ? ['X-A, x-b', ['x-a', 'x-b']] : ['10.0.0.1, FE80::1', ['10.0.0.1', 'fe80::1']]
    case 'routes': return ['[{"prefix":"/from-env"}]', [{ prefix: '/from-env' }]]
    case 'ttls': return ['{"200": "10m"}', { 200: 600_000 }]
    case 'fields': return ['{"X-Env": "prod"}', { 'x-env': 'prod' }]
    default: throw new Error(`no environment sample for type ${s.type}: add one here`)
  }
}

/** Reads a dotted key out of a config. */
function get (config: Config, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], config)
}

t.test('every option is read from its environment variable', async t => {
  for (const s of SCHEMA) {
    const [raw, want] = envSample(s)
    t.notSame(want, s.default, `${s.key}: the sample ${raw} differs from the default`)
    const got = get(loadConfig({ env: { FRESHGATE_ORIGIN: ORIGIN, [envName(s.key)]: raw } }), s.key)
    if (s.type === 'routes') t.match(got, want, `${envName(s.key)}=${raw} → ${s.key}`)
    else t.same(got, want, `${envName(s.key)}=${raw} → ${s.key}`)
  }
})

t.test('precedence: defaults < file < environment < flags', async t => {
  const path = file('origin: http://from-file.test\nport: 1001\ncacheName: from-file\nlog:\n  level: warn\n')
  const env = { FRESHGATE_PORT: '1002', FRESHGATE_CACHE_NAME: 'from-env' }
  const flags = { port: '1003' }
  const rows: Array<[name: string, sources: Parameters<typeof loadConfig>[0], port: number, cacheName: string]> = [
    ['defaults only', { flags: { origin: ORIGIN } }, 8080, 'freshgate'],
    ['the file over defaults', { file: path }, 1001, 'from-file'],
    ['the environment over the file', { file: path, env }, 1002, 'from-env'],
    ['flags over the environment', { file: path, env, flags }, 1003, 'from-env'],
    ['flags over the file', { file: path, flags }, 1003, 'from-file']
  ]
  for (const [name, sources, port, cacheName] of rows) {
    const c = loadConfig(sources)
    t.equal(c.port, port, `${name}: port`)
    t.equal(c.cacheName, cacheName, `${name}: cacheName`)
  }
  const all = loadConfig({ file: path, env, flags })
  t.equal(all.origin, 'http://from-file.test', 'a key set only in the file survives the layers above it')
  t.equal(all.log.level, 'warn', 'a nested key set only in the file survives the layers above it')
  t.equal(all.host, '127.0.0.1', 'a key set nowhere keeps its default')
})

t.test('an undefined flag leaves the lower layers alone', async t => {
  const c = loadConfig({ env: { FRESHGATE_ORIGIN: ORIGIN, FRESHGATE_PORT: '1002' }, flags: { port: undefined } })
  t.equal(c.port, 1002)
})

t.test('a bad value is refused naming where it came from', async t => {
  const path = file('origin: http://from-file.test\nport: eighty\n')
  t.test('file', async t => refuses(t, () => loadConfig({ file: path }), `port (${path})`, 'eighty', 'a whole number in [0, 65535]'))
  t.test('environment', async t => refuses(t, () => loadConfig({ env: { FRESHGATE_ORIGIN: ORIGIN, FRESHGATE_PORT: 'x' } }), 'port (FRESHGATE_PORT)', 'x', 'a whole number in [0, 65535]'))
  t.test('flag', async t => refuses(t, () => loadConfig({ flags: { origin: ORIGIN, port: '-1' } }), 'port (--port)', '-1', 'a whole number in [0, 65535]'))
  t.test('a bad file value is refused even when a flag overrides it', async t =>
    refuses(t, () => loadConfig({ file: path, flags: { port: '1003' } }), `port (${path})`, 'eighty', 'a whole number in [0, 65535]'))
})

t.test('config file: unknown keys and wrong shapes are refused', async t => {
  const KNOWN = 'a known option (see README; known'
  const MAPPING = 'a mapping of option names to values'
  const rows: Array<[name: string, text: string, key: string, value: unknown, expectation: string]> = [
    ['an unknown top-level key', 'origin: http://a.test\nprot: 8080\n', 'prot', 8080, KNOWN],
    ['an unknown key in a section', 'origin: http://a.test\ncache:\n  maxsize: 1MiB\n', 'cache.maxsize', '1MiB', KNOWN],
    ['an unknown section', 'origin: http://a.test\ncahce:\n  maxSize: 1MiB\n', 'cahce', { maxSize: '1MiB' }, KNOWN],
    ['a section nested in itself', 'origin: http://a.test\ncache:\n  cache:\n    maxSize: 1MiB\n', 'cache.cache', { maxSize: '1MiB' }, KNOWN],
    ['a section given a scalar', 'origin: http://a.test\ncache: 5\n', 'cache', 5, MAPPING],
    ['a section given a list', 'origin: http://a.test\nlog: [info]\n', 'log', ['info'], MAPPING],
    ['a list at the top', '- origin\n', '', ['origin'], MAPPING],
    ['a scalar at the top', 'just text\n', '', 'just text', MAPPING],
    ['a wrong type: text for a number', 'origin: http://a.test\nport: eighty\n', 'port', 'eighty', 'a whole number in [0, 65535]'],
    ['a wrong type: a number for a boolean', 'origin: http://a.test\ndebug: 1\n', 'debug', 1, 'true or false'],
    ['a wrong type: a mapping for a size', 'origin: http://a.test\ncache:\n  maxSize:\n    value: 1\n', 'cache.maxSize', { value: 1 }, BYTES],
    ['a wrong type: a list for an enum', 'origin: http://a.test\nhostHeader: [client]\n', 'hostHeader', ['client'], 'one of "client", "origin"'],
    ['a wrong type: null for a URL', 'origin:\n', 'origin', null, 'an http:// or https:// URL']
  ]
  for (const [name, text, key, value, expectation] of rows) {
    t.test(`${name} → refused`, async t => {
      const path = file(text)
      refuses(t, () => loadConfig({ file: path }), key === '' ? `(${path})` : `${key} (${path})`, value, expectation)
    })
  }
  t.test('the same in JSON', async t => {
    const path = file('{"origin": "http://a.test", "upstream": {"conections": 8}}', '.json')
    refuses(t, () => loadConfig({ file: path }), `upstream.conections (${path})`, 8, KNOWN)
  })
  t.test('the message lists the known keys of the section the unknown key is in', async t => {
    const path = file('origin: http://a.test\ncache:\n  maxsize: 1MiB\n')
    t.throws(() => loadConfig({ file: path }), { message: /cache\.maxSize, cache\.maxEntrySize/ })
    t.throws(() => loadConfig({ file: path }), { message: /^(?![\s\S]*upstream\.connections)/ }, 'and not those of other sections')
  })
})

t.test('config file: unreadable or malformed files are refused', async t => {
  const missing = join(dirname(file('')), 'missing.yaml')
  t.test('a missing file', async t => refuses(t, () => loadConfig({ file: missing }), 'config', missing, 'a readable file (ENOENT'))
  const yaml = file('origin: [unclosed\n')
  t.test('malformed YAML', async t => refuses(t, () => loadConfig({ file: yaml }), 'config', yaml, 'valid YAML ('))
  const json = file('{"origin": "http://a.test",}', '.json')
  t.test('malformed JSON', async t => refuses(t, () => loadConfig({ file: json }), 'config', json, 'valid JSON ('))
  t.test('an empty file sets nothing', async t => {
    t.same(loadConfig({ file: file(''), flags: { origin: ORIGIN } }), defaults())
  })
})

t.test('a missing origin is refused, saying where to set it', async t => {
  refuses(t, () => loadConfig({}), 'origin', undefined, 'an http:// or https:// URL (set --origin, FRESHGATE_ORIGIN')
})

t.test('cache.maxEntrySize above cache.maxSize is refused', async t => {
  refuses(t, () => loadConfig({ flags: { origin: ORIGIN, 'cache.maxSize': '1MiB', 'cache.maxEntrySize': '2MiB' } }),
    'cache.maxEntrySize', 2 * 1024 * 1024, 'at most cache.maxSize (1048576)')
  t.test('through the file and the environment too', async t => {
    const path = file('origin: http://a.test\ncache:\n  maxEntrySize: 300MiB\n')
    refuses(t, () => loadConfig({ file: path }), 'cache.maxEntrySize', 300 * 1024 * 1024, 'at most cache.maxSize (268435456)')
    refuses(t, () => loadConfig({ env: { FRESHGATE_ORIGIN: ORIGIN, FRESHGATE_CACHE_MAX_SIZE: '4MiB', FRESHGATE_CACHE_MAX_ENTRY_SIZE: '8MiB' } }),
      'cache.maxEntrySize', 8 * 1024 * 1024, 'at most cache.maxSize (4194304)')
  })
  t.test('equal sizes are accepted', async t => {
    const c = loadConfig({ flags: { origin: ORIGIN, 'cache.maxSize': '1MiB', 'cache.maxEntrySize': '1MiB' } })
    t.equal(c.cache.maxEntrySize, c.cache.maxSize)
  })
  t.test('maxSize 0 (storing off) accepts any maxEntrySize', async t => {
    const c = loadConfig({ flags: { origin: ORIGIN, 'cache.maxSize': '0', 'cache.maxEntrySize': '8MiB' } })
    t.equal(c.cache.maxSize, 0)
    t.equal(c.cache.maxEntrySize, 8 * 1024 * 1024)
  })
})

t.test('cache.maxEntrySize, when not set, follows cache.maxSize: min(8MiB, maxSize/8), at least 64KiB or the whole cache', async t => {
  const KiB = 1024
  const MiB = 1024 * KiB
  const rows: Array<[maxSize: string, entry: number, why: string]> = [
    ['256MiB', 8 * MiB, 'the default cache: the 8MiB cap'],
    ['64MiB', 8 * MiB, 'exactly eight entries of 8MiB'],
    ['4MiB', 512 * KiB, 'a small cache: an eighth (issue 12: --max-size 4MiB alone was refused)'],
    ['256KiB', 64 * KiB, 'a tiny cache: the 64KiB floor'],
    ['16KiB', 16 * KiB, 'a cache below the floor: the whole cache'],
    ['0', 0, 'storing off']
  ]
  for (const [maxSize, entry, why] of rows) {
    t.test(`when maxSize is ${maxSize} → maxEntrySize should be ${entry} (${why})`, async t => {
      t.equal(loadConfig({ flags: { origin: ORIGIN, 'cache.maxSize': maxSize } }).cache.maxEntrySize, entry)
    })
  }
  t.test('from the environment and the file too', async t => {
    t.equal(loadConfig({ env: { FRESHGATE_ORIGIN: ORIGIN, FRESHGATE_CACHE_MAX_SIZE: '4MiB' } }).cache.maxEntrySize, 512 * KiB)
    t.equal(loadConfig({ file: file('origin: http://a.test\ncache:\n  maxSize: 8MiB\n') }).cache.maxEntrySize, MiB)
  })
  t.test('an explicit value wins over the derived one', async t => {
    t.equal(loadConfig({ flags: { origin: ORIGIN, 'cache.maxSize': '4MiB', 'cache.maxEntrySize': '4MiB' } }).cache.maxEntrySize, 4 * MiB)
  })
})

t.test('an empty section header (every option in it commented out) is accepted, as config/freshgate.yaml says', async t => {
  const c = loadConfig({ file: file('origin: http://a.test\ncache:\n#  maxSize: 1MiB\nlog:\n') })
  t.same(c.cache, defaults().cache)
  t.match(readFileSync(join(exampleDir, 'freshgate.yaml'), 'utf8'), /section\n# header \(`cache:`\) left with nothing under it is accepted/)
})

t.test('the result is deeply frozen', async t => {
  const c = defaults()
  t.ok(Object.isFrozen(c), 'the config')
  t.ok(Object.isFrozen(c.cache), 'a section')
  t.ok(Object.isFrozen(c.cache.targets), 'a list')
  t.throws(() => { c.port = 1 }, TypeError, 'assigning a top-level key throws')
  t.throws(() => { c.cache.maxSize = 1 }, TypeError, 'assigning a nested key throws')
  t.throws(() => { c.cache.targets.push('x') }, TypeError, 'growing a list throws')
  t.equal(c.port, 8080, 'unchanged')
  const spec = SCHEMA.find(s => s.key === 'cache.targets')
  t.notOk(Object.isFrozen(spec?.default), 'freezing copies list defaults rather than freezing the schema')
  t.not(defaults().cache, c.cache, 'each load builds new objects')
})

t.test('the defaults', async t => {
  const c = defaults()
  for (const s of SCHEMA) {
    if (s.default === undefined) continue
    t.same(get(c, s.key), s.default, `${s.key} defaults to ${JSON.stringify(s.default)}`)
  }
})

t.test('example files', async t => {
  const yamlPath = join(exampleDir, 'freshgate.yaml')
  const jsonPath = join(exampleDir, 'freshgate.json')
  const text = readFileSync(yamlPath, 'utf8')
  t.test('config/freshgate.yaml sets every option in SCHEMA that has a default, and origin', async t => {
    const set = SCHEMA.filter(s => s.default !== undefined || s.key === 'origin').map(s => s.key)
    t.same([...readConfigFile(yamlPath).keys()].sort(), set.sort())
  })
  t.test('config/freshgate.yaml shows every option unset by default as a commented-out line', async t => {
    for (const s of SCHEMA.filter(s => s.default === undefined && s.key !== 'origin')) {
      const leaf = s.key.slice(s.key.lastIndexOf('.') + 1)
      t.match(text, new RegExp(`^ *# ${leaf}: `, 'm'), s.key)
    }
  })
  t.test('config/freshgate.yaml comments every option with its doc text', async t => {
    for (const s of SCHEMA) t.ok(text.includes(`# ${s.doc}`), s.key)
  })
  t.test('config/freshgate.yaml loads to the defaults with the example origin', async t => {
    t.same(loadConfig({ file: yamlPath }), defaults())
  })
  t.test('config/freshgate.json loads to the defaults with the example origin', async t => {
    t.same(loadConfig({ file: jsonPath }), defaults())
  })
})

t.test('strictness beyond the schema types', async t => {
  const refused = (sources: Parameters<typeof loadConfig>[0]): string => {
    try { loadConfig(sources) } catch (err) { return (err as Error).message }
    return 'accepted'
  }
  const origin = 'http://127.0.0.1:3000'
  t.match(refused({ env: { FRESHGATE_PROT: '1' }, flags: { origin } }), /^FRESHGATE_PROT: got "1", expected a known FRESHGATE_ variable/, 'a misspelt environment variable')
  t.match(refused({ flags: { origin, prot: 1 } }), /^prot: got 1, expected a known option$/, 'an unknown flag key')
  t.match(refused({ flags: { origin: 'http://user:pw@127.0.0.1:3000' } }), /^origin \(--origin\): got .*, expected an http:\/\/ or https:\/\/ URL with no path, query, fragment or credentials$/, 'credentials in the origin')
  t.match(refused({ flags: { origin: 'http://127.0.0.1:3000/#frag' } }), /expected an http/, 'a fragment in the origin')
  const dir = mkdtempSync(join(tmpdir(), 'fg-strict-'))
  const dotted = join(dir, 'dotted.yaml')
  writeFileSync(dotted, `origin: ${origin}\ncache.maxSize: 1MiB\n`)
  t.match(refused({ file: dotted }), /^cache\.maxSize \(.*dotted\.yaml\): got 1048576|^cache\.maxSize \(.*dotted\.yaml\): got "1MiB", expected nested keys/, 'a dotted key in a file')
  const empty = join(dir, 'empty.yaml')
  writeFileSync(empty, `origin: ${origin}\ncache:\n  # maxSize: 1MiB\n`)
  t.equal(refused({ file: empty }), 'accepted', 'a section with every option commented out')
})
