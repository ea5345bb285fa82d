// Request smuggling and framing: every ambiguous or malformed message is refused with 400 (or the
// connection closed), nothing hidden inside it reaches the origin, and nothing is stored.

import t from 'tap'
import { setup, get } from '../proxy/harness.ts'
import { converse, statuses, echoOrigin } from './support.ts'

/** The request an attacker hides behind the framing disagreement. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a.example\r\n\r\n'

/** Framing attacks, each ending in bytes that a confused parser would take as a second request. */
const attacks: Array<[string, string]> = [
  ['CL.TE: Content-Length and chunked together',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: ${5 + SMUGGLED.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['TE.CL: chunked first, a short Content-Length after',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${(SMUGGLED.length).toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['two conflicting Content-Length fields',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['one Content-Length field with two values',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0, ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: xchunked with Content-Length',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: " chunked" (leading space) with Content-Length',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding:  chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: chunked, identity',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding with a tab before the colon',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding\t: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding:<tab>chunked with Content-Length',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: chunked with a trailing vertical tab',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\u000b\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: identity then chunked in two fields with Content-Length',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['Transfer-Encoding: chunked in two fields (chunked applied twice)',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`],
  ['a space between the field name and the colon',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length : ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['bare CR inside a field line',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nX-A: 1\rContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['an obs-fold continuation line',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nX-A: 1\r\n Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`],
  ['a NUL inside a field value',
    `GET /a HTTP/1.1\r\nHost: a.example\r\nX-A: 1\u0000\r\n\r\n${SMUGGLED}`],
  ['a chunk size larger than 64 bits',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n1${'0'.repeat(17)}\r\n${SMUGGLED}`],
  ['a chunk size with a sign',
    `POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n${SMUGGLED}`],
  ['a request line with garbage',
    `GET /a HTTP/1.1 extra\r\nHost: a.example\r\n\r\n${SMUGGLED}`],
  ['a request line with a bad version',
    `GET /a HTTP/9.9\r\nHost: a.example\r\n\r\n${SMUGGLED}`],
  ['a request line with no version',
    `GET /a\r\nHost: a.example\r\n\r\n${SMUGGLED}`],
  ['a control character in the method',
    `G\u0001T /a HTTP/1.1\r\nHost: a.example\r\n\r\n${SMUGGLED}`]
]

for (const [name, bytes] of attacks) {
  t.test(`${name} → 400 or close, nothing smuggled upstream, nothing stored`, async t => {
    const { origin, proxy } = await setup(t, echoOrigin())
    const c = await converse(proxy.url, bytes, { ms: 1500 })
    const codes = statuses(c.text)
    t.ok(codes.length > 0 || c.closed, `answered or closed (got ${JSON.stringify(c.text.slice(0, 80))})`)
    if (codes.length > 0) t.equal(codes[0], 400, 'the first answer is 400')
    t.ok(c.closed, 'the connection is closed after the refusal')
    t.equal(origin.count('/smuggled'), 0, 'the hidden request never reached the origin')
    t.equal(origin.count(), 0, 'the refused request never reached the origin')
    const later = await get(`${proxy.url}/smuggled`, { headers: { host: 'a.example' } })
    t.match(later.cs, /fwd=uri-miss/, 'nothing was stored for the hidden request')
  })
}

t.test('bare LF line endings are either refused or read as one well-framed request', async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  const c = await converse(proxy.url, `GET /lf HTTP/1.1\nHost: a.example\nContent-Length: ${SMUGGLED.length}\n\n${SMUGGLED}`, { ms: 1500 })
  const codes = statuses(c.text)
  t.ok(codes.length > 0 || c.closed, 'answered or closed')
  t.equal(origin.count('/smuggled'), 0, 'the body was never read as a request')
  if (codes[0] !== 400) t.equal(origin.count('/lf'), 1, 'accepted: exactly one request reached the origin')
})

t.test('a well-framed chunked POST followed by a pipelined GET is two requests, answered in order', async t => {
  const { origin, proxy } = await setup(t, echoOrigin('no-store'))
  const c = await converse(proxy.url, 'POST /p HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
    'GET /second HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', { ms: 3000 })
  t.same(statuses(c.text), [200, 200], 'two answers')
  t.ok(c.text.indexOf('/p') < c.text.indexOf('/second'), 'answered in the order asked')
  // The POST body is read whole before its origin request opens, so the GET may reach the origin first.
  t.same(origin.seen.map(s => [s.method, s.url, s.body]).sort(), [['GET', '/second', ''], ['POST', '/p', 'abc']], 'the origin saw exactly the two requests')
})
