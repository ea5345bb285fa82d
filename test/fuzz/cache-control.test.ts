// Property-based tests of Cache-Control and Pragma parsing (RFC 9111 §5.2, §5.4): never throws,
// numeric directives stay within delta-seconds, and a record survives serialising and parsing.

import t from 'tap'
import fc from 'fast-check'
import { parseCacheControl, pragmaNoCache, type CacheControl } from '../../src/http/cache-control.ts'
import { DELTA_SECONDS_MAX } from '../../src/http/dates.ts'
import { property, anyField, fieldChars, ows, flips, mixCase, token } from './support.ts'

const NUMERIC = ['maxAge', 'sMaxAge', 'maxStale', 'minFresh', 'staleWhileRevalidate', 'staleIfError'] as const
const NAMES: Record<string, string> = {
  maxAge: 'max-age',
  sMaxAge: 's-maxage',
  maxStale: 'max-stale',
  minFresh: 'min-fresh',
  staleWhileRevalidate: 'stale-while-revalidate',
  staleIfError: 'stale-if-error',
  noStore: 'no-store',
  public: 'public',
  mustRevalidate: 'must-revalidate',
  proxyRevalidate: 'proxy-revalidate',
  immutable: 'immutable',
  noTransform: 'no-transform',
  onlyIfCached: 'only-if-cached',
  mustUnderstand: 'must-understand'
}
const FLAGS = ['noStore', 'public', 'mustRevalidate', 'proxyRevalidate', 'immutable', 'noTransform', 'onlyIfCached', 'mustUnderstand'] as const

/** True when the record obeys the invariants every parse must keep. */
function wellFormed (cc: CacheControl): boolean {
  for (const k of NUMERIC) {
    const n = cc[k]
    if (n === undefined) continue
    if (k === 'maxStale' && n === Infinity) continue
    if (!Number.isInteger(n) || n < 0 || n > DELTA_SECONDS_MAX) return false
  }
  // A qualified form exists only when the unqualified one does not (the unqualified form wins).
  if (cc.noCache && cc.noCacheFields !== undefined) return false
  if (cc.private && cc.privateFields !== undefined) return false
  for (const f of [...(cc.noCacheFields ?? []), ...(cc.privateFields ?? [])]) if (f === '' || f !== f.toLowerCase()) return false
  return true
}

const delta = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: DELTA_SECONDS_MAX }))
const fieldNames = fc.array(token.map(s => s.toLowerCase()), { minLength: 1, maxLength: 3 })

/** Any record a response or request could carry. */
const record: fc.Arbitrary<CacheControl> = fc.record({
  maxAge: fc.option(delta, { nil: undefined }),
  sMaxAge: fc.option(delta, { nil: undefined }),
  maxStale: fc.option(fc.oneof(delta, fc.constant(Infinity)), { nil: undefined }),
  minFresh: fc.option(delta, { nil: undefined }),
  staleWhileRevalidate: fc.option(delta, { nil: undefined }),
  staleIfError: fc.option(delta, { nil: undefined }),
  noCache: fc.boolean(),
  noCacheFields: fc.option(fieldNames, { nil: undefined }),
  noStore: fc.boolean(),
  private: fc.boolean(),
  privateFields: fc.option(fieldNames, { nil: undefined }),
  public: fc.boolean(),
  mustRevalidate: fc.boolean(),
  proxyRevalidate: fc.boolean(),
  immutable: fc.boolean(),
  noTransform: fc.boolean(),
  onlyIfCached: fc.boolean(),
  mustUnderstand: fc.boolean()
}, { requiredKeys: ['noCache', 'noStore', 'private', 'public', 'mustRevalidate', 'proxyRevalidate', 'immutable', 'noTransform', 'onlyIfCached', 'mustUnderstand'] }).map(cc => {
  // The qualified and unqualified forms exclude each other in a parsed record.
  const out: CacheControl = { ...cc }
  for (const k of Object.keys(out) as Array<keyof CacheControl>) if (out[k] === undefined) delete out[k]
  if (out.noCache) delete out.noCacheFields
  if (out.private) delete out.privateFields
  return out
})

/** Serialises a record as a sender might: any directive order, any name case, OWS after commas, quoted or bare numbers. */
function serialise (cc: CacheControl, order: readonly number[], caseFlips: readonly boolean[], space: string, quote: boolean): string {
  const parts: string[] = []
  for (const k of NUMERIC) {
    const n = cc[k]
    if (n === undefined) continue
    if (n === Infinity) parts.push(NAMES[k]!)
    else parts.push(`${NAMES[k]!}=${quote ? `"${n}"` : n}`)
  }
  for (const k of FLAGS) if (cc[k]) parts.push(NAMES[k]!)
  if (cc.noCache) parts.push('no-cache')
  if (cc.noCacheFields !== undefined) parts.push(`no-cache="${cc.noCacheFields.join(', ')}"`)
  if (cc.private) parts.push('private')
  if (cc.privateFields !== undefined) parts.push(`private="${cc.privateFields.join(',')}"`)
  const shuffled = parts.map((p, i) => ({ p, o: order[i % Math.max(1, order.length)] ?? 0 })).sort((a, b) => a.o - b.o).map(x => x.p)
  // Directive names are case-insensitive; field names inside quotes are lowercased by the parser.
  return shuffled.map(p => {
    const eq = p.indexOf('=')
    return eq === -1 ? mixCase(p, caseFlips) : mixCase(p.slice(0, eq), caseFlips) + p.slice(eq)
  }).join(`${space},${space}`)
}

t.test('parseCacheControl never throws, and what it returns is well formed', async t => {
  property(t, 'response mode: any input → a well-formed record', anyField, v => wellFormed(parseCacheControl(v)))
  property(t, 'request mode: any input → a well-formed record', anyField, v => wellFormed(parseCacheControl(v, 'ignore')))
  const directiveLike = fc.array(fc.tuple(fc.constantFrom(...Object.values(NAMES), 'no-cache', 'private', 'x-ext'), fc.option(fieldChars(12), { nil: undefined })), { maxLength: 6 })
    .map(ds => ds.map(([n, a]) => a === undefined ? n : `${n}=${a}`).join(', '))
  property(t, 'known directives with arbitrary arguments → a well-formed record', directiveLike, v => wellFormed(parseCacheControl(v)) && wellFormed(parseCacheControl(v, 'ignore')))
  property(t, 'a huge max-age saturates at 2^31', fc.bigInt({ min: 0n, max: 10n ** 40n }), n => {
    const got = parseCacheControl(`max-age=${n}`).maxAge
    return got === (n > BigInt(DELTA_SECONDS_MAX) ? DELTA_SECONDS_MAX : Number(n))
  })
})

t.test('parseCacheControl round-trips a serialised record', async t => {
  const arb = fc.tuple(record, fc.array(fc.integer(), { maxLength: 20 }), flips, ows, fc.boolean())
  property(t, 'record → serialised in any order, case and spacing → parsed is the record', arb, ([cc, order, caseFlips, space, quote]) => {
    return sameWithInfinity(parseCacheControl(serialise(cc, order, caseFlips, space, quote)), cc)
  })
  property(t, 'splitting the directives over several lines parses the same', fc.tuple(record, fc.nat({ max: 20 })), ([cc, at]) => {
    const parts = serialise(cc, [], [false], '', false).split(',')
    const lines = [parts.slice(0, at).join(','), parts.slice(at).join(',')].filter(l => l !== '')
    return sameWithInfinity(parseCacheControl(lines), parseCacheControl(parts.join(',')))
  })
})

t.test('pragmaNoCache never throws', async t => {
  property(t, 'any Pragma and Cache-Control → a boolean', fc.tuple(anyField, anyField), ([p, c]) => typeof pragmaNoCache(p, c) === 'boolean')
  property(t, 'a present Cache-Control always wins over Pragma', fc.tuple(anyField, fieldChars()), ([p, c]) => !pragmaNoCache(p, c))
})

/** Deep equality that treats Infinity as a value (JSON turns it into null). */
function sameWithInfinity (a: CacheControl, b: CacheControl): boolean {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  if (ka.join() !== kb.join()) return false
  return ka.every(k => JSON.stringify(a[k as keyof CacheControl]) === JSON.stringify(b[k as keyof CacheControl]) && (a[k as keyof CacheControl] === Infinity) === (b[k as keyof CacheControl] === Infinity))
}
