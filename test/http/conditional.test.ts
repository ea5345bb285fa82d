// Table tests for entity tags and the conditional fields a cache answers itself
// (RFC 9110 §8.8.3, §13.1.2, §13.1.3, §13.1.5, §13.2.2; RFC 9111 §4.3.2).

import t from 'tap'
import {
  parseETag, splitETagList, strongMatch, weakMatch, noneMatchFails, notModifiedSince, shouldAnswer304, ifRangeMatches,
  type EntityTag, type ClientConditionals
} from '../../src/http/conditional.ts'

const LM = 'Sun, 06 Nov 1994 08:49:37 GMT'
const LM_PLUS_1S = 'Sun, 06 Nov 1994 08:49:38 GMT'
const LM_PLUS_1H = 'Sun, 06 Nov 1994 09:49:37 GMT'
const LM_MINUS_1S = 'Sun, 06 Nov 1994 08:49:36 GMT'

t.test('parseETag', async t => {
  const rows: Array<{ name: string, value: string | undefined, want: EntityTag | undefined }> = [
    { name: 'when the tag is strong → should parse it with its quotes', value: '"abc"', want: { weak: false, tag: '"abc"' } },
    { name: 'when the tag is weak → should mark it weak', value: 'W/"abc"', want: { weak: true, tag: '"abc"' } },
    { name: 'when the opaque-tag is empty → should still be valid', value: '""', want: { weak: false, tag: '""' } },
    { name: 'when the tag has surrounding whitespace → should ignore it', value: '  "abc" ', want: { weak: false, tag: '"abc"' } },
    { name: 'when the field is absent → should be undefined', value: undefined, want: undefined },
    { name: 'when the tag is not quoted → should be undefined', value: 'abc', want: undefined },
    { name: 'when the weak prefix is lower case → should be undefined (W/ is case-sensitive)', value: 'w/"abc"', want: undefined },
    { name: 'when the weak tag is not quoted → should be undefined', value: 'W/abc', want: undefined },
    { name: 'when the closing quote is missing → should be undefined', value: '"abc', want: undefined },
    { name: 'when the tag contains a quote → should be undefined', value: '"a"b"', want: undefined },
    { name: 'when the value is a list of two tags → should be undefined', value: '"a", "b"', want: undefined }
  ]
  for (const r of rows) t.same(parseETag(r.value), r.want, r.name)
})

t.test('splitETagList', async t => {
  const rows: Array<{ name: string, value: string, want: string[] }> = [
    { name: 'when tags are separated by commas → should split and trim them', value: ' "a" , W/"b",, "c"', want: ['"a"', 'W/"b"', '"c"'] },
    { name: 'when a tag holds a comma → should not split it', value: '"a,b", "c"', want: ['"a,b"', '"c"'] },
    { name: 'when a tag ends in a backslash → should end it at its quote', value: '"\\", "a"', want: ['"\\"', '"a"'] },
    { name: 'when the field is * → should keep it', value: '*', want: ['*'] }
  ]
  for (const r of rows) t.same(splitETagList(r.value), r.want, r.name)
})

t.test('strongMatch and weakMatch (the table of RFC 9110 §8.8.3.2)', async t => {
  const rows: Array<{ name: string, a: string, b: string, strong: boolean, weak: boolean }> = [
    { name: 'when both tags are weak and equal → should match only weakly', a: 'W/"1"', b: 'W/"1"', strong: false, weak: true },
    { name: 'when both tags are weak and differ → should match neither way', a: 'W/"1"', b: 'W/"2"', strong: false, weak: false },
    { name: 'when one tag is weak and the opaque-tags are equal → should match only weakly', a: 'W/"1"', b: '"1"', strong: false, weak: true },
    { name: 'when both tags are strong and equal → should match both ways', a: '"1"', b: '"1"', strong: true, weak: true },
    { name: 'when both tags are strong and differ → should match neither way', a: '"1"', b: '"2"', strong: false, weak: false },
    { name: 'when tags differ only in case → should match neither way (opaque-tags are case-sensitive)', a: '"a"', b: '"A"', strong: false, weak: false }
  ]
  for (const r of rows) {
    const a = parseETag(r.a)!
    const b = parseETag(r.b)!
    t.equal(strongMatch(a, b), r.strong, `${r.name} (strong)`)
    t.equal(strongMatch(b, a), r.strong, `${r.name} (strong, swapped)`)
    t.equal(weakMatch(a, b), r.weak, `${r.name} (weak)`)
  }
})

t.test('noneMatchFails (If-None-Match, weak comparison)', async t => {
  const rows: Array<{ name: string, inm: string, etag: string | undefined, want: boolean }> = [
    { name: 'when the strong tags are equal → should answer 304', inm: '"a"', etag: '"a"', want: true },
    { name: 'when the client sends a weak tag for a strong one → should answer 304', inm: 'W/"a"', etag: '"a"', want: true },
    { name: 'when the stored tag is weak and the opaque-tags are equal → should answer 304', inm: '"a"', etag: 'W/"a"', want: true },
    { name: 'when the tags differ → should not answer 304', inm: '"b"', etag: '"a"', want: false },
    { name: 'when the matching tag is later in a list → should answer 304', inm: '"x", W/"y", "a"', etag: '"a"', want: true },
    { name: 'when no tag in the list matches → should not answer 304', inm: '"x", "y"', etag: '"a"', want: false },
    { name: 'when a tag holds a comma → should not split it', inm: '"a,b"', etag: '"a,b"', want: true },
    { name: 'when the field is "*" → should answer 304 for any stored representation', inm: '*', etag: '"a"', want: true },
    { name: 'when the field is "*" and the stored response has no ETag → should still answer 304', inm: '*', etag: undefined, want: true },
    { name: 'when the stored response has no ETag → should not answer 304', inm: '"a"', etag: undefined, want: false },
    { name: 'when the stored ETag is malformed → should not answer 304', inm: '"a"', etag: 'a', want: false },
    { name: 'when the client tag is malformed → should not answer 304', inm: 'a', etag: '"a"', want: false },
    { name: 'when the field is empty → should not answer 304', inm: '', etag: '"a"', want: false },
    { name: 'when a tag ends in a backslash and the match follows it → should answer 304 (fuzz: a backslash is not an escape in an entity-tag)', inm: '"\\", "a"', etag: '"a"', want: true },
    { name: 'when the stored tag is a lone backslash → should match it', inm: '"x", "\\"', etag: '"\\"', want: true },
    { name: 'when a tag holds a backslash before a comma → should not swallow the next tag', inm: 'W/"a\\", "b"', etag: '"b"', want: true }
  ]
  for (const r of rows) t.equal(noneMatchFails(r.inm, r.etag), r.want, r.name)
})

t.test('notModifiedSince (If-Modified-Since)', async t => {
  const rows: Array<{ name: string, ims: string, lastModified: string | undefined, date: string | undefined, want: boolean }> = [
    { name: 'when Last-Modified equals the date → should answer 304', ims: LM, lastModified: LM, date: LM_PLUS_1H, want: true },
    { name: 'when Last-Modified is earlier than the date → should answer 304', ims: LM_PLUS_1S, lastModified: LM, date: LM_PLUS_1H, want: true },
    { name: 'when Last-Modified is later than the date → should not answer 304', ims: LM_MINUS_1S, lastModified: LM, date: LM_PLUS_1H, want: false },
    { name: 'when the date is in rfc850 format → should still compare it', ims: 'Sunday, 06-Nov-94 08:49:37 GMT', lastModified: LM, date: LM_PLUS_1H, want: true },
    { name: 'when the date is invalid → should not answer 304', ims: 'yesterday', lastModified: LM, date: LM_PLUS_1H, want: false },
    { name: 'when the date is "0" → should not answer 304', ims: '0', lastModified: LM, date: LM_PLUS_1H, want: false },
    { name: 'when there is no Last-Modified and Date is not later → should answer 304 (RFC 9111 §4.3.2)', ims: LM_PLUS_1H, lastModified: undefined, date: LM, want: true },
    { name: 'when there is no Last-Modified and Date is later → should not answer 304', ims: LM, lastModified: undefined, date: LM_PLUS_1H, want: false },
    { name: 'when neither Last-Modified nor Date is usable → should not answer 304', ims: LM, lastModified: undefined, date: undefined, want: false },
    { name: 'when there is no Last-Modified and Date equals the date → should answer 304', ims: LM, lastModified: undefined, date: LM, want: true },
    { name: 'when Last-Modified is invalid → should compare with Date instead', ims: LM_PLUS_1H, lastModified: 'yesterday', date: LM, want: true },
    { name: 'when Last-Modified is invalid and Date is later → should not answer 304', ims: LM, lastModified: 'yesterday', date: LM_PLUS_1H, want: false },
    { name: 'when the dates are written in lower case → should still compare them', ims: LM.toLowerCase(), lastModified: undefined, date: LM_MINUS_1S.toUpperCase(), want: true }
  ]
  for (const r of rows) t.equal(notModifiedSince(r.ims, r.lastModified, r.date), r.want, r.name)
})

t.test('shouldAnswer304 (precedence of RFC 9110 §13.2.2)', async t => {
  const stored = { etag: '"a"', lastModified: LM, date: LM_PLUS_1H }
  const rows: Array<{ name: string, cond: ClientConditionals, want: boolean }> = [
    { name: 'when If-None-Match matches → should answer 304', cond: { ifNoneMatch: '"a"' }, want: true },
    { name: 'when If-None-Match matches and If-Modified-Since says modified → should answer 304, If-None-Match wins', cond: { ifNoneMatch: '"a"', ifModifiedSince: LM_MINUS_1S }, want: true },
    { name: 'when If-None-Match does not match and If-Modified-Since says unmodified → should not answer 304, If-Modified-Since is ignored', cond: { ifNoneMatch: '"b"', ifModifiedSince: LM_PLUS_1H }, want: false },
    { name: 'when only If-Modified-Since is sent and unmodified → should answer 304', cond: { ifModifiedSince: LM }, want: true },
    { name: 'when only If-Modified-Since is sent and modified → should not answer 304', cond: { ifModifiedSince: LM_MINUS_1S }, want: false },
    { name: 'when neither is sent → should not answer 304', cond: {}, want: false }
  ]
  for (const r of rows) t.equal(shouldAnswer304(r.cond, stored), r.want, r.name)

  // RFC 9111 §4.3.2: without Last-Modified, the stored response's Date stands in.
  const noLastModified = { date: LM }
  const fallback: Array<{ name: string, cond: ClientConditionals, want: boolean }> = [
    { name: 'when the stored response has no Last-Modified and nothing changed since its Date → should answer 304', cond: { ifModifiedSince: LM }, want: true },
    { name: 'when the stored response has no Last-Modified and If-Modified-Since is after its Date → should answer 304', cond: { ifModifiedSince: LM_PLUS_1H }, want: true },
    { name: 'when the stored response has no Last-Modified and If-Modified-Since is before its Date → should not answer 304', cond: { ifModifiedSince: LM_MINUS_1S }, want: false },
    { name: 'when the stored response has no validator at all and If-None-Match is sent → should not answer 304', cond: { ifNoneMatch: '"a"', ifModifiedSince: LM_PLUS_1H }, want: false }
  ]
  for (const r of fallback) t.equal(shouldAnswer304(r.cond, noLastModified), r.want, r.name)
})

t.test('ifRangeMatches (If-Range, RFC 9110 §13.1.5)', async t => {
  const rows: Array<{ name: string, ifRange: string, stored: { etag?: string, lastModified?: string, date?: string }, want: boolean }> = [
    { name: 'when the strong entity-tags are equal → should apply the Range', ifRange: '"a"', stored: { etag: '"a"' }, want: true },
    { name: 'when the entity-tags differ → should not apply the Range', ifRange: '"b"', stored: { etag: '"a"' }, want: false },
    { name: 'when If-Range carries a weak tag → should not apply the Range', ifRange: 'W/"a"', stored: { etag: '"a"' }, want: false },
    { name: 'when the stored tag is weak → should not apply the Range', ifRange: '"a"', stored: { etag: 'W/"a"' }, want: false },
    { name: 'when the stored response has no ETag → should not apply the Range', ifRange: '"a"', stored: { lastModified: LM, date: LM_PLUS_1H }, want: false },
    { name: 'when the entity-tag is malformed → should not apply the Range', ifRange: '"a', stored: { etag: '"a"' }, want: false },
    { name: 'when the date equals a Last-Modified one second older than Date → should apply the Range', ifRange: LM, stored: { lastModified: LM, date: LM_PLUS_1S }, want: true },
    { name: 'when the date equals a Last-Modified as new as Date → should not apply the Range (weak validator, §8.8.2.2)', ifRange: LM, stored: { lastModified: LM, date: LM }, want: false },
    { name: 'when the date is later than Last-Modified → should not apply the Range (exact match only)', ifRange: LM_PLUS_1S, stored: { lastModified: LM, date: LM_PLUS_1H }, want: false },
    { name: 'when the date is invalid → should not apply the Range', ifRange: 'soon', stored: { lastModified: LM, date: LM_PLUS_1H }, want: false },
    { name: 'when the stored response has no Last-Modified → should not apply the Range', ifRange: LM, stored: { date: LM_PLUS_1H }, want: false },
    { name: 'when the stored response has no Date → should not apply the Range', ifRange: LM, stored: { lastModified: LM }, want: false }
  ]
  for (const r of rows) t.equal(ifRangeMatches(r.ifRange, r.stored), r.want, r.name)
})
