// Table tests for the field-value helpers (RFC 9110 §5.3, §5.6.1, §5.6.2, §5.6.4).

import t from 'tap'
import { splitList, splitParameters, normalizeWhitespace, joinField, singleField, unquote, isToken, firstValue, appendMember } from '../../src/http/fields.ts'

type Field = string | string[] | undefined

t.test('splitList', async t => {
  const rows: Array<{ name: string, value: Field, want: string[] }> = [
    { name: 'when the field is absent → should be an empty list', value: undefined, want: [] },
    { name: 'when the field is empty → should be an empty list', value: '', want: [] },
    { name: 'when members are separated by commas → should split them', value: 'a,b,c', want: ['a', 'b', 'c'] },
    { name: 'when members carry optional whitespace → should trim it', value: '  a ,\tb  ,c ', want: ['a', 'b', 'c'] },
    { name: 'when the list has empty members → should drop them (§5.6.1)', value: ',a,, ,b,', want: ['a', 'b'] },
    { name: 'when a quoted string holds a comma → should keep it in one member', value: 'a, "b, c", d', want: ['a', '"b, c"', 'd'] },
    { name: 'when a quoted string holds an escaped quote → should not end the string there', value: 'x="a\\", b", y', want: ['x="a\\", b"', 'y'] },
    { name: 'when a directive argument is quoted → should keep name and argument together', value: 'private="set-cookie, x-a", max-age=5', want: ['private="set-cookie, x-a"', 'max-age=5'] },
    { name: 'when the field was sent on several lines → should split every line', value: ['a, b', 'c'], want: ['a', 'b', 'c'] },
    { name: 'when one of several lines is empty → should ignore it', value: ['', 'a'], want: ['a'] }
  ]
  for (const r of rows) t.same(splitList(r.value), r.want, r.name)
})

t.test('joinField', async t => {
  const rows: Array<{ name: string, value: Field, want: string | undefined }> = [
    { name: 'when the field is absent → should stay undefined', value: undefined, want: undefined },
    { name: 'when the field has one line → should return it unchanged', value: 'a, b', want: 'a, b' },
    { name: 'when the field has several lines → should join them with a comma (§5.3)', value: ['a', 'b, c'], want: 'a, b, c' }
  ]
  for (const r of rows) t.equal(joinField(r.value), r.want, r.name)
})

t.test('singleField', async t => {
  const rows: Array<{ name: string, value: Field, want: string | undefined }> = [
    { name: 'when the field is absent → should be undefined', value: undefined, want: undefined },
    { name: 'when the field has one value → should return it', value: 'x', want: 'x' },
    { name: 'when the field arrived as a one-element list → should return the element', value: ['x'], want: 'x' },
    { name: 'when a singleton field was sent twice → should be undefined', value: ['x', 'y'], want: undefined },
    { name: 'when the list is empty → should be undefined', value: [], want: undefined }
  ]
  for (const r of rows) t.equal(singleField(r.value), r.want, r.name)
})

t.test('unquote', async t => {
  const rows: Array<{ name: string, value: string, want: string }> = [
    { name: 'when the value is a token → should return it as is', value: 'abc', want: 'abc' },
    { name: 'when the value is a quoted string → should remove the quotes', value: '"abc"', want: 'abc' },
    { name: 'when the quoted string has escapes → should unescape them (§5.6.4)', value: '"a\\"b\\\\c"', want: 'a"b\\c' },
    { name: 'when the quoted string is empty → should return the empty string', value: '""', want: '' },
    { name: 'when the value is a lone quote → should return it as is', value: '"', want: '"' },
    { name: 'when only the start is quoted → should return it as is', value: '"abc', want: '"abc' }
  ]
  for (const r of rows) t.equal(unquote(r.value), r.want, r.name)
})

t.test('isToken', async t => {
  const rows: Array<{ name: string, value: string, want: boolean }> = [
    { name: 'when the value is letters and digits → should be a token', value: 'max-age0', want: true },
    { name: 'when the value uses every tchar symbol → should be a token', value: "!#$%&'*+-.^_`|~", want: true },
    { name: 'when the value is empty → should not be a token', value: '', want: false },
    { name: 'when the value contains a space → should not be a token', value: 'a b', want: false },
    { name: 'when the value contains a separator → should not be a token', value: 'a=b', want: false },
    { name: 'when the value contains a double quote → should not be a token', value: '"a"', want: false },
    { name: 'when the value contains a non-ASCII letter → should not be a token', value: 'é', want: false }
  ]
  for (const r of rows) t.equal(isToken(r.value), r.want, r.name)
})

t.test('firstValue and appendMember', async t => {
  const rows: Array<[string, unknown, unknown]> = [
    ['when the field is absent → firstValue is undefined', firstValue(undefined), undefined],
    ['when the field is repeated → firstValue is the first line', firstValue(['a', 'b']), 'a'],
    ['when the field is absent → appendMember gives the member alone', appendMember(undefined, '1.1 fg'), '1.1 fg'],
    ['when the field has a value → appendMember adds the member last', appendMember('1.0 a', '1.1 fg'), '1.0 a, 1.1 fg'],
    ['when the field is repeated → appendMember joins the lines first', appendMember(['x; hit', 'y; fwd=miss'], 'fg; hit'), 'x; hit, y; fwd=miss, fg; hit']
  ]
  for (const [name, got, want] of rows) t.equal(got, want, name)
})

t.test('splitParameters', async t => {
  const rows: Array<{ name: string, value: string, want: string[] }> = [
    { name: 'when a member has parameters → should split at ";" and trim', value: 'text/html ; q=0.5;level=1', want: ['text/html', 'q=0.5', 'level=1'] },
    { name: 'when a quoted value holds ";" → should not split it', value: 'a;p="x;y"', want: ['a', 'p="x;y"'] },
    { name: 'when there are empty parameters → should drop them', value: 'a;;b;', want: ['a', 'b'] }
  ]
  for (const r of rows) t.same(splitParameters(r.value), r.want, r.name)
})

t.test('normalizeWhitespace', async t => {
  const rows: Array<{ name: string, value: string, want: string }> = [
    { name: 'when the value has spaces around commas → should remove them', value: ' 1 , 2 ', want: '1,2' },
    { name: 'when the value has runs of spaces and tabs → should make each one space', value: 'a \t  b', want: 'a b' },
    { name: 'when a quoted string holds spaces → should keep them', value: 'x = "a  ,  b"  ', want: 'x = "a  ,  b"' },
    { name: 'when a quoted string holds an escaped quote → should keep to its end', value: '"a\\"  b"   c', want: '"a\\"  b" c' },
    { name: 'when the value is only whitespace → should be empty', value: ' \t ', want: '' },
    { name: 'when the value has no whitespace → should be unchanged', value: 'a,b;c=d', want: 'a,b;c=d' }
  ]
  for (const r of rows) t.equal(normalizeWhitespace(r.value), r.want, r.name)
})
