// Table tests for the normalised request: Host and :authority validation, absolute-form targets,
// path normalisation (the one rule for routes, keys and upstream) and the scheme.

import t from 'tap'
import { normalizeRequest, normalizePath, parseAuthority, type NodeRequestLike, type ConnectionFacts } from '../../src/proxy/request.ts'
import { setup, get, raw } from './harness.ts'

const PLAIN: ConnectionFacts = { tls: false, peer: '127.0.0.1', trusted: false }
const SETTINGS = { defaultAuthority: 'origin.example:3000' }

/** An HTTP/1.1 request with the given target and fields (rawHeaders as sent). */
function h1 (url: string, fields: Array<[string, string]> = [['Host', 'a.example']], httpVersion = '1.1'): NodeRequestLike {
  const headers: Record<string, string> = {}
  for (const [n, v] of fields) headers[n.toLowerCase()] = headers[n.toLowerCase()] === undefined ? v : `${headers[n.toLowerCase()]}, ${v}`
  return { method: 'GET', url, httpVersion, headers, rawHeaders: fields.flat() }
}

/** An HTTP/2 compat request: pseudo-headers in `headers`, as node:http2 gives them. */
function h2 (path: string, authority: string | undefined, host?: string): NodeRequestLike {
  const headers: Record<string, string> = { ':method': 'GET', ':path': path, ':scheme': 'https' }
  if (authority !== undefined) headers[':authority'] = authority
  if (host !== undefined) headers.host = host
  return { method: 'GET', url: path, httpVersion: '2.0', headers, rawHeaders: Object.entries(headers).flat() }
}

t.test('parseAuthority', async t => {
  const rows: Array<[string, string, 'http' | 'https', string | undefined]> = [
    ['when the host is a plain name → should keep it', 'a.example', 'http', 'a.example'],
    ['when the host has capitals → should lowercase it', 'A.Example', 'http', 'a.example'],
    ['when the port is the http default → should drop it', 'a.example:80', 'http', 'a.example'],
    ['when the port is the https default over https → should drop it', 'a.example:443', 'https', 'a.example'],
    ['when the port is 443 over http → should keep it', 'a.example:443', 'http', 'a.example:443'],
    ['when the port is empty → should drop it', 'a.example:', 'http', 'a.example'],
    ['when the port has leading zeros → should drop them', 'a.example:08080', 'http', 'a.example:8080'],
    ['when the port is past 65535 → should refuse', 'a.example:65536', 'http', undefined],
    ['when the port is not digits → should refuse', 'a.example:8o', 'http', undefined],
    ['when the host is IPv4 → should keep it', '10.0.0.1:8080', 'http', '10.0.0.1:8080'],
    ['when the host is bracketed IPv6 → should keep it lowercased', '[2001:DB8::1]:8080', 'http', '[2001:db8::1]:8080'],
    ['when the brackets hold no IPv6 → should refuse', '[a.example]', 'http', undefined],
    ['when the IPv6 is not bracketed → should refuse', '2001:db8::1', 'http', undefined],
    ['when the host is empty → should refuse', ':8080', 'http', undefined],
    ['when the host holds a path (site/echo/home) → should refuse', 'site/echo/home', 'http', undefined],
    ['when the host holds a query (a.example?x) → should refuse', 'a.example?x', 'http', undefined],
    ['when the host holds a fragment (a.example#x) → should refuse', 'a.example#x', 'http', undefined],
    ['when the host holds a space (a b) → should refuse', 'a b', 'http', undefined],
    ['when the host holds userinfo (user@a.example) → should refuse', 'user@a.example', 'http', undefined],
    ['when the host holds dot-segments (a.example/../b.example) → should refuse', 'a.example/../b.example', 'http', undefined],
    ['when the host is percent-encoded → should refuse (deviation: unreserved reg-names only)', 'a%2eexample', 'http', undefined],
    ['when the host holds sub-delims → should refuse (deviation: unreserved reg-names only)', 'a.example;x', 'http', undefined]
  ]
  for (const [name, raw, scheme, want] of rows) t.equal(parseAuthority(raw, scheme), want, name)
})

t.test('normalizePath', async t => {
  const rows: Array<[string, string, string | undefined]> = [
    ['when the path is plain → should keep it', '/a/b', '/a/b'],
    ['when the path is the root → should keep it', '/', '/'],
    ['when the path has a trailing slash → should keep it', '/a/', '/a/'],
    ['when the path climbs out of a directory (/x/../private/me) → should remove the dot-segments', '/x/../private/me', '/private/me'],
    ['when the path starts with // (//private/me) → should collapse the run', '//private/me', '/private/me'],
    ['when the path encodes a slash (/private%2fme) → should decode it to "/"', '/private%2fme', '/private/me'],
    ['when the path holds a single-dot segment (/./private/me) → should remove it', '/./private/me', '/private/me'],
    ['when the path encodes dot-segments (/%2e%2e/x) → should decode and remove them', '/%2e%2e/x', '/x'],
    ['when the path climbs past the root → should stop at the root', '/../../x', '/x'],
    ['when the path ends in .. → should keep a trailing slash', '/a/b/..', '/a/'],
    ['when the path encodes an unreserved letter → should decode it', '/%7Euser/%41', '/~user/A'],
    ['when the path encodes a reserved character in lowercase → should uppercase it', '/a%3fb%2a', '/a%3Fb%2A'],
    ['when the path encodes a space → should keep it encoded', '/a%20b', '/a%20b'],
    ['when a "%" is not followed by two hex digits → should refuse', '/a%zzb', undefined],
    ['when a "%" ends the path → should refuse', '/a%2', undefined]
  ]
  for (const [name, raw, want] of rows) t.equal(normalizePath(raw), want, name)
})

t.test('normalizeRequest', async t => {
  type Want = { authority?: string, target?: string, scheme?: string, refused?: string }
  const rows: Array<[string, NodeRequestLike, ConnectionFacts, Want]> = [
    ['when Host is valid → should use it as the authority', h1('/p'), PLAIN, { authority: 'a.example', target: '/p', scheme: 'http' }],
    ['when Host holds a path (site/echo/home) → should refuse with FG_BAD_HOST', h1('/echo/evil', [['Host', 'site/echo/home']]), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when Host holds a query → should refuse with FG_BAD_HOST', h1('/', [['Host', 'a.example?x']]), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when Host holds userinfo → should refuse with FG_BAD_HOST', h1('/', [['Host', 'user@a.example']]), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when Host is sent twice with equal values → should refuse with FG_BAD_HOST', h1('/', [['Host', 'a.example'], ['host', 'a.example']]), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when Host is sent twice with different values → should refuse with FG_BAD_HOST', h1('/', [['Host', 'a.example'], ['Host', 'b.example']]), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when there is no Host (HTTP/1.0) → should use the default authority', h1('/p', [], '1.0'), PLAIN, { authority: 'origin.example:3000' }],
    ['when the target is absolute-form → should take its authority over Host', h1('http://b.example:8080/x?q', [['Host', 'a.example']]), PLAIN, { authority: 'b.example:8080', target: '/x?q' }],
    ['when the absolute-form target has no path → should use "/"', h1('http://b.example?q'), PLAIN, { authority: 'b.example', target: '/?q' }],
    ['when the absolute-form scheme is not http(s) → should refuse with FG_BAD_REQUEST', h1('ftp://b.example/x'), PLAIN, { refused: 'FG_BAD_REQUEST' }],
    ['when the absolute-form authority holds userinfo → should refuse with FG_BAD_HOST', h1('http://user@b.example/x'), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when the target is neither origin- nor absolute-form → should refuse with FG_BAD_REQUEST', h1('b.example:80'), PLAIN, { refused: 'FG_BAD_REQUEST' }],
    ['when the target is * → should keep it', h1('*'), PLAIN, { target: '*' }],
    ['when the path climbs (/x/../private/me) → should normalise it and keep the query as sent', h1('/x/../private/me?a=%2f&b=..'), PLAIN, { target: '/private/me?a=%2f&b=..' }],
    ['when the path has a malformed escape → should refuse with FG_BAD_REQUEST', h1('/a%g1'), PLAIN, { refused: 'FG_BAD_REQUEST' }],
    ['when the connection is TLS → should say https and drop port 443', h1('/', [['Host', 'a.example:443']]), { ...PLAIN, tls: true }, { scheme: 'https', authority: 'a.example' }],
    ['when an untrusted peer sends X-Forwarded-Proto: https → should ignore it', h1('/', [['Host', 'a.example'], ['X-Forwarded-Proto', 'https']]), PLAIN, { scheme: 'http' }],
    ['when a trusted peer sends X-Forwarded-Proto: https → should follow it', h1('/', [['Host', 'a.example'], ['X-Forwarded-Proto', 'https']]), { ...PLAIN, trusted: true }, { scheme: 'https' }],
    ['when a trusted peer sends an unknown proto → should keep the connection\'s', h1('/', [['Host', 'a.example'], ['X-Forwarded-Proto', 'gopher']]), { ...PLAIN, trusted: true }, { scheme: 'http' }],
    ['when HTTP/2 has :authority → should use it', h2('/p', 'A.example:443'), { ...PLAIN, tls: true }, { authority: 'a.example', target: '/p' }],
    ['when HTTP/2 has only Host → should use it', h2('/p', undefined, 'b.example'), PLAIN, { authority: 'b.example' }],
    ['when HTTP/2 :authority and Host agree → should use them', h2('/p', 'b.example', 'b.example'), PLAIN, { authority: 'b.example' }],
    ['when HTTP/2 :authority and Host differ → should refuse with FG_BAD_HOST', h2('/p', 'a.example', 'b.example'), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when HTTP/2 :authority is invalid → should refuse with FG_BAD_HOST', h2('/p', 'a.example/../b.example'), PLAIN, { refused: 'FG_BAD_HOST' }],
    ['when HTTP/2 :path holds a space → should refuse with FG_BAD_REQUEST', h2('/a b', 'a.example'), PLAIN, { refused: 'FG_BAD_REQUEST' }],
    ['when HTTP/2 :path holds a fragment → should refuse with FG_BAD_REQUEST', h2('/a#b', 'a.example'), PLAIN, { refused: 'FG_BAD_REQUEST' }]
  ]
  for (const [name, req, conn, want] of rows) {
    const got = normalizeRequest(req, conn, SETTINGS)
    if (want.refused !== undefined) {
      t.equal('refused' in got ? got.refused.code : 'accepted', want.refused, name)
      continue
    }
    if (!('request' in got)) { t.fail(`${name}: refused ${JSON.stringify(got.refused)}`); continue }
    const r = got.request
    if (want.authority !== undefined) t.equal(r.authority, want.authority, `${name} (authority)`)
    if (want.target !== undefined) t.equal(r.target, want.target, `${name} (target)`)
    if (want.scheme !== undefined) t.equal(r.scheme, want.scheme, `${name} (scheme)`)
  }
})

t.test('normalizeRequest: fields, version and address', async t => {
  const got = normalizeRequest(h2('/p', 'a.example', 'a.example'), { tls: true, peer: '::ffff:10.0.0.7', trusted: false }, SETTINGS)
  if (!('request' in got)) return t.fail('refused')
  t.same(Object.keys(got.request.headers).filter(n => n.startsWith(':')), [], 'when HTTP/2 → should leave out pseudo-headers (a Host sent beside :authority must equal it and is kept as sent)')
  t.equal(got.request.httpVersion, '2', 'when HTTP/2 → should say version 2')
  t.equal(got.request.clientAddress, '10.0.0.7', 'when the peer is IPv4-mapped → should unmap it')
  t.equal(got.request.method, 'GET', 'should keep the method')
})

t.test('end to end: a bad or repeated Host gets 400 and never reaches the origin or the cache', async t => {
  const { origin, proxy } = await setup(t, (req, res) => { res.setHeader('cache-control', 'max-age=60'); res.end(`body of ${req.url}`) })
  const host = new URL(proxy.url).host
  const bad = ['site/echo/home', 'a.example?x', 'a.example#x', 'a b', 'user@a.example', 'a.example/../b.example']
  for (const h of bad) {
    const reply = await raw(proxy.url, `GET /echo/evil HTTP/1.1\r\nHost: ${h}\r\nConnection: close\r\n\r\n`, /\r\n\r\n[\s\S]*\n/)
    t.match(reply, /^HTTP\/1\.1 400 [\s\S]*FG_BAD_HOST/, `Host: ${h} → 400 FG_BAD_HOST`)
  }
  const twice = await raw(proxy.url, `GET /echo/evil HTTP/1.1\r\nHost: ${host}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, /\r\n\r\n[\s\S]*\n/)
  t.match(twice, /^HTTP\/1\.1 400 [\s\S]*FG_BAD_HOST/, 'two Host fields → 400 FG_BAD_HOST')
  t.equal(origin.count(), 0, 'none reached the origin')
  const home = await get(`${proxy.url}/echo/home`)
  t.equal(home.body, 'body of /echo/home', 'the real page is the origin\'s, not an attacker\'s')
})

t.test('end to end: path tricks cannot reach an uncached route through the cache', async t => {
  const { origin, proxy } = await setup(t, (req, res) => { res.setHeader('cache-control', 'public, max-age=60'); res.end(`private ${req.url}`) }, {
    routes: [{ prefix: '/private/', cache: { enabled: false } }]
  })
  for (const path of ['/x/../private/me', '//private/me', '/private%2fme', '/./private/me', '/%2e%2e/private/me']) {
    const before = origin.count()
    const r = await raw(proxy.url, `GET ${path} HTTP/1.1\r\nHost: ${new URL(proxy.url).host}\r\nConnection: close\r\n\r\n`, /private \/private\/me/)
    t.match(r, /cache-status: freshgate; fwd=bypass/i, `${path} matches the uncached route`)
    t.equal(origin.count(), before + 1, `${path} goes to the origin`)
    t.equal(origin.seen.at(-1)!.url, '/private/me', `${path} is sent upstream normalised`)
  }
})

t.test('end to end: an absolute-form target\'s authority is the key, not Host', async t => {
  const { origin, proxy } = await setup(t, (req, res) => { res.setHeader('cache-control', 'max-age=60'); res.end(`for ${String(req.headers.host)}`) })
  const a = await raw(proxy.url, 'GET http://a.example/p HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n', /for \S+/)
  t.match(a, /for a\.example/, 'the origin is asked for the target\'s authority')
  const b = await raw(proxy.url, 'GET /p HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n', /for \S+/)
  t.match(b, /for b\.example/, 'b.example is not served a.example\'s entry')
  t.equal(origin.count('/p'), 2)
  const ftp = await raw(proxy.url, 'GET ftp://a.example/p HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', /\r\n\r\n[\s\S]*\n/)
  t.match(ftp, /^HTTP\/1\.1 400 [\s\S]*FG_BAD_REQUEST/, 'a non-http scheme → 400')
})

t.test('normalizeRequest: hasBody', async t => {
  const body = (req: NodeRequestLike): boolean | string => { const r = normalizeRequest(req, PLAIN, SETTINGS); return 'request' in r ? r.request.hasBody : 'refused' }
  t.equal(body(h1('/', [['Host', 'a.example']])), false, 'when HTTP/1.1 sends no framing fields → should have no body')
  t.equal(body(h1('/', [['Host', 'a.example'], ['Content-Length', '0']])), false, 'when Content-Length is 0 → should have no body')
  t.equal(body(h1('/', [['Host', 'a.example'], ['Content-Length', '5']])), true, 'when Content-Length is 5 → should have a body')
  t.equal(body(h1('/', [['Host', 'a.example'], ['Transfer-Encoding', 'chunked']])), true, 'when chunked → should have a body')
  t.equal(body({ ...h2('/', 'a.example'), stream: { endAfterHeaders: false } }), true, 'when HTTP/2 HEADERS did not end the stream → should have a body, without Content-Length')
  t.equal(body({ ...h2('/', 'a.example'), stream: { endAfterHeaders: true } }), false, 'when HTTP/2 HEADERS ended the stream → should have no body')
})
