// Table tests for the primary key (RFC 9111 §2) and the Vary secondary key with its
// normalisation (§4.1).

import t from 'tap'
import { primaryKey, varyFields, normalizeAcceptEncoding, normalizeVaryValue, secondaryKey } from '../../src/cache/key.ts'

t.test('primaryKey', async t => {
  const rows: Array<{ name: string, scheme: string, host: string, path: string, want: string }> = [
    { name: 'when given scheme, host and path → should join them into a URI', scheme: 'http', host: 'example.com', path: '/a', want: 'http://example.com/a' },
    { name: 'when the host has upper case → should lowercase it', scheme: 'https', host: 'Example.COM:8443', path: '/a', want: 'https://example.com:8443/a' },
    { name: 'when the path has upper case → should keep it (paths are case-sensitive)', scheme: 'http', host: 'a', path: '/A/b', want: 'http://a/A/b' },
    { name: 'when the path has a query → should keep the query', scheme: 'http', host: 'a', path: '/q?x=1&y=2', want: 'http://a/q?x=1&y=2' }
  ]
  for (const r of rows) t.equal(primaryKey(r.scheme, r.host, r.path), r.want, r.name)
})

t.test('varyFields', async t => {
  const rows: Array<{ name: string, vary: string | string[] | undefined, want: string[] }> = [
    { name: 'when Vary is absent → should be empty', vary: undefined, want: [] },
    { name: 'when Vary is empty → should be empty', vary: '', want: [] },
    { name: 'when Vary names one field → should lowercase it', vary: 'Accept-Encoding', want: ['accept-encoding'] },
    { name: 'when Vary names fields out of order → should sort them', vary: 'user-agent, accept', want: ['accept', 'user-agent'] },
    { name: 'when Vary repeats a field in different case → should keep it once', vary: 'Accept, accept, ACCEPT', want: ['accept'] },
    { name: 'when Vary arrives on several lines → should combine them', vary: ['accept', 'accept-language, accept'], want: ['accept', 'accept-language'] },
    { name: 'when Vary is * → should be [*]', vary: '*', want: ['*'] },
    { name: 'when * is among other fields → should be [*] alone', vary: 'accept, *, cookie', want: ['*'] },
    { name: 'when Vary has odd spacing and empty members → should ignore them', vary: ' ,accept ,, cookie, ', want: ['accept', 'cookie'] }
  ]
  for (const r of rows) t.same(varyFields(r.vary), r.want, r.name)
})

t.test('normalizeAcceptEncoding', async t => {
  const rows: Array<{ name: string, value: string, want: string }> = [
    { name: 'when gzip alone is listed → should be gzip', value: 'gzip', want: 'gzip' },
    { name: 'when br and gzip are listed → should be br (ties go to br)', value: 'gzip, br', want: 'br' },
    { name: 'when a browser lists four codings → should be br, like "br, gzip"', value: 'gzip, deflate, br, zstd', want: 'br' },
    { name: 'when zstd and gzip are listed → should be zstd', value: 'gzip, zstd', want: 'zstd' },
    { name: 'when gzip has the higher weight → should be gzip', value: 'br;q=0.5, gzip', want: 'gzip' },
    { name: 'when codings are in upper case → should lowercase them', value: 'GZIP, Br', want: 'br' },
    { name: 'when a coding is refused with q=0 → should not choose it', value: 'gzip;q=0, br', want: 'br' },
    { name: 'when q=0 is written with spaces, upper case and decimals → should still refuse it', value: 'br ; Q=0.000, gzip', want: 'gzip' },
    { name: 'when the only coding is refused → should be identity', value: 'gzip;q=0', want: 'identity' },
    { name: 'when x-gzip is listed → should count as gzip', value: 'x-gzip', want: 'gzip' },
    { name: 'when an unknown coding is listed → should ignore it', value: 'compress, gzip', want: 'gzip' },
    { name: 'when only deflate is listed → should be deflate', value: 'deflate', want: 'deflate' },
    { name: 'when gzip and deflate are listed → should be gzip', value: 'deflate, gzip', want: 'gzip' },
    { name: 'when a coding is listed twice → should take its lowest weight, whatever the order', value: 'gzip, gzip;q=0', want: 'identity' },
    { name: 'when a refusal comes first → should still refuse', value: 'gzip;q=0, gzip', want: 'identity' },
    { name: 'when the field is empty → should be identity', value: '', want: 'identity' },
    { name: 'when the field is identity → should be identity', value: 'identity', want: 'identity' },
    { name: 'when identity weighs more than gzip → should be identity', value: 'gzip;q=0.5, identity', want: 'identity' },
    { name: 'when the field is * → should be br', value: '*', want: 'br' },
    { name: 'when * is refused → should be identity', value: '*;q=0', want: 'identity' },
    { name: 'when * is refused but gzip is listed → should be gzip', value: 'gzip, *;q=0', want: 'gzip' },
    { name: 'when br is refused and * accepted → should be the next coding (RFC 9110 §12.5.3)', value: 'br;q=0, *', want: 'zstd' },
    { name: 'when a weight is malformed → should count as refused', value: 'br;q=x, gzip', want: 'gzip' }
  ]
  for (const r of rows) t.equal(normalizeAcceptEncoding(r.value), r.want, r.name)
})

t.test('normalizeVaryValue', async t => {
  const rows: Array<{ name: string, field: string, a: string | string[] | undefined, b: string | string[] | undefined, same: boolean }> = [
    { name: 'when the field is absent in both → should match', field: 'accept', a: undefined, b: undefined, same: true },
    { name: 'when the field is absent in one and empty in the other → should not match', field: 'accept', a: undefined, b: '', same: false },
    { name: 'when Accept-Encoding absent and empty are compared → should not match', field: 'accept-encoding', a: undefined, b: '', same: false },
    { name: 'when Accept-Encoding lists the same codings in another order → should match', field: 'accept-encoding', a: 'gzip, br', b: 'br,gzip', same: true },
    { name: 'when Accept-Encoding lists more codings but the same one is chosen → should match', field: 'accept-encoding', a: 'br, gzip', b: 'gzip, deflate, br, zstd', same: true },
    { name: 'when Accept-Encoding leads to different codings → should not match', field: 'accept-encoding', a: 'gzip', b: 'br', same: false },
    { name: 'when Accept-Encoding refuses a coding with an invalid weight → should not count it as accepted', field: 'accept-encoding', a: 'gzip;q=abc, br', b: 'br', same: true },

    // Accept-Language: case and whitespace fold, order never (issue 9 #3)
    { name: 'when Accept-Language differs only in case and spacing → should match ("en, de" ≡ "eN,De")', field: 'accept-language', a: 'en, de', b: 'eN,De', same: true },
    { name: 'when Accept-Language lists members in another order → should not match (origins break ties by order)', field: 'accept-language', a: 'fr, en', b: 'en, fr', same: false },
    { name: 'when Accept-Language lists weighted members in another order → should not match', field: 'accept-language', a: 'fr, en;q=0.5', b: 'en; q=0.5,fr', same: false },
    { name: 'when Accept-Language has spaces around ";" and "=" → should match the tight form', field: 'accept-language', a: 'fr ; q=0.5 , en', b: 'fr;q=0.5,en', same: true },
    { name: 'when a weight is written q=0.50 or Q=0.5 → should match q=0.5', field: 'accept-language', a: 'fr;q=0.50', b: 'fr;Q=0.5', same: true },
    { name: 'when a weight is written q=1.000 → should match q=1', field: 'accept-language', a: 'fr;q=1.000', b: 'fr;q=1', same: true },
    { name: 'when the weights differ → should not match', field: 'accept-language', a: 'fr;q=0.5', b: 'fr;q=0.6', same: false },
    { name: 'when list members differ → should not match', field: 'accept-language', a: 'fr', b: 'de', same: false },
    { name: 'when a list field arrives on several lines → should match the joined form', field: 'accept-language', a: ['en', 'de'], b: 'en, de', same: true },
    { name: 'when a list has empty members → should ignore them (RFC 9110 §5.6.1)', field: 'accept-language', a: 'en,,de,', b: 'en, de', same: true },

    // Accept and Accept-Charset
    { name: 'when Accept differs in the case of a media type → should match', field: 'accept', a: 'Text/HTML, application/json', b: 'text/html,application/json', same: true },
    { name: 'when Accept lists members in another order → should not match', field: 'accept', a: 'text/html, application/json', b: 'application/json, text/html', same: false },
    { name: 'when a charset parameter differs in case or quoting → should match', field: 'accept', a: 'text/html; Charset="UTF-8"', b: 'text/html;charset=utf-8', same: true },
    { name: 'when another parameter value differs in case → should not match (values are case-sensitive)', field: 'accept', a: 'text/html;level=A', b: 'text/html;level=a', same: false },
    { name: 'when a quoted parameter value holds a space → should keep it', field: 'accept', a: 'text/x;p="a b"', b: 'text/x;p="ab"', same: false },
    { name: 'when Accept-Charset differs only in case → should match', field: 'accept-charset', a: 'UTF-8, ISO-8859-1;q=0.5', b: 'utf-8,iso-8859-1;q=0.5', same: true },
    { name: 'when Accept-Charset lists members in another order → should not match', field: 'accept-charset', a: 'utf-8, iso-8859-1', b: 'iso-8859-1, utf-8', same: false },

    // other fields: whitespace only
    { name: 'when a field differs only in spaces around commas → should match ("1,2" ≡ " 1, 2 ")', field: 'x-list', a: '1,2', b: ' 1, 2 ', same: true },
    { name: 'when a non-list field differs only in whitespace → should match', field: 'user-agent', a: '  curl/8.0   (x) ', b: 'curl/8.0 (x)', same: true },
    { name: 'when a field arrives on several lines → should match the joined form', field: 'x-list', a: ['1', '2'], b: '1,2', same: true },
    { name: 'when whitespace inside a quoted string differs → should not match', field: 'x-q', a: '"a  b"', b: '"a b"', same: false },
    { name: 'when a non-list field has members in another order → should not match (order may matter)', field: 'cookie', a: 'a=1, b=2', b: 'b=2, a=1', same: false },
    { name: 'when words are separated by a space or not at all → should not match', field: 'x-mode', a: 'a b', b: 'ab', same: false },
    { name: 'when a field of unknown grammar differs in case → should not match', field: 'x-mode', a: 'Dark', b: 'dark', same: false },
    { name: 'when a present value is a NUL → should not match the absent field (fuzz)', field: 'accept', a: '\u0000', b: undefined, same: false },
    { name: 'when a value holds NUL, CR or LF → should read them as spaces (RFC 9110 §5.5)', field: 'x-mode', a: 'a\r\nb\u0000c', b: 'a b c', same: true }
  ]
  for (const r of rows) t.equal(normalizeVaryValue(r.field, r.a) === normalizeVaryValue(r.field, r.b), r.same, r.name)
})

t.test('secondaryKey', async t => {
  const rows: Array<{ name: string, fields: string[], headers: Record<string, string | undefined>, want: string }> = [
    { name: 'when Vary is empty → should be the empty key', fields: [], headers: { accept: 'x' }, want: '' },
    { name: 'when one field varies → should hold its normalised value', fields: ['accept-encoding'], headers: { 'accept-encoding': 'gzip, br' }, want: 'accept-encoding=br\n' },
    { name: 'when two fields vary → should hold both in field order', fields: ['accept', 'accept-encoding'], headers: { accept: 'b, A', 'accept-encoding': 'gzip' }, want: 'accept=b,a\naccept-encoding=gzip\n' },
    { name: 'when a varying field is absent → should mark it absent', fields: ['accept-language'], headers: {}, want: 'accept-language=\u0000\n' },
    { name: 'when a varying field is empty → should hold the empty value', fields: ['accept-language'], headers: { 'accept-language': '' }, want: 'accept-language=\n' },
    { name: 'when a value holds a line break → should not forge another line of the key', fields: ['x-a', 'x-b'], headers: { 'x-a': '1\nx-b=2', 'x-b': '2' }, want: 'x-a=1 x-b=2\nx-b=2\n' }
  ]
  for (const r of rows) t.equal(secondaryKey(r.fields, r.headers), r.want, r.name)
})

// keyFor, keyPath and varyValues (its own import, kept with its block so it merges apart from the rows above).
import { keyFor, keyPath, varyValues } from '../../src/cache/key.ts'
import type { Route, RouteCache } from '../../src/config/routes.ts'

t.test('keyFor, keyPath and varyValues', async t => {
  const plain: RouteCache = { enabled: true, defaultTtl: 0, ignoreQuery: false, sortQuery: false }
  t.test('keyPath', async t => {
    const rows: Array<{ name: string, path: string, cache: Partial<RouteCache>, want: string }> = [
      { name: 'when the path has no query → should keep it as is', path: '/a/b', cache: { ignoreQuery: true, sortQuery: true }, want: '/a/b' },
      { name: 'when the route keeps the query as sent → should keep its order', path: '/a?b=2&a=1', cache: {}, want: '/a?b=2&a=1' },
      { name: 'when the route ignores the query → should drop it', path: '/a?b=2&a=1', cache: { ignoreQuery: true }, want: '/a' },
      { name: 'when the route sorts the query → should sort its parameters', path: '/a?b=2&a=1', cache: { sortQuery: true }, want: '/a?a=1&b=2' },
      { name: 'when the route ignores some parameters → should drop only those', path: '/a?utm_source=x&id=7&fbclid=y', cache: { ignoreQuery: ['utm_source', 'fbclid'] }, want: '/a?id=7' },
      { name: 'when the route ignores some parameters and sorts → should drop and sort', path: '/a?z=1&utm=2&b=3', cache: { ignoreQuery: ['utm'], sortQuery: true }, want: '/a?b=3&z=1' },
      { name: 'when every parameter is ignored → should drop the "?" too', path: '/a?utm=1', cache: { ignoreQuery: ['utm'] }, want: '/a' },
      { name: 'when the query is empty and the route sorts → should drop the "?"', path: '/a?', cache: { sortQuery: true }, want: '/a' }
    ]
    for (const r of rows) t.equal(keyPath(r.path, { ...plain, ...r.cache }), r.want, r.name)
  })

  t.test('keyFor', async t => {
    const routes: Route[] = [
      { host: 'api.example.com', prefix: '/v1/', cache: { ...plain, ignoreQuery: true } },
      { prefix: '/search', cache: { ...plain, sortQuery: true } }
    ]
    const rows: Array<{ name: string, u: { scheme: string, authority: string, target: string }, want: string, drop?: string[] }> = [
      { name: 'when cache.ignoreQuery lists globs → should drop them on every route', u: { scheme: 'http', authority: 'www.example.com', target: '/p?utm_source=x&id=1&fbclid=2' }, want: 'http://www.example.com/p?id=1', drop: ['utm_*', 'fbclid'] },
      { name: 'when cache.ignoreQuery and a route both drop → should drop both', u: { scheme: 'https', authority: 'api.example.com', target: '/search?utm_a=1&b=1&a=2' }, want: 'https://api.example.com/search?a=2&b=1', drop: ['utm_*'] },
      { name: 'when no route matches → should keep the query as sent', u: { scheme: 'http', authority: 'www.example.com', target: '/p?b=1&a=2' }, want: 'http://www.example.com/p?b=1&a=2' },
      { name: 'when a host route matches → should shape the path as it says', u: { scheme: 'https', authority: 'api.example.com', target: '/v1/x?token=1' }, want: 'https://api.example.com/v1/x' },
      { name: 'when the host matches but the prefix does not → should fall through to the next route', u: { scheme: 'https', authority: 'api.example.com', target: '/search?b=1&a=2' }, want: 'https://api.example.com/search?a=2&b=1' },
      { name: 'when the authority has upper case → should lowercase it in the key', u: { scheme: 'http', authority: 'WWW.Example.com:8080', target: '/P' }, want: 'http://www.example.com:8080/P' },
      { name: 'when the scheme is https → should keep it apart from http', u: { scheme: 'https', authority: 'www.example.com', target: '/p' }, want: 'https://www.example.com/p' },
      { name: 'when no routes are configured → should use the target as is', u: { scheme: 'http', authority: 'a', target: '/q?z=1&a=2' }, want: 'http://a/q?z=1&a=2' }
    ]
    for (const r of rows) t.equal(keyFor(r.u, { routes: r.name.startsWith('when no routes') ? [] : routes, cache: { ignoreQuery: r.drop ?? [] } }), r.want, r.name)
  })

  t.test('varyValues', async t => {
    const rows: Array<{ name: string, fields: string[], headers: Record<string, string | undefined>, want: Record<string, string | null> }> = [
      { name: 'when the response has no Vary → should give no values', fields: [], headers: { accept: 'a' }, want: {} },
      { name: 'when the varying fields were sent → should give their normalised values', fields: ['accept-encoding', 'accept-language'], headers: { 'accept-encoding': 'gzip, br', 'accept-language': 'fr' }, want: { 'accept-encoding': 'br', 'accept-language': 'fr' } },
      { name: 'when a varying field was absent → should give null, apart from an empty value', fields: ['accept', 'accept-language'], headers: { 'accept-language': '' }, want: { accept: null, 'accept-language': '' } },
      { name: 'when a value contains "=" → should keep it whole', fields: ['cookie'], headers: { cookie: 'a=1; b=2' }, want: { cookie: 'a=1; b=2' } }
    ]
    for (const r of rows) t.same(varyValues(secondaryKey(r.fields, r.headers)), r.want, r.name)
  })
})

import { paramMatches, keyFields, cookieValue } from '../../src/cache/key.ts'

t.test('paramMatches: names and globs', async t => {
  const rows: Array<[name: string, patterns: string[], want: boolean, why: string]> = [
    ['fbclid', ['fbclid'], true, 'when the name is listed → should match'],
    ['fbclid2', ['fbclid'], false, 'when only a prefix of it is listed → should not match'],
    ['utm_source', ['utm_*'], true, 'when a glob prefix matches → should match'],
    ['utm_', ['utm_*'], true, 'when the star stands for nothing → should match'],
    ['xutm_source', ['utm_*'], false, 'when the glob would need a leading star → should not match'],
    ['a_id_b', ['a*b'], true, 'when a middle star spans → should match'],
    ['ab', ['a*b*c'], false, 'when a middle part is missing → should not match'],
    ['aXbYc', ['a*b*c'], true, 'when every part is found in order → should match'],
    ['aba', ['ab*ba'], false, 'when prefix and suffix overlap → should not match'],
    ['page', ['*'], true, 'when the glob is a lone star → should match any name'],
    ['page', [], false, 'when nothing is listed → should not match']
  ]
  for (const [name, patterns, want, why] of rows) t.equal(paramMatches(name, patterns), want, `${name} vs ${JSON.stringify(patterns)}: ${why}`)
})

t.test('keyPath drops parameters by glob', async t => {
  const cache: RouteCache = { enabled: true, defaultTtl: 0, ignoreQuery: ['utm_*', 'fbclid'], sortQuery: false }
  t.equal(keyPath('/p?utm_source=x&id=1&fbclid=y&utm_medium=z', cache), '/p?id=1', 'when tracking parameters surround one that matters → should keep only it')
  t.equal(keyPath('/p?utm_source=x', cache), '/p', 'when every parameter is dropped → should drop the "?"')
})

t.test('keyFields: Vary plus the operator\'s key headers and cookies', async t => {
  t.same(keyFields(['accept-encoding'], [], []), ['accept-encoding'], 'when nothing is configured → should be the Vary fields')
  t.same(keyFields(['accept-encoding'], ['x-device', 'accept-encoding'], ['session']), ['accept-encoding', 'cookie:session', 'x-device'], 'when configured → should add them once, sorted')
  t.same(keyFields(['*'], ['x-device'], []), ['*'], 'when Vary is * → should stay *')
})

t.test('cookieValue', async t => {
  t.equal(cookieValue('a=1; session=abc; b=2', 'session'), 'abc', 'when present → should give its value')
  t.equal(cookieValue('Session=abc', 'session'), 'abc', 'when its case differs → should still find it')
  t.equal(cookieValue(['a=1', 'session=x'], 'session'), 'x', 'when the field is repeated → should look in every line')
  t.equal(cookieValue('sessionid=1', 'session'), undefined, 'when only a longer name is there → should give nothing')
  t.equal(cookieValue(undefined, 'session'), undefined, 'when there is no Cookie → should give nothing')
  t.not(secondaryKey(['cookie:session'], { cookie: 'session=a' }), secondaryKey(['cookie:session'], { cookie: 'session=b; x=1' }), 'when the cookie differs → secondary keys should differ')
  t.equal(secondaryKey(['cookie:session'], { cookie: 'x=1; session=a' }), secondaryKey(['cookie:session'], { cookie: 'session=a' }), 'when only other cookies differ → secondary keys should be equal')
  t.not(secondaryKey(['cookie:session'], {}), secondaryKey(['cookie:session'], { cookie: 'session=' }), 'an absent cookie should differ from an empty one')
})
