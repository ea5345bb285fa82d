// Property-based tests of Vary matching and negotiation (RFC 9111 §4.1, RFC 9110 §12.5): the
// normal forms never throw, are idempotent, fold only what is semantically equal and never the
// member order; selectLanguage only ever picks one of the stored languages.

import t from 'tap'
import fc from 'fast-check'
import { normalizeVaryValue, normalizeAcceptEncoding, varyFields, secondaryKey } from '../../src/cache/key.ts'
import { selectLanguage, parsePreferences, parseWeight } from '../../src/http/negotiation.ts'
import { splitList, normalizeWhitespace } from '../../src/http/fields.ts'
import { property, anyField, fieldChars, ows, flips, mixCase, token } from './support.ts'

const FIELDS = ['accept', 'accept-charset', 'accept-language', 'accept-encoding', 'user-agent', 'x-custom', 'cookie']
const field = fc.constantFrom(...FIELDS)
const KNOWN = new Set(['br', 'deflate', 'gzip', 'identity', 'zstd'])

/** A language tag: 1–8 letters, then up to two subtags. */
const tag = fc.tuple(
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: 1, maxLength: 8 }),
  fc.array(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 8 }), { maxLength: 2 })
).map(([p, subs]) => [p, ...subs].join('-'))
const qvalue = fc.oneof(fc.constantFrom('0', '1', '1.0', '0.5', '0.000'), fc.integer({ min: 0, max: 999 }).map(n => `0.${String(n).padStart(3, '0')}`))
/** One Accept-Language member as the client's structure: range and optional weight. */
const langMember = fc.tuple(fc.oneof(tag, fc.constant('*')), fc.option(qvalue, { nil: undefined }))

/** Writes members with the given spacing around "," ";" and "=". */
function write (members: ReadonlyArray<readonly [string, string | undefined]>, s: readonly string[]): string {
  const sp = (i: number): string => s[i % Math.max(1, s.length)] ?? ''
  return members.map(([r, q], i) => q === undefined ? r : `${r}${sp(i)};${sp(i + 1)}q=${q}`).join(`${sp(0)},${sp(1)}`)
}

t.test('normalizeVaryValue', async t => {
  property(t, 'any field and value → a string, never a throw', fc.tuple(field, anyField), ([f, v]) => typeof normalizeVaryValue(f, v) === 'string')
  property(t, 'normalising is idempotent', fc.tuple(field, fc.oneof(fieldChars(), fc.string({ maxLength: 30 }))), ([f, v]) => {
    const once = normalizeVaryValue(f, v)
    return normalizeVaryValue(f, once) === once
  })
  property(t, 'several lines normalise as their joined form', fc.tuple(field, fc.array(fieldChars(15), { minLength: 1, maxLength: 3 })), ([f, lines]) =>
    normalizeVaryValue(f, lines) === normalizeVaryValue(f, lines.join(', ')))
  property(t, 'absent never equals present', fc.tuple(field, fieldChars()), ([f, v]) => normalizeVaryValue(f, undefined) !== normalizeVaryValue(f, v))
  property(t, 'Accept-Language: spacing around delimiters never matters', fc.tuple(fc.array(langMember, { minLength: 1, maxLength: 4 }), fc.array(ows, { minLength: 1, maxLength: 4 })), ([members, spaces]) =>
    normalizeVaryValue('accept-language', write(members, spaces)) === normalizeVaryValue('accept-language', write(members, [''])))
  property(t, 'Accept-Language: letter case never matters', fc.tuple(fc.array(langMember, { minLength: 1, maxLength: 4 }), flips), ([members, f]) =>
    normalizeVaryValue('accept-language', mixCase(write(members, ['']), f)) === normalizeVaryValue('accept-language', write(members, [''])))
  property(t, 'Accept-Language: swapping two different members always matters (issue 9 #3)', fc.tuple(tag, tag).filter(([a, b]) => a !== b), ([a, b]) =>
    normalizeVaryValue('accept-language', `${a}, ${b}`) !== normalizeVaryValue('accept-language', `${b}, ${a}`))
  property(t, 'Accept: swapping two different media types always matters', fc.tuple(token, token, token, token).filter(([a, b, c, d]) => `${a}/${b}`.toLowerCase() !== `${c}/${d}`.toLowerCase()), ([a, b, c, d]) =>
    normalizeVaryValue('accept', `${a}/${b}, ${c}/${d}`) !== normalizeVaryValue('accept', `${c}/${d}, ${a}/${b}`))
  property(t, 'other fields: spaces around commas never matter, order always does', fc.tuple(fc.array(token, { minLength: 2, maxLength: 4 }), fc.array(ows, { minLength: 1, maxLength: 4 })), ([members, spaces]) => {
    const spaced = members.map((m, i) => m + (spaces[i % spaces.length] ?? '')).join(',' + (spaces[0] ?? ''))
    const tight = normalizeVaryValue('x-custom', members.join(','))
    const reversed = normalizeVaryValue('x-custom', [...members].reverse().join(','))
    return normalizeVaryValue('x-custom', spaced) === tight && (members.join() === [...members].reverse().join() || reversed !== tight)
  })
  property(t, 'other fields: the case of letters always matters', fc.tuple(token, flips).filter(([v, f]) => mixCase(v, f) !== v), ([v, f]) =>
    normalizeVaryValue('x-custom', mixCase(v, f)) !== normalizeVaryValue('x-custom', v))
})

t.test('normalizeAcceptEncoding', async t => {
  const coding = fc.constantFrom('gzip', 'br', 'zstd', 'deflate', 'identity', 'x-gzip', 'compress', '*', 'GZIP', 'Br')
  // Weights are qvalues or noise; noise without '"' (an unbalanced quote swallows the rest of the
  // field, so such a field is order-dependent by construction) and without ',' (which would add
  // members the property does not know of).
  const noise = fieldChars(5).map(s => s.replaceAll(/[",]/g, ''))
  const member = fc.tuple(coding, fc.option(fc.oneof(qvalue, noise), { nil: undefined }), ows).map(([c, q, s]) => q === undefined ? c : `${c}${s};${s}q=${q}`)
  property(t, 'any value → one known coding (the one freshgate would serve), identity when none is acceptable', anyField.map(v => Array.isArray(v) ? v.join(',') : v ?? ''), v =>
    KNOWN.has(normalizeAcceptEncoding(v)))
  property(t, 'the order of members never matters', fc.tuple(fc.array(member, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 5 })), ([members, order]) => {
    const shuffled = members.map((m, i) => ({ m, o: order[i] ?? i })).sort((a, b) => a.o - b.o).map(x => x.m)
    return normalizeAcceptEncoding(members.join(', ')) === normalizeAcceptEncoding(shuffled.join(','))
  })
  property(t, 'a coding refused with q=0 is never chosen (identity only as the fallback)', fc.tuple(fc.array(member, { maxLength: 4 }), fc.constantFrom('gzip', 'br', 'zstd', 'deflate')), ([members, refused]) =>
    normalizeAcceptEncoding([`${refused};q=0`, ...members.filter(m => !m.toLowerCase().startsWith(refused) && !m.toLowerCase().startsWith('x-gzip'))].join(', ')) !== refused)
})

t.test('varyFields and secondaryKey', async t => {
  property(t, 'varyFields: any Vary → sorted, lowercased, unique names, or [*]', anyField, v => {
    const got = varyFields(v)
    if (got.includes('*')) return got.length === 1
    return got.every(n => n === n.toLowerCase() && n !== '') && got.join('\n') === [...new Set(got)].sort().join('\n')
  })
  property(t, 'secondaryKey never throws', fc.tuple(fc.array(field, { maxLength: 4 }), fc.dictionary(field, fc.oneof(fieldChars(), fc.array(fieldChars(10), { maxLength: 2 })))), ([fields, headers]) =>
    typeof secondaryKey(fields, headers) === 'string')
  property(t, 'normalizeWhitespace is idempotent', fc.oneof(fieldChars(), fc.string({ maxLength: 30 })), v => normalizeWhitespace(normalizeWhitespace(v)) === normalizeWhitespace(v))
  property(t, 'splitList round-trips plain members', fc.array(token, { maxLength: 6 }), members => splitList(members.join(' , ')).join('\n') === members.join('\n'))
})

t.test('selectLanguage', async t => {
  const available = fc.array(tag, { maxLength: 5 })
  property(t, 'any field → one of the available tags, or undefined', fc.tuple(anyField, available), ([v, av]) => {
    const got = selectLanguage(v, av)
    return got === undefined || av.includes(got)
  })
  property(t, 'structured fields → one of the available tags, or undefined', fc.tuple(fc.array(langMember, { maxLength: 5 }), available), ([members, av]) => {
    const got = selectLanguage(write(members, [' ']), av)
    return got === undefined || av.includes(got)
  })
  property(t, 'a client asking for exactly one stored tag gets it', fc.tuple(tag, available), ([want, others]) => selectLanguage(want, [...others.filter(o => !o.startsWith(want)), want]) === want)
  property(t, 'a range selects every tag it prefixes ("de" ⊇ "de-CH")', fc.tuple(tag, tag), ([range, sub]) => selectLanguage(range, [`${range}-${sub}`]) === `${range}-${sub}`)
  property(t, 'q=0 on every stored tag selects nothing', available, av => selectLanguage(av.map(a => `${a};q=0`).join(', '), av) === undefined)
  property(t, 'the selected tag is never weighted below another acceptable one', fc.tuple(fc.array(fc.tuple(tag, qvalue), { minLength: 1, maxLength: 5 }), flips), ([weighted, f]) => {
    // Every available tag named by its own range: its weight is that range's (first) weight.
    const av = [...new Set(weighted.map(([tg]) => tg))]
    const weightOf = (tg: string): number => parseWeight(weighted.find(([x]) => x === tg)![1]) ?? 0
    const got = selectLanguage(mixCase(weighted.map(([tg, q]) => `${tg};q=${q}`).join(', '), f), av)
    const best = Math.max(...av.map(weightOf))
    return best === 0 ? got === undefined : got !== undefined && weightOf(got) === best
  })
  property(t, 'parsePreferences never throws and keeps weights in [0, 1]', anyField, v => parsePreferences(v).every(p => p.q >= 0 && p.q <= 1))
  property(t, 'parseWeight reads every three-decimal qvalue', fc.integer({ min: 0, max: 1000 }), n => parseWeight((n / 1000).toFixed(3)) === n / 1000)
})
