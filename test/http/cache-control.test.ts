// Table tests for Cache-Control (RFC 9111 §5.2) and Pragma (§5.4) parsing.

import t from 'tap'
import { parseCacheControl, pragmaNoCache, type CacheControl, type InvalidNumber } from '../../src/http/cache-control.ts'
import { DELTA_SECONDS_MAX } from '../../src/http/dates.ts'
import { cc } from './fixtures.ts'


interface Row {
  name: string
  value: string | string[] | undefined
  mode?: InvalidNumber
  want: CacheControl
}

const rows: Row[] = [
  // absent and empty
  { name: 'when the field is absent → should have no directives', value: undefined, want: cc() },
  { name: 'when the field is empty → should have no directives', value: '', want: cc() },
  { name: 'when the field is only whitespace and commas → should have no directives', value: ' , ,', want: cc() },

  // every directive
  { name: 'when max-age is given → should read it in seconds', value: 'max-age=60', want: cc({ maxAge: 60 }) },
  { name: 'when s-maxage is given → should read it', value: 's-maxage=30', want: cc({ sMaxAge: 30 }) },
  { name: 'when min-fresh is given → should read it', value: 'min-fresh=5', want: cc({ minFresh: 5 }) },
  { name: 'when max-stale has a value → should read it', value: 'max-stale=30', want: cc({ maxStale: 30 }) },
  { name: 'when stale-while-revalidate is given → should read it (RFC 5861 §3)', value: 'stale-while-revalidate=10', want: cc({ staleWhileRevalidate: 10 }) },
  { name: 'when stale-if-error is given → should read it (RFC 5861 §4)', value: 'stale-if-error=600', want: cc({ staleIfError: 600 }) },
  { name: 'when no-store is given → should set noStore', value: 'no-store', want: cc({ noStore: true }) },
  { name: 'when public is given → should set public', value: 'public', want: cc({ public: true }) },
  { name: 'when must-revalidate is given → should set mustRevalidate', value: 'must-revalidate', want: cc({ mustRevalidate: true }) },
  { name: 'when proxy-revalidate is given → should set proxyRevalidate', value: 'proxy-revalidate', want: cc({ proxyRevalidate: true }) },
  { name: 'when immutable is given → should set immutable', value: 'immutable', want: cc({ immutable: true }) },
  { name: 'when no-transform is given → should set noTransform', value: 'no-transform', want: cc({ noTransform: true }) },
  { name: 'when only-if-cached is given → should set onlyIfCached', value: 'only-if-cached', want: cc({ onlyIfCached: true }) },
  { name: 'when must-understand is given → should set mustUnderstand', value: 'must-understand, no-store', want: cc({ mustUnderstand: true, noStore: true }) },

  // case and spacing
  { name: 'when directive names are upper case → should match them case-insensitively', value: 'MAX-AGE=60, No-Store, PUBLIC', want: cc({ maxAge: 60, noStore: true, public: true }) },
  { name: 'when members have odd spacing and tabs → should ignore it', value: '  max-age=60 ,\tpublic,,  no-transform  ', want: cc({ maxAge: 60, public: true, noTransform: true }) },
  { name: 'when spaces surround "=" in a response → the argument is invalid, so the response is stale', value: 'max-age = 60', want: cc({ maxAge: 0 }) },
  { name: 'when a space follows "=" → the argument is invalid', value: 'max-age= 60', want: cc({ maxAge: 0 }) },
  { name: 'when a space precedes "=" in a request → the directive is ignored', value: 'max-age =60', mode: 'ignore', want: cc() },
  { name: 'when the field arrives on several lines → should combine them', value: ['public', 'max-age=60'], want: cc({ public: true, maxAge: 60 }) },

  // quoted values
  { name: 'when a numeric argument is quoted → should accept it', value: 'max-age="60"', want: cc({ maxAge: 60 }) },
  { name: 'when a quoted argument holds a comma → should not split the member there', value: 'x-ext="a, max-age=1", max-age=9', want: cc({ maxAge: 9 }) },

  // duplicates: most restrictive (§4.2.1)
  { name: 'when max-age is repeated with different values in a response → stale (§4.2.1)', value: 'max-age=60, max-age=30', want: cc({ maxAge: 0 }) },
  { name: 'when the smaller duplicate comes first → still stale', value: 'max-age=30, max-age=60', want: cc({ maxAge: 0 }) },
  { name: 'when max-age is repeated with the same value → that value', value: 'max-age=60, max-age=60', want: cc({ maxAge: 60 }) },
  { name: 'when s-maxage is repeated on separate lines → stale', value: ['s-maxage=100', 's-maxage=10'], want: cc({ sMaxAge: 0 }) },
  { name: 'when a request repeats max-age → the smallest value', value: 'max-age=60, max-age=30', mode: 'ignore', want: cc({ maxAge: 30 }) },
  { name: 'when max-stale is given bare and with a value in a request → the value', value: 'max-stale, max-stale=10', mode: 'ignore', want: cc({ maxStale: 10 }) },

  // invalid numbers: 'zero' (responses) vs 'ignore' (requests)
  { name: 'when a response max-age is not a number → should read it as 0', value: 'max-age=abc', want: cc({ maxAge: 0 }) },
  { name: 'when a response max-age is negative → should read it as 0', value: 'max-age=-1', want: cc({ maxAge: 0 }) },
  { name: 'when a response max-age is a fraction → should read it as 0', value: 'max-age=1.5', want: cc({ maxAge: 0 }) },
  { name: 'when a response max-age has no argument → should read it as 0', value: 'max-age', want: cc({ maxAge: 0 }) },
  { name: 'when a response max-age has an empty argument → should read it as 0', value: 'max-age=', want: cc({ maxAge: 0 }) },
  { name: 'when a response has a valid and an invalid max-age → should read 0, the most restrictive', value: 'max-age=abc, max-age=10', want: cc({ maxAge: 0 }) },
  { name: 'when a request max-age is not a number → should ignore it', value: 'max-age=abc', mode: 'ignore', want: cc() },
  { name: 'when a request max-age has no argument → should ignore it', value: 'max-age', mode: 'ignore', want: cc() },
  { name: 'when a request min-fresh is negative → should ignore it', value: 'min-fresh=-5', mode: 'ignore', want: cc() },
  { name: 'when a request max-stale is invalid → should ignore it', value: 'max-stale=soon', mode: 'ignore', want: cc() },
  { name: 'when a request has a valid and an invalid max-age → should keep the valid one', value: 'max-age=abc, max-age=10', mode: 'ignore', want: cc({ maxAge: 10 }) },
  { name: 'when a value exceeds 2^31 → should saturate at 2^31 (§1.2.2)', value: 'max-age=99999999999', want: cc({ maxAge: DELTA_SECONDS_MAX }) },

  // max-stale without value
  { name: 'when a request max-stale has no value → should accept any staleness (Infinity)', value: 'max-stale', mode: 'ignore', want: cc({ maxStale: Infinity }) },
  { name: 'when a response-mode max-stale has no value → should still be Infinity', value: 'max-stale', want: cc({ maxStale: Infinity }) },

  // no-cache and private, with and without field lists
  { name: 'when no-cache has no argument → should set noCache', value: 'no-cache', want: cc({ noCache: true }) },
  { name: 'when no-cache lists fields → should keep them lowercased and not set noCache', value: 'no-cache="Set-Cookie, X-Foo"', want: cc({ noCacheFields: ['set-cookie', 'x-foo'] }) },
  { name: 'when no-cache names one field as a token → should keep it', value: 'no-cache=set-cookie', want: cc({ noCacheFields: ['set-cookie'] }) },
  { name: 'when no-cache has an empty list → should be unqualified no-cache', value: 'no-cache=""', want: cc({ noCache: true }) },
  { name: 'when qualified no-cache is followed by bare no-cache → should be unqualified', value: 'no-cache="a", no-cache', want: cc({ noCache: true }) },
  { name: 'when bare no-cache is followed by qualified no-cache → should stay unqualified', value: 'no-cache, no-cache="a"', want: cc({ noCache: true }) },
  { name: 'when no-cache lists fields twice → should keep both lists', value: 'no-cache="a", no-cache="b"', want: cc({ noCacheFields: ['a', 'b'] }) },
  { name: 'when private has no argument → should set private', value: 'private', want: cc({ private: true }) },
  { name: 'when private lists fields → should keep them lowercased and not set private', value: 'private="Set-Cookie, Authorization-Info"', want: cc({ privateFields: ['set-cookie', 'authorization-info'] }) },
  { name: 'when private has an empty list → should be unqualified private', value: 'private=""', want: cc({ private: true }) },
  { name: 'when qualified private is followed by bare private → should be unqualified', value: 'private="a", private', want: cc({ private: true }) },
  { name: 'when bare private is followed by qualified private → should stay unqualified', value: 'private, private="a"', want: cc({ private: true }) },

  // unknown directives
  { name: 'when directives are unknown → should ignore them (§5.2.3)', value: 'foo, bar=baz, x="y", max-age=5', want: cc({ maxAge: 5 }) },
  { name: 'when a directive only resembles a known one → should ignore it', value: 'max-ages=5, nostore, no_cache', want: cc() }
]

t.test('parseCacheControl', async t => {
  for (const r of rows) t.strictSame(parseCacheControl(r.value, r.mode), r.want, r.name)
})

t.test('pragmaNoCache', async t => {
  const rows: Array<{ name: string, pragma: string | string[] | undefined, cacheControl: string | string[] | undefined, want: boolean }> = [
    { name: 'when Pragma: no-cache comes without Cache-Control → should count (§5.4)', pragma: 'no-cache', cacheControl: undefined, want: true },
    { name: 'when Pragma: no-cache is in another case → should count', pragma: 'No-Cache', cacheControl: undefined, want: true },
    { name: 'when no-cache is one member of a Pragma list → should count', pragma: 'x-foo, no-cache', cacheControl: undefined, want: true },
    { name: 'when no-cache is on a second Pragma line → should count', pragma: ['x-foo', 'no-cache'], cacheControl: undefined, want: true },
    { name: 'when Cache-Control is also present → should not count', pragma: 'no-cache', cacheControl: 'max-age=60', want: false },
    { name: 'when Cache-Control is present on several lines → should not count', pragma: 'no-cache', cacheControl: ['max-stale'], want: false },
    { name: 'when Pragma is absent → should not count', pragma: undefined, cacheControl: undefined, want: false },
    { name: 'when Pragma holds something else → should not count', pragma: 'nocache', cacheControl: undefined, want: false }
  ]
  for (const r of rows) t.equal(pragmaNoCache(r.pragma, r.cacheControl), r.want, r.name)
})
