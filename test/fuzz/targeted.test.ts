// Property-based tests of targeted fields (RFC 9213) and their Structured Field Dictionaries
// (RFC 8941): never throws, agrees with an independent SF implementation (structured-headers) on
// what is valid and what it means, and a known directive of the wrong type voids the whole field.

import t from 'tap'
import fc from 'fast-check'
import { parseDictionary as oracleParse, serializeDictionary, Token } from 'structured-headers'
import { parseDictionary, type BareItem, type Member } from '../../src/http/structured.ts'
import { parseTargeted, effectiveDirectives } from '../../src/http/targeted.ts'
import { DELTA_SECONDS_MAX } from '../../src/http/dates.ts'
import { property, anyField, fieldChars } from './support.ts'

/** The oracle's verdict: its dictionary, or undefined when it fails parsing. */
function oracle (input: string): Map<string, unknown> | undefined {
  try {
    return oracleParse(input) as Map<string, unknown>
  } catch {
    return undefined
  }
}

/** One of our bare items in the oracle's representation (binary compared by its decoded bytes). */
function asOracle (item: BareItem): unknown {
  switch (item.type) {
    case 'token': return `token:${item.value}`
    case 'binary': return `binary:${Buffer.from(item.value, 'base64').toString('hex')}`
    default: return item.value
  }
}

function oracleItem (v: unknown): unknown {
  if (v instanceof Token) return `token:${v.toString()}`
  if (v instanceof ArrayBuffer) return `binary:${Buffer.from(v).toString('hex')}`
  return v
}

/** A member's value and parameters as plain data, from either side. */
function ours (m: Member): unknown {
  const params = [...m.params].map(([k, v]) => [k, asOracle(v)])
  if (m.kind === 'item') return [asOracle(m.item), params]
  return [m.items.map(i => [asOracle(i.item), [...i.params].map(([k, v]) => [k, asOracle(v)])]), params]
}

function theirs (m: unknown): unknown {
  const [value, params] = m as [unknown, Map<string, unknown>]
  const p = [...params].map(([k, v]) => [k, oracleItem(v)])
  if (Array.isArray(value)) return [(value as Array<[unknown, Map<string, unknown>]>).map(([v, ps]) => [oracleItem(v), [...ps].map(([k, x]) => [k, oracleItem(x)])]), p]
  return [oracleItem(value), p]
}

/** Characters of SF syntax, without RFC 9651's "@" (dates) and "%" (display strings), which RFC 8941 lacks. */
const SF_CHARS = [...'abcdefgxyz*-_.09AZ', ' ', ' ', '\t', ',', ';', '=', '"', '\\', '(', ')', '?', '1', ':', '/', '+', '-', '.', '\u00e9']
const sfNoise = fc.string({ unit: fc.constantFrom(...SF_CHARS), maxLength: 30 })

const key = fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,6}$/)
const bare = fc.oneof(
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }),
  fc.integer({ min: -999_999, max: 999_999 }).map(n => n / 1000).filter(n => !Number.isInteger(n)),
  fc.string({ unit: fc.constantFrom(...' !"#\\az~'), maxLength: 8 }),
  fc.stringMatching(/^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]{0,6}$/).map(s => new Token(s)),
  fc.boolean()
)
const params = fc.array(fc.tuple(key, bare), { maxLength: 2 }).map(ps => new Map(ps))
const dictionary = fc.array(fc.tuple(key, fc.oneof(
  fc.tuple(bare, params),
  fc.tuple(fc.array(fc.tuple(bare, params), { maxLength: 3 }), params)
)), { maxLength: 5 }).map(entries => new Map(entries))

/** Serialises a dictionary with structured-headers, or undefined when its serialiser refuses the value. */
function serialise (dict: Map<string, unknown>): string | undefined {
  try {
    return serializeDictionary(dict as Parameters<typeof serializeDictionary>[0])
  } catch {
    return undefined
  }
}

/** Near-valid input: a valid dictionary with one character inserted, deleted or replaced. */
const mutated = fc.tuple(dictionary, fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.constantFrom(...SF_CHARS)).map(([dict, at, op, ch]) => {
  const text = serialise(dict) ?? ''
  const i = text.length === 0 ? 0 : at % text.length
  if (op === 'insert') return text.slice(0, i) + ch + text.slice(i)
  if (op === 'delete') return text.slice(0, i) + text.slice(i + 1)
  return text.slice(0, i) + ch + text.slice(i + 1)
})

t.test('parseDictionary (RFC 8941)', async t => {
  property(t, 'any input → a dictionary or undefined, never a throw', anyField, v => {
    const got = parseDictionary(v)
    return got === undefined || got instanceof Map
  })
  property(t, 'agrees with structured-headers on validity and meaning', fc.oneof(sfNoise, mutated, mutated, fieldChars(30).filter(s => !/[@%]/.test(s))), input => {
    const mine = parseDictionary(input)
    const other = oracle(input)
    if (mine === undefined || other === undefined) return (mine === undefined) === (other === undefined)
    return JSON.stringify([...mine].map(([k, m]) => [k, ours(m)])) === JSON.stringify([...other].map(([k, m]) => [k, theirs(m)]))
  })
  property(t, 'reads back what structured-headers serialises', dictionary, dict => {
    const text = serialise(dict)
    // A value the serialiser refuses proves nothing.
    if (text === undefined) return true
    const mine = parseDictionary(text)
    const other = oracle(text)
    return mine !== undefined && other !== undefined &&
      JSON.stringify([...mine].map(([k, m]) => [k, ours(m)])) === JSON.stringify([...other].map(([k, m]) => [k, theirs(m)]))
  })
})

t.test('parseTargeted (RFC 9213 §2.1)', async t => {
  property(t, 'any input → undefined or directives within delta-seconds', anyField, v => {
    const cc = parseTargeted(v)
    if (cc === undefined) return true
    return [cc.maxAge, cc.sMaxAge, cc.staleWhileRevalidate, cc.staleIfError].every(n => n === undefined || (Number.isInteger(n) && n >= 0 && n <= DELTA_SECONDS_MAX))
  })
  const wrongForDelta = fc.oneof(
    fc.integer({ min: 1, max: 99999 }).map(n => `"${n}"`),
    fc.integer({ min: 0, max: 999 }).map(n => `${n}.5`),
    fc.integer({ min: 0, max: 999 }).map(n => `${n}.0`),
    fc.integer({ min: 1, max: 999 }).map(n => `-${n}`),
    fc.constantFrom('?1', '?0', 'tok', ':YWJj:', '(1 2)', '()')
  )
  const wrongForFlag = fc.oneof(fc.integer({ min: 0, max: 99 }).map(String), fc.constantFrom('"x"', 'tok', '1.5', ':YQ==:', '(a)'))
  const valid = fc.constantFrom('max-age=60', 'public', 'no-store=?0', 'private="x-a"', 'stale-if-error=5')
  property(t, 'a delta-seconds directive that is not a non-negative integer voids the field', fc.tuple(fc.constantFrom('max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'), wrongForDelta, fc.array(valid, { maxLength: 2 })), ([name, v, others]) =>
    parseTargeted([...others, `${name}=${v}`].join(', ')) === undefined)
  property(t, 'a flag directive that is not a boolean voids the field', fc.tuple(fc.constantFrom('no-store', 'public', 'must-revalidate', 'proxy-revalidate', 'immutable', 'no-transform', 'must-understand'), wrongForFlag, fc.array(valid, { maxLength: 2 })), ([name, v, others]) =>
    // Last, since a repeated key keeps its last value (RFC 8941 §4.2.2).
    parseTargeted([...others, `${name}=${v}`].join(', ')) === undefined)
  property(t, 'a non-negative integer max-age is read, saturated at 2^31', fc.integer({ min: 0, max: 999_999_999_999_999 }), n => parseTargeted(`max-age=${n}`)?.maxAge === Math.min(n, DELTA_SECONDS_MAX))
  property(t, 'an invalid targeted field falls back to Cache-Control', fc.tuple(wrongForDelta, fc.integer({ min: 0, max: 1000 })), ([v, n]) => {
    const got = effectiveDirectives({ 'cdn-cache-control': `max-age=${v}`, 'cache-control': `max-age=${n}` }, ['cdn-cache-control'])
    return got.target === undefined && got.cc.maxAge === n
  })
  property(t, 'effectiveDirectives never throws', fc.tuple(anyField, anyField), ([a, b]) => effectiveDirectives({ 'cdn-cache-control': a, 'cache-control': b }, ['cdn-cache-control']).cc !== undefined)
})
