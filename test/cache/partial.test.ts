// Table tests for partial content (cache/partial.ts): which 206 responses are kept as parts, how
// parts combine (RFC 9111 §3.4), what a Range request is answered with from them (planPartial),
// and the fields a background fill carries (cache/fill.ts).

import t from 'tap'
import {
  parseContentRange, strongValidator, partOf, mergePart, partsOf, formatParts, isComplete, covered, planPartial,
  PARTS_FIELD, type Parts, type PartialFacts, type PartialPlan, type ContentRange
} from '../../src/cache/partial.ts'
import { fillHeaders } from '../../src/cache/fill.ts'
import type { Headers, StoredRecord } from '../../src/cache/contract.ts'
import { formatHttpDate } from '../../src/http/dates.ts'

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0)
const at = (s: number): string => formatHttpDate(T0 + s * 1000)
const BODY = '0123456789'

t.test('parseContentRange', async t => {
  const rows: Array<[string | string[] | undefined, ContentRange | undefined, string]> = [
    ['bytes 0-1/10', { start: 0, end: 1, length: 10 }, 'a satisfied range with a complete length → parsed'],
    [' bytes 9-9/10 ', { start: 9, end: 9, length: 10 }, 'surrounding whitespace → parsed'],
    ['bytes 0-1/*', undefined, 'an unknown complete length → refused'],
    ['bytes */10', undefined, 'an unsatisfied range → refused'],
    ['bytes 5-4/10', undefined, 'last before first → invalid (§14.4)'],
    ['bytes 0-10/10', undefined, 'last at the complete length → invalid (§14.4)'],
    ['items 0-1/10', undefined, 'another unit → refused'],
    ['bytes 0-1/1000000000000000000000', undefined, 'a complete length past a safe integer → refused'],
    [['bytes 0-1/10', 'bytes 2-3/10'], undefined, 'a repeated field → refused'],
    [undefined, undefined, 'absent → refused']
  ]
  for (const [v, want, name] of rows) t.same(parseContentRange(v), want, name)
})

t.test('strongValidator (RFC 9110 §8.8.2.2, §8.8.3)', async t => {
  const rows: Array<[Headers, string | undefined, string]> = [
    [{ etag: '"a"' }, 'etag:"a"', 'a strong ETag → it'],
    [{ etag: 'W/"a"', 'last-modified': at(-3600), date: at(0) }, undefined, 'a weak ETag → none, even with an old Last-Modified'],
    [{ etag: 'nonsense' }, undefined, 'a malformed ETag → none'],
    [{ 'last-modified': at(-60), date: at(0) }, `lm:${at(-60)}`, 'Last-Modified 60 s before Date → strong'],
    [{ 'last-modified': at(-59), date: at(0) }, undefined, 'Last-Modified less than 60 s before Date → weak'],
    [{ 'last-modified': at(-3600) }, undefined, 'Last-Modified without Date → weak'],
    [{}, undefined, 'no validator → none']
  ]
  for (const [h, want, name] of rows) t.equal(strongValidator(h), want, name)
})

t.test('partOf: which 206 responses are kept as parts', async t => {
  const ok: Headers = { 'content-range': 'bytes 0-1/10', 'content-length': '2', etag: '"a"' }
  const rows: Array<[Headers, number, string, string]> = [
    [ok, 100, 'kept', 'a single range with a strong ETag → kept'],
    [{ ...ok, 'content-length': undefined }, 100, 'kept', 'no Content-Length (chunked) → kept; the body length is checked at the end'],
    [{ ...ok, 'content-type': 'multipart/byteranges; boundary=x' }, 100, 'multipart', 'multipart/byteranges → not stored'],
    [{ ...ok, 'content-range': undefined }, 100, 'content-range', 'no Content-Range → refused'],
    [{ ...ok, 'content-range': 'bytes 0-1/*' }, 100, 'content-range', 'unknown complete length → refused'],
    [{ ...ok, 'content-length': '3' }, 100, 'length-mismatch', 'Content-Length disagrees with Content-Range → refused'],
    [{ ...ok, etag: 'W/"a"' }, 100, 'weak-validator', 'a weak ETag → refused'],
    [{ ...ok, etag: undefined }, 100, 'weak-validator', 'no validator → refused'],
    [{ ...ok, 'content-range': 'bytes 0-1/999999999999' }, 100, 'too-large', 'a huge complete length → refused'],
    [ok, 9, 'too-large', 'a complete length past the entry limit → refused']
  ]
  for (const [h, max, want, name] of rows) {
    const got = partOf(h, max)
    t.equal('refused' in got ? got.refused : 'kept', want, name)
  }
})

/** Parts of BODY holding the given ranges, with validator "a". */
function parts (...ranges: Array<[number, number]>): Parts {
  return {
    length: BODY.length,
    validator: 'etag:"a"',
    ranges: ranges.map(([start, end]) => ({ start, end })),
    body: Buffer.from(ranges.map(([s, e]) => BODY.slice(s, e + 1)).join(''))
  }
}
const part = (start: number, end: number, length = BODY.length): ContentRange => ({ start, end, length })
const bytes = (s: number, e: number): Buffer => Buffer.from(BODY.slice(s, e + 1))

t.test('mergePart (RFC 9111 §3.4)', async t => {
  const rows: Array<[Parts | undefined, ContentRange, string, Buffer, string, string]> = [
    [undefined, part(2, 3), 'etag:"a"', bytes(2, 3), '2-3/10', 'nothing stored → the part alone'],
    [parts([0, 1]), part(4, 5), 'etag:"a"', bytes(4, 5), '0-1,4-5/10', 'disjoint parts, same validator → both, in order'],
    [parts([4, 5]), part(0, 1), 'etag:"a"', bytes(0, 1), '0-1,4-5/10', 'an earlier part → sorted before'],
    [parts([0, 1]), part(2, 3), 'etag:"a"', bytes(2, 3), '0-3/10', 'adjacent parts → coalesced'],
    [parts([0, 4]), part(3, 7), 'etag:"a"', bytes(3, 7), '0-7/10', 'overlapping parts with the same bytes → coalesced'],
    [parts([0, 9]), part(3, 4), 'etag:"a"', bytes(3, 4), '0-9/10', 'a part inside a stored one → unchanged'],
    [parts([0, 1], [8, 9]), part(1, 8), 'etag:"a"', bytes(1, 8), '0-9/10', 'a part bridging two → one range'],
    [parts([0, 1]), part(4, 5), 'etag:"b"', bytes(4, 5), '4-5/10 replaced', 'another validator → the old parts are dropped'],
    [parts([0, 1]), part(4, 5, 20), 'etag:"a"', Buffer.from('45'), '4-5/20 replaced', 'another complete length → the old parts are dropped'],
    [parts([0, 4]), part(3, 7), 'etag:"a"', Buffer.from('XX567'), 'conflict', 'overlapping bytes that differ → conflict'],
    [parts([2, 3]), part(0, 9), 'etag:"a"', Buffer.from('01X3456789'), 'conflict', 'a covering part that differs → conflict']
  ]
  for (const [stored, p, v, b, want, name] of rows) {
    const m = mergePart(stored, p, v, b)
    const got = m.kind === 'conflict' ? 'conflict' : formatParts(m.parts) + (m.replaced ? ' replaced' : '')
    t.equal(got, want, name)
    if (m.kind === 'merged' && !m.replaced) {
      const expect = m.parts.ranges.map(r => BODY.slice(r.start, r.end + 1)).join('')
      t.equal(m.parts.body.toString(), expect, `${name}: the body holds exactly those bytes`)
    }
  }
})

t.test('isComplete and covered', async t => {
  t.ok(isComplete(parts([0, 9])), 'one range over every byte → complete')
  t.notOk(isComplete(parts([0, 8])), 'a byte missing at the end → incomplete')
  t.notOk(isComplete(parts([0, 4], [6, 9])), 'a gap → incomplete')
  const p = parts([0, 1], [4, 7])
  t.equal(covered(p, 5, 6)?.toString(), '56', 'inside the second range → its bytes')
  t.equal(covered(p, 0, 1)?.toString(), '01', 'exactly the first range → its bytes')
  t.equal(covered(p, 1, 4), undefined, 'across a gap → not held')
  t.equal(covered(p, 8, 9), undefined, 'past the held bytes → not held')
})

/** A partial record as the proxy stores it (only the fields partsOf reads matter). */
function record (field: string | undefined, etag = '"a"'): StoredRecord {
  return { headers: { etag, [PARTS_FIELD]: field }, status: 206 } as unknown as StoredRecord
}

t.test('partsOf: a partial variant is used only when its field describes its body', async t => {
  t.same(partsOf(record('0-1,4-5/10'), Buffer.from('0145'))?.ranges, [{ start: 0, end: 1 }, { start: 4, end: 5 }], 'a matching field → its ranges')
  t.equal(partsOf(record('0-1,4-5/10'), Buffer.from('01')), undefined, 'a body shorter than the ranges → unused')
  t.equal(partsOf(record('4-5,0-1/10'), Buffer.from('0145')), undefined, 'ranges out of order → unused')
  t.equal(partsOf(record('0-1,2-3/10'), Buffer.from('0123')), undefined, 'adjacent ranges not coalesced → unused')
  t.equal(partsOf(record('0-10/10'), Buffer.alloc(11)), undefined, 'a range past the length → unused')
  t.equal(partsOf(record(undefined), Buffer.from('01')), undefined, 'no field → unused')
  t.equal(partsOf(record('0-1/10', 'W/"a"'), Buffer.from('01')), undefined, 'a weak validator → unused')
})

t.test('planPartial: a Range request with no complete stored response', async t => {
  const f = (over: Partial<PartialFacts>): PartialFacts => ({ range: 'bytes=2-3', ifRange: 'absent', conditional: false, shareable: true, usable: true, parts: parts([0, 4], [8, 9]), ...over })
  const rows: Array<[PartialFacts, PartialPlan, string]> = [
    [f({}), { kind: 'serve', start: 2, end: 3, length: 10 }, 'covered by a stored part → served from it'],
    [f({ range: 'bytes=-2' }), { kind: 'serve', start: 8, end: 9, length: 10 }, 'a covered suffix range → served'],
    [f({ range: 'bytes=8-' }), { kind: 'serve', start: 8, end: 9, length: 10 }, 'an open range to the end, covered → served'],
    [f({ range: 'bytes=10-' }), { kind: 'unsatisfiable', length: 10 }, 'past the complete length → 416'],
    [f({ range: 'bytes=3-8' }), { kind: 'fetch' }, 'across a gap → its range is fetched'],
    [f({ range: 'bytes=0-1,4-5' }), { kind: 'pass' }, 'several ranges → forwarded as they are'],
    [f({ range: 'items=0-1' }), { kind: 'pass' }, 'another unit → forwarded as it is'],
    [f({ ifRange: 'match' }), { kind: 'serve', start: 2, end: 3, length: 10 }, 'If-Range matching the parts → served'],
    [f({ ifRange: 'mismatch' }), { kind: 'fetch' }, 'If-Range not matching the parts → the origin decides'],
    [f({ usable: false }), { kind: 'fetch' }, 'stale parts → fetched (a 206 with the same validator refreshes them)'],
    [f({ conditional: true }), { kind: 'pass' }, 'If-None-Match or If-Modified-Since → forwarded as it is'],
    [f({ shareable: false }), { kind: 'pass' }, 'Authorization or request no-store → forwarded as it is'],
    [f({ parts: undefined }), { kind: 'fetch' }, 'no parts, one range → fetched and kept'],
    [f({ parts: undefined, range: 'bytes=0-1,4-5' }), { kind: 'pass' }, 'no parts, several ranges → forwarded as they are']
  ]
  for (const [facts, want, name] of rows) t.same(planPartial(facts), want, name)
})

t.test('fillHeaders: a fill carries only what the key needs', async t => {
  const client: Headers = { 'accept-encoding': 'gzip', 'accept-language': 'de', cookie: 'session=1', 'if-none-match': '"x"', range: 'bytes=0-1', 'cache-control': 'no-cache', 'user-agent': 'ua' }
  t.same(fillHeaders(client, []), { 'accept-encoding': 'gzip' }, 'no stored variants → Accept-Encoding only')
  t.same(fillHeaders(client, [['accept-language']]), { 'accept-encoding': 'gzip', 'accept-language': 'de' }, 'a variant varying on Accept-Language → that too')
  t.same(fillHeaders(client, [['cookie'], ['*']]), { 'accept-encoding': 'gzip', cookie: 'session=1' }, 'Vary: Cookie → the cookie; "*" → nothing')
  t.same(fillHeaders({}, [['accept-language']]), {}, 'fields the client did not send → none')
})
