// Table tests for the Structured Field Dictionary parser (RFC 8941 §3.2, §4.2.2).

import t from 'tap'
import { parseDictionary, type BareItem } from '../../src/http/structured.ts'

/** The first member's item, or 'invalid' when the field fails parsing, or 'inner-list'. */
function first (value: string | string[]): BareItem | 'invalid' | 'inner-list' | 'empty' {
  const dict = parseDictionary(value)
  if (dict === undefined) return 'invalid'
  const m = [...dict.values()][0]
  if (m === undefined) return 'empty'
  return m.kind === 'item' ? m.item : 'inner-list'
}

t.test('parseDictionary: bare item types', async t => {
  const rows: Array<{ name: string, value: string | string[], want: BareItem | 'invalid' | 'inner-list' | 'empty' }> = [
    { name: 'when a member has no value → should be true', value: 'a', want: { type: 'boolean', value: true } },
    { name: 'when a value is an integer → should be an integer', value: 'a=42', want: { type: 'integer', value: 42 } },
    { name: 'when a value is -0 → should be the integer 0, not -0', value: 'a=-0', want: { type: 'integer', value: 0 } },
    { name: 'when a value has a fraction → should be a decimal', value: 'a=1.5', want: { type: 'decimal', value: 1.5 } },
    { name: 'when a value has a zero fraction → should still be a decimal, not an integer', value: 'a=1.0', want: { type: 'decimal', value: 1 } },
    { name: 'when a value is a string with escapes → should unescape it', value: 'a="x\\"y\\\\"', want: { type: 'string', value: 'x"y\\' } },
    { name: 'when a value is a token → should be a token', value: 'a=text/html', want: { type: 'token', value: 'text/html' } },
    { name: 'when a value is a byte sequence → should keep its base64', value: 'a=:aGk=:', want: { type: 'binary', value: 'aGk=' } },
    { name: 'when a value is ?0 → should be false', value: 'a=?0', want: { type: 'boolean', value: false } },
    { name: 'when a value is an inner list → should say so', value: 'a=(1 "x" tok)', want: 'inner-list' },
    { name: 'when the field is empty → should be an empty dictionary', value: '', want: 'empty' },
    { name: 'when the field is repeated → should join its lines', value: ['a=1', 'b=2'], want: { type: 'integer', value: 1 } }
  ]
  for (const r of rows) t.same(first(r.value), r.want, r.name)
})

t.test('parseDictionary: parsing errors', async t => {
  const rows: Array<{ name: string, value: string }> = [
    { name: 'when an integer has 16 digits → should fail', value: 'a=1234567890123456' },
    { name: 'when a decimal has 13 integer digits → should fail', value: 'a=1234567890123.1' },
    { name: 'when a decimal has no fraction digits → should fail', value: 'a=1.' },
    { name: 'when a string has an unknown escape → should fail', value: 'a="\\n"' },
    { name: 'when a string is not closed → should fail', value: 'a="x' },
    { name: 'when a byte sequence is one base64 character → should fail (fuzz: base64 that decodes to no byte)', value: 'a=:Y:' },
    { name: 'when a byte sequence has padding in the middle → should fail', value: 'a=:Y=Q=:' },
    { name: 'when a boolean is ?x → should fail', value: 'a=?x' },
    { name: 'when a key has an upper-case letter → should fail', value: 'aB=1' },
    { name: 'when a member is followed by junk → should fail', value: 'a=1 b' },
    { name: 'when the field has a trailing comma → should fail', value: 'a=1,' },
    { name: 'when the field has a non-ASCII character → should fail', value: 'a=\u00e9' }
  ]
  for (const r of rows) t.equal(parseDictionary(r.value), undefined, r.name)
})
