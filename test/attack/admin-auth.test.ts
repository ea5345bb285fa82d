// Attempts to get past the admin bearer token: missing or wrong tokens, other schemes, the token
// in the query, path tricks and method-override fields. Each gets 401 or 404, never the
// protected data, and a refused purge purges nothing.

import t from 'tap'
import { setupAdmin } from '../admin/fixture.ts'
import { get } from '../proxy/harness.ts'
import { converse, statuses } from './support.ts'

const TOKEN = 's3cret-Token'

/** Text that only protected answers contain: stats, metrics, entries, purge results. */
const PROTECTED = /"entries"|freshgate_|"variants"|"purged"/

/** Request lines and fields (raw, so nothing tidies the path), each of which must be refused. */
const attempts: Array<[string, string]> = [
  ['no Authorization', 'GET /cache/stats HTTP/1.1\r\n'],
  ['a wrong token', 'GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer wrong\r\n'],
  ['the token in other case', `GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer ${TOKEN.toUpperCase()}\r\n`],
  ['a token prefix', `GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer ${TOKEN.slice(0, -1)}\r\n`],
  ['the token with a suffix', `GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}x\r\n`],
  ['the token and a second word', `GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer ${TOKEN} extra\r\n`],
  ['the Basic scheme', `GET /cache/stats HTTP/1.1\r\nAuthorization: Basic ${TOKEN}\r\n`],
  ['Basic credentials of the token', `GET /cache/stats HTTP/1.1\r\nAuthorization: Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}\r\n`],
  ['Bearer with no token', 'GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer\r\n'],
  ['the token with no scheme', `GET /cache/stats HTTP/1.1\r\nAuthorization: ${TOKEN}\r\n`],
  ['a wrong token first and the right one second', `GET /cache/stats HTTP/1.1\r\nAuthorization: Bearer wrong\r\nAuthorization: Bearer ${TOKEN}\r\n`],
  ['the token in the query', `GET /cache/stats?token=${TOKEN} HTTP/1.1\r\n`],
  ['the token as access_token', `GET /cache/stats?access_token=${TOKEN} HTTP/1.1\r\n`],
  ['the token in a cookie', `GET /cache/stats HTTP/1.1\r\nCookie: token=${TOKEN}\r\n`],
  ['the token in X-Admin-Token', `GET /cache/stats HTTP/1.1\r\nX-Admin-Token: ${TOKEN}\r\n`],
  ['a doubled slash', 'GET //cache/stats HTTP/1.1\r\n'],
  ['a trailing slash', 'GET /cache/stats/ HTTP/1.1\r\n'],
  ['upper case', 'GET /CACHE/STATS HTTP/1.1\r\n'],
  ['dot-segments to /purge', 'POST /cache/../purge HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"prefix":"/"}\n'],
  ['an encoded slash', 'POST /%2fpurge HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"prefix":"/"}\n'],
  ['an unprotected probe, then dot-segments', 'GET /healthz/../metrics HTTP/1.1\r\n'],
  ['an unprotected probe with a semicolon', 'GET /healthz;/../metrics HTTP/1.1\r\n'],
  ['an unprotected probe with an encoded NUL', 'GET /healthz%00/metrics HTTP/1.1\r\n'],
  ['an absolute-form target', 'GET http://127.0.0.1/cache/stats HTTP/1.1\r\n'],
  ['X-HTTP-Method-Override on an unprotected probe', 'GET /healthz HTTP/1.1\r\nX-HTTP-Method-Override: POST\r\nX-Original-URL: /purge\r\n'],
  ['X-Original-URL to a protected path', 'GET /nothing HTTP/1.1\r\nX-Original-URL: /cache/stats\r\nX-Rewrite-URL: /cache/stats\r\n'],
  ['method override on /purge', 'GET /purge HTTP/1.1\r\nX-HTTP-Method-Override: POST\r\nX-HTTP-Method: POST\r\nX-Method-Override: POST\r\n']
]

/** Attempts aimed at an unprotected probe may get the probe's own answer, but nothing more. */
const probe = (name: string): boolean => name.includes('unprotected probe')

for (const [name, head] of attempts) {
  t.test(`${name} → ${probe(name) ? 'the probe at most' : '401 or 404'}, never protected data`, async t => {
    const a = await setupAdmin(t, (_req, res) => { res.setHeader('cache-control', 'max-age=60'); res.end('stored body') }, { 'admin.token': TOKEN })
    await get(`${a.url}/kept`)
    const [line, ...rest] = head.split('\r\n')
    const bytes = `${line}\r\nHost: admin\r\nConnection: close\r\n${rest.join('\r\n')}${head.includes('\r\n\r\n') ? '' : '\r\n'}`
    const c = await converse(a.admin.url, bytes, { ms: 1500 })
    const code = statuses(c.text)[0]
    if (probe(name)) {
      t.ok(code === 200 || code === 401 || code === 404, `answered ${code} without protected data`)
    } else {
      t.ok(code === 401 || code === 404, `refused with 401 or 404 (got ${code})`)
    }
    t.notMatch(c.text, PROTECTED, 'no protected data in the answer')
    t.match((await get(`${a.url}/kept`)).cs, /hit/, 'nothing was purged')
  })
}

t.test('the right token is accepted, with the scheme in any case (RFC 9110 §11.1)', async t => {
  const a = await setupAdmin(t, (_req, res) => res.end('x'), { 'admin.token': TOKEN })
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const r = await get(`${a.admin.url}/cache/stats`, { headers: { authorization: `${scheme} ${TOKEN}` } })
    t.equal(r.status, 200, scheme)
    t.match(r.body, /"entries"/)
  }
})

t.test('a 401 names the scheme and leaks nothing about the token', async t => {
  const a = await setupAdmin(t, (_req, res) => res.end('x'), { 'admin.token': TOKEN })
  const r = await get(`${a.admin.url}/metrics`, { headers: { authorization: 'Bearer nope' } })
  t.equal(r.status, 401)
  t.match(String(r.headers['www-authenticate']), /^Bearer /)
  t.notOk(r.body.includes(TOKEN))
  t.notOk(r.body.includes('s3cret'))
})
