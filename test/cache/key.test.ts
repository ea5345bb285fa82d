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
    { name: 'when a coding is listed twice → should take its first weight', value: 'gzip, gzip;q=0', want: 'gzip' },
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
    { name: 'when Accept-Language lists members in another order → should match', field: 'accept-language', a: 'fr, en;q=0.5', b: 'en; q=0.5,fr', same: true },
    { name: 'when Accept lists members in another order → should match', field: 'accept', a: 'text/html, application/json', b: 'application/json,text/html', same: true },
    { name: 'when a list field arrives on several lines → should match the joined form', field: 'accept', a: ['text/html', 'application/json'], b: 'application/json, text/html', same: true },
    { name: 'when list members differ → should not match', field: 'accept-language', a: 'fr', b: 'de', same: false },
    { name: 'when a non-list field differs only in whitespace → should match', field: 'user-agent', a: '  curl/8.0   (x) ', b: 'curl/8.0 (x)', same: true },
    { name: 'when a non-list field has members in another order → should not match (order may matter)', field: 'cookie', a: 'a=1, b=2', b: 'b=2, a=1', same: false },
    { name: 'when a non-list field differs in case → should not match', field: 'x-mode', a: 'Dark', b: 'dark', same: false }
  ]
  for (const r of rows) t.equal(normalizeVaryValue(r.field, r.a) === normalizeVaryValue(r.field, r.b), r.same, r.name)
})

t.test('secondaryKey', async t => {
  const rows: Array<{ name: string, fields: string[], headers: Record<string, string | undefined>, want: string }> = [
    { name: 'when Vary is empty → should be the empty key', fields: [], headers: { accept: 'x' }, want: '' },
    { name: 'when one field varies → should hold its normalised value', fields: ['accept-encoding'], headers: { 'accept-encoding': 'gzip, br' }, want: 'accept-encoding=br\n' },
    { name: 'when two fields vary → should hold both in field order', fields: ['accept', 'accept-encoding'], headers: { accept: 'b, a', 'accept-encoding': 'gzip' }, want: 'accept=a,b\naccept-encoding=gzip\n' },
    { name: 'when a varying field is absent → should mark it absent', fields: ['accept-language'], headers: {}, want: 'accept-language=\u0000\n' },
    { name: 'when a varying field is empty → should hold the empty value', fields: ['accept-language'], headers: { 'accept-language': '' }, want: 'accept-language=\n' }
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
    const rows: Array<{ name: string, u: { scheme: string, authority: string, target: string }, want: string }> = [
      { name: 'when no route matches → should keep the query as sent', u: { scheme: 'http', authority: 'www.example.com', target: '/p?b=1&a=2' }, want: 'http://www.example.com/p?b=1&a=2' },
      { name: 'when a host route matches → should shape the path as it says', u: { scheme: 'https', authority: 'api.example.com', target: '/v1/x?token=1' }, want: 'https://api.example.com/v1/x' },
      { name: 'when the host matches but the prefix does not → should fall through to the next route', u: { scheme: 'https', authority: 'api.example.com', target: '/search?b=1&a=2' }, want: 'https://api.example.com/search?a=2&b=1' },
      { name: 'when the authority has upper case → should lowercase it in the key', u: { scheme: 'http', authority: 'WWW.Example.com:8080', target: '/P' }, want: 'http://www.example.com:8080/P' },
      { name: 'when the scheme is https → should keep it apart from http', u: { scheme: 'https', authority: 'www.example.com', target: '/p' }, want: 'https://www.example.com/p' },
      { name: 'when no routes are configured → should use the target as is', u: { scheme: 'http', authority: 'a', target: '/q?z=1&a=2' }, want: 'http://a/q?z=1&a=2' }
    ]
    for (const r of rows) t.equal(keyFor(r.u, r.name.startsWith('when no routes') ? [] : routes), r.want, r.name)
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
