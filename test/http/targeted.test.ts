// Table tests for targeted cache-control fields (RFC 9213) parsed as SF Dictionaries (RFC 8941 §3.2).

import t from 'tap'
import { parseTargeted, effectiveDirectives } from '../../src/http/targeted.ts'
import type { CacheControl } from '../../src/http/cache-control.ts'
import { cc } from './fixtures.ts'


t.test('parseTargeted', async t => {
  const rows: Array<{ name: string, value: string | string[] | undefined, want: CacheControl | undefined }> = [
    // valid dictionaries
    { name: 'when the field has an integer member → should read it', value: 'max-age=60', want: cc({ maxAge: 60 }) },
    { name: 'when the field has several members → should read them all', value: 'max-age=60, no-store', want: cc({ maxAge: 60, noStore: true }) },
    { name: 'when a member is ?1 → should be true', value: 'no-store=?1', want: cc({ noStore: true }) },
    { name: 'when a member carries parameters → should ignore the parameters', value: 'max-age=60;foo=bar, public;x', want: cc({ maxAge: 60, public: true }) },
    { name: 'when a member is an sf-string listing fields → should read the list', value: 'private="x-a, x-b"', want: cc({ privateFields: ['x-a', 'x-b'] }) },
    { name: 'when a member is a token → should accept it', value: 'x-ext=abc/def:1, max-age=5', want: cc({ maxAge: 5 }) },
    { name: 'when a member is a byte sequence → should still be a valid dictionary', value: 'x-ext=:aGVsbG8=:, max-age=5', want: cc({ maxAge: 5 }) },
    { name: 'when the only member is an unregistered directive → should govern with no directives (RFC 9213 §3.1 "none")', value: 'none', want: cc() },
    { name: 'when the field arrives on several lines → should combine them', value: ['max-age=60', 'must-revalidate'], want: cc({ maxAge: 60, mustRevalidate: true }) },
    { name: 'when max-age is above 2^31 → should saturate at 2^31 (RFC 9111 §1.2.2)', value: 'max-age=999999999999999', want: cc({ maxAge: 2 ** 31 }) },
    { name: 'when max-age is 0 → should read 0', value: 'max-age=0', want: cc({ maxAge: 0 }) },
    { name: 'when the stale-* extensions are integers → should read them', value: 'stale-while-revalidate=30, stale-if-error=60', want: cc({ staleWhileRevalidate: 30, staleIfError: 60 }) },
    { name: 'when no-cache is a string of field names → should qualify it', value: 'no-cache="Set-Cookie"', want: cc({ noCacheFields: ['set-cookie'] }) },
    { name: 'when private is an empty string → should be unqualified private', value: 'private=""', want: cc({ private: true }) },
    { name: 'when an unknown directive has an inner list → should ignore it', value: 'x-ext=(a "b" 1), max-age=5', want: cc({ maxAge: 5 }) },
    { name: 'when an unknown directive is a decimal or string → should ignore it', value: 'x-a=1.5, x-b="s", max-age=5', want: cc({ maxAge: 5 }) },
    { name: 'when the field has leading spaces and spaces after commas → should read it', value: '  max-age=5,   public', want: cc({ maxAge: 5, public: true }) },
    { name: 'when a parameter has spaces after ";" → should still be valid', value: 'max-age=5; a=1', want: cc({ maxAge: 5 }) },

    // known directives with a value of the wrong type: the whole field is ignored (RFC 9213 §2.1)
    { name: 'when max-age is a string → should ignore the field (max-age="10000")', value: 'max-age="10000"', want: undefined },
    { name: 'when max-age is a decimal → should ignore the field, not coerce it (max-age=1.5)', value: 'max-age=1.5', want: undefined },
    { name: 'when max-age is a decimal with a zero fraction → should ignore the field (max-age=1.0)', value: 'max-age=1.0', want: undefined },
    { name: 'when max-age is negative → should ignore the field', value: 'max-age=-1', want: undefined },
    { name: 'when max-age is a token → should ignore the field', value: 'max-age=soon', want: undefined },
    { name: 'when max-age is a boolean → should ignore the field', value: 'max-age', want: undefined },
    { name: 'when max-age is an inner list → should ignore the field', value: 'max-age=(60)', want: undefined },
    { name: 'when s-maxage is a string → should ignore the field', value: 's-maxage="60"', want: undefined },
    { name: 'when no-store is an integer → should ignore the field (no-store=3)', value: 'no-store=3', want: undefined },
    { name: 'when public is a string → should ignore the field', value: 'public="yes"', want: undefined },
    { name: 'when private is a token → should ignore the field (private=x)', value: 'private=x', want: undefined },
    { name: 'when private is a string that is not a list of field names → should ignore the field', value: 'private="a b"', want: undefined },
    { name: 'when no-cache is an integer → should ignore the field', value: 'no-cache=1', want: undefined },
    { name: 'when one directive has the wrong type and another is fine → should ignore the whole field', value: 'public, max-age="60"', want: undefined },

    // ?0 and repeated keys
    { name: 'when a member is ?0 → should be false', value: 'no-store=?0, max-age=60', want: cc({ maxAge: 60 }) },
    { name: 'when every member is ?0 → should still govern, with that directive false', value: 'no-store=?0', want: cc() },
    { name: 'when a key is repeated → should keep the last value (RFC 8941 §4.2.2)', value: 'max-age=10, max-age=60', want: cc({ maxAge: 60 }) },
    { name: 'when a true key is later set to ?0 → should be false', value: 'no-store, no-store=?0, max-age=5', want: cc({ maxAge: 5 }) },

    // invalid or empty: ignored (RFC 9213 §2.1)
    { name: 'when the field is absent → should be undefined', value: undefined, want: undefined },
    { name: 'when the field is empty → should be undefined', value: '', want: undefined },
    { name: 'when the field is only whitespace → should be undefined', value: '   ', want: undefined },
    { name: 'when a key is upper case → should be invalid', value: 'Max-Age=60', want: undefined },
    { name: 'when a key starts with a digit → should be invalid', value: '1max=60', want: undefined },
    { name: 'when a value is not an SF item → should be invalid', value: 'max-age=6o', want: undefined },
    { name: 'when a value is a Cache-Control style quoted string with a bad escape → should be invalid', value: 'private="a\\b"', want: undefined },
    { name: 'when spaces surround "=" → should be invalid', value: 'max-age = 60', want: undefined },
    { name: 'when a space follows "=" → should be invalid', value: 'max-age= 60', want: undefined },
    { name: 'when a space precedes a parameter → should be invalid', value: 'max-age=60 ;a=1', want: undefined },
    { name: 'when an integer has 16 digits → should be invalid', value: 'max-age=1234567890123456', want: undefined },
    { name: 'when one member is invalid → should reject the whole field', value: 'max-age=60, Bad', want: undefined },
    { name: 'when the field ends in a comma → should be invalid', value: 'max-age=60,', want: undefined },
    { name: 'when the field starts with a tab → should be invalid (only SP may lead)', value: '\tmax-age=60', want: undefined },
    { name: 'when a decimal has four fractional digits → should be invalid', value: 'x=1.2345, max-age=5', want: undefined },
    { name: 'when a decimal ends in a period → should be invalid', value: 'x=1., max-age=5', want: undefined },
    { name: 'when a string holds a non-ASCII character → should be invalid', value: 'x="caf\u00e9", max-age=5', want: undefined },
    { name: 'when a boolean is ?2 → should be invalid', value: 'no-store=?2', want: undefined },
    { name: 'when a value is an RFC 9651 date → should be invalid under RFC 8941', value: 'x=@1659578233, max-age=5', want: undefined },
    { name: 'when an inner list is not closed → should be invalid', value: 'x=(a b, max-age=5', want: undefined }
  ]
  for (const r of rows) t.strictSame(parseTargeted(r.value), r.want, r.name)
})

t.test('effectiveDirectives', async t => {
  const rows: Array<{
    name: string
    headers: Record<string, string | undefined>
    targets: string[]
    want: CacheControl
    target: string | undefined
  }> = [
    { name: 'when no targets are configured → should use Cache-Control', headers: { 'cache-control': 'max-age=5', 'cdn-cache-control': 'max-age=60' }, targets: [], want: cc({ maxAge: 5 }), target: undefined },
    { name: 'when the listed field is valid → should use it instead of Cache-Control', headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }, targets: ['cdn-cache-control'], want: cc({ maxAge: 60 }), target: 'cdn-cache-control' },
    { name: 'when the listed field is absent → should fall back to Cache-Control', headers: { 'cache-control': 'max-age=5' }, targets: ['cdn-cache-control'], want: cc({ maxAge: 5 }), target: undefined },
    { name: 'when the listed field is invalid → should fall back to Cache-Control', headers: { 'cache-control': 'max-age=5', 'cdn-cache-control': 'Max-Age=60' }, targets: ['cdn-cache-control'], want: cc({ maxAge: 5 }), target: undefined },
    { name: 'when the listed field is empty → should fall back to Cache-Control', headers: { 'cache-control': 'max-age=5', 'cdn-cache-control': '' }, targets: ['cdn-cache-control'], want: cc({ maxAge: 5 }), target: undefined },
    { name: 'when both listed fields are valid → should use the first in list order', headers: { 'cdn-cache-control': 'max-age=60', 'fg-cache-control': 'max-age=30' }, targets: ['fg-cache-control', 'cdn-cache-control'], want: cc({ maxAge: 30 }), target: 'fg-cache-control' },
    { name: 'when the first listed field is absent → should use the next one', headers: { 'cdn-cache-control': 'max-age=60' }, targets: ['fg-cache-control', 'cdn-cache-control'], want: cc({ maxAge: 60 }), target: 'cdn-cache-control' },
    { name: 'when the first listed field is invalid → should use the next valid one', headers: { 'fg-cache-control': 'max-age = 1', 'cdn-cache-control': 'max-age=60' }, targets: ['fg-cache-control', 'cdn-cache-control'], want: cc({ maxAge: 60 }), target: 'cdn-cache-control' },
    { name: 'when a targeted field is present but not on the list → should use Cache-Control', headers: { 'cache-control': 'max-age=5', 'cdn-cache-control': 'max-age=60' }, targets: ['fg-cache-control'], want: cc({ maxAge: 5 }), target: undefined },
    { name: 'when the targeted field sets no-store to ?0 → should govern and not inherit no-store from Cache-Control', headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'no-store=?0' }, targets: ['cdn-cache-control'], want: cc(), target: 'cdn-cache-control' },
    { name: 'when there is neither a targeted field nor Cache-Control → should have no directives', headers: {}, targets: ['cdn-cache-control'], want: cc(), target: undefined }
  ]
  for (const r of rows) {
    const got = effectiveDirectives(r.headers, r.targets)
    t.strictSame(got.cc, r.want, `${r.name} (directives)`)
    t.equal(got.target, r.target, `${r.name} (source)`)
  }
})
