// Property-based tests of entity tags, conditional fields (RFC 9110 §8.8.3, §13.1) and Range
// (§14): never throws, entity tags round-trip, lists match wherever the tag sits, and a range
// answer always lies within the representation.

import t from 'tap'
import fc from 'fast-check'
import { parseETag, noneMatchFails, notModifiedSince, shouldAnswer304, ifRangeMatches, strongMatch, weakMatch } from '../../src/http/conditional.ts'
import { evaluateRange } from '../../src/http/range.ts'
import { formatHttpDate } from '../../src/http/dates.ts'
import { property, anyField, fieldChars, ows } from './support.ts'

const single = anyField.map(v => Array.isArray(v) ? v.join(', ') : v)
const text = single.map(v => v ?? '')

/** An opaque-tag's characters (RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text), commas included. */
const etagc = fc.string({ unit: fc.constantFrom(...'!#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\u0080\u00ff'), maxLength: 12 })
const etag = fc.tuple(fc.boolean(), etagc).map(([weak, tag]) => ({ weak, tag: `"${tag}"`, text: `${weak ? 'W/' : ''}"${tag}"` }))
const instant = fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }).map(ms => Math.floor(ms / 1000) * 1000)

t.test('entity tags', async t => {
  property(t, 'parseETag: any input → undefined or a quoted tag', single, v => {
    const got = parseETag(v)
    return got === undefined || (got.tag.startsWith('"') && got.tag.endsWith('"') && got.tag.length >= 2)
  })
  property(t, 'parseETag round-trips a well-formed entity-tag', etag, e => {
    const got = parseETag(e.text)
    return got !== undefined && got.weak === e.weak && got.tag === e.tag
  })
  property(t, 'strong match implies weak match, and both are symmetric', fc.tuple(etag, etag), ([a, b]) =>
    (!strongMatch(a, b) || weakMatch(a, b)) && strongMatch(a, b) === strongMatch(b, a) && weakMatch(a, b) === weakMatch(b, a))
  property(t, 'noneMatchFails never throws', fc.tuple(text, single), ([inm, e]) => typeof noneMatchFails(inm, e) === 'boolean')
  property(t, 'If-None-Match matches the stored tag wherever it sits in the list', fc.tuple(fc.array(etag, { maxLength: 4 }), etag, fc.nat(), ows), ([others, stored, at, space]) => {
    const list = others.map(o => o.text)
    list.splice(at % (list.length + 1), 0, stored.text)
    return noneMatchFails(list.join(`${space},${space}`), stored.text)
  })
  property(t, 'If-None-Match without the stored tag and without * does not match', fc.tuple(fc.array(etag, { maxLength: 4 }), etag), ([others, stored]) =>
    noneMatchFails(others.map(o => o.text).join(', '), stored.text) === others.some(o => o.tag === stored.tag))
})

t.test('dates in conditionals', async t => {
  property(t, 'notModifiedSince never throws', fc.tuple(text, single, single), ([a, b, c]) => typeof notModifiedSince(a, b, c) === 'boolean')
  property(t, 'If-Modified-Since at or after Last-Modified → 304; before → not', fc.tuple(instant, instant, instant), ([ims, lm, date]) =>
    notModifiedSince(formatHttpDate(ims), formatHttpDate(lm), formatHttpDate(date)) === (lm <= ims))
  property(t, 'without Last-Modified, Date stands in (RFC 9111 §4.3.2)', fc.tuple(instant, instant), ([ims, date]) =>
    notModifiedSince(formatHttpDate(ims), undefined, formatHttpDate(date)) === (date <= ims))
  property(t, 'shouldAnswer304 never throws', fc.tuple(fc.option(text, { nil: undefined }), fc.option(text, { nil: undefined }), single, single, single), ([inm, ims, e, lm, d]) =>
    typeof shouldAnswer304({ ifNoneMatch: inm, ifModifiedSince: ims }, { etag: e, lastModified: lm, date: d }) === 'boolean')
  property(t, 'ifRangeMatches never throws', fc.tuple(text, single, single, single), ([ir, e, lm, d]) => typeof ifRangeMatches(ir, { etag: e, lastModified: lm, date: d }) === 'boolean')
  property(t, 'If-Range never matches a weak tag', fc.tuple(etag, etag), ([a, b]) => !(a.weak || b.weak) || !ifRangeMatches(a.text, { etag: b.text }))
})

t.test('evaluateRange', async t => {
  const length = fc.oneof(fc.nat({ max: 100 }), fc.nat(), fc.constant(0), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }))
  const rangeLike = fc.tuple(fc.constantFrom('bytes=', 'Bytes = ', 'bytes=-', 'items=', ''), fc.oneof(fieldChars(20), fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`), fc.bigInt({ min: 0n, max: 10n ** 25n }).map(n => `${n}-`)))
    .map(([a, b]) => a + b)
  property(t, 'any field and length → full, unsatisfiable, or a range within the length', fc.tuple(fc.oneof(text, rangeLike), length), ([r, len]) => {
    const got = evaluateRange(r, len)
    if (got.kind !== 'partial') return true
    return Number.isSafeInteger(got.start) && Number.isSafeInteger(got.end) && got.start >= 0 && got.start <= got.end && got.end < len
  })
  property(t, 'bytes=a-b within the length → exactly [a, b]', fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 1000 }), fc.nat({ max: 1000 })), ([a, span, extra]) => {
    const got = evaluateRange(`bytes=${a}-${a + span}`, a + span + 1 + extra)
    return got.kind === 'partial' && got.start === a && got.end === a + span
  })
  property(t, 'bytes=-n → the last n bytes, or all of them', fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 })), ([n, len]) => {
    const got = evaluateRange(`bytes=-${n}`, len)
    return got.kind === 'partial' && got.end === len - 1 && got.start === Math.max(0, len - n)
  })
  property(t, 'a first position at or past the length → unsatisfiable', fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 1000 })), ([len, past]) =>
    evaluateRange(`bytes=${len + past}-`, len).kind === 'unsatisfiable')
})
