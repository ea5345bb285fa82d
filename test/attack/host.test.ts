// Host validation (issue 9 #1): a Host that is not an authority (RFC 3986 §3.2) or that is repeated
// (RFC 9112 §3.2) is refused with 400 FG_BAD_HOST before anything reaches the origin or the cache;
// valid authorities are forwarded and differ in case only as one cache entry.

import t from 'tap'
import { setup, get } from '../proxy/harness.ts'
import { converse, statuses, echoOrigin } from './support.ts'

/** Host field lines (raw, so clients cannot tidy them) that must be refused. */
const invalid: Array<[string, string]> = [
  ['a path inside Host', 'Host: site/echo/home\r\n'],
  ['a query inside Host', 'Host: a.example?x\r\n'],
  ['a fragment inside Host', 'Host: a.example#x\r\n'],
  ['a space inside Host', 'Host: a b\r\n'],
  ['userinfo inside Host', 'Host: user@a.example\r\n'],
  ['dot-segments inside Host', 'Host: a.example/../b.example\r\n'],
  ['an empty Host', 'Host: \r\n'],
  ['two Host fields', 'Host: a.example\r\nHost: b.example\r\n'],
  ['a non-numeric port', 'Host: a.example:80x\r\n'],
  ['a port out of range', 'Host: a.example:99999\r\n'],
  ['an unclosed IPv6 literal', 'Host: [::1\r\n'],
  ['a backslash inside Host', 'Host: a.example\\b\r\n']
]

for (const [name, line] of invalid) {
  t.test(`${name} → 400 FG_BAD_HOST, nothing sent upstream or stored`, { todo: 'issue 9 #1' }, async t => {
    const { origin, proxy } = await setup(t, echoOrigin())
    const c = await converse(proxy.url, `GET /echo/evil HTTP/1.1\r\n${line}Connection: close\r\n\r\n`, { ms: 1500 })
    t.same(statuses(c.text), [400], 'refused with 400')
    t.match(c.text, /FG_BAD_HOST/, 'naming FG_BAD_HOST')
    t.equal(origin.count(), 0, 'no origin request')
  })
}

t.test('no Host at all in HTTP/1.1 → 400, no origin request', async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  const c = await converse(proxy.url, 'GET /x HTTP/1.1\r\nConnection: close\r\n\r\n', { ms: 1500 })
  t.same(statuses(c.text), [400])
  t.equal(origin.count(), 0)
})

t.test('Host: site/echo/home cannot plant a response under another URL', { todo: 'issue 9 #1' }, async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  await converse(proxy.url, 'GET /echo/evil HTTP/1.1\r\nHost: site/echo/home\r\nConnection: close\r\n\r\n', { ms: 1500 })
  const victim = await get(`${proxy.url}/echo/home/echo/evil`, { headers: { host: 'site' } })
  t.match(victim.cs, /fwd=uri-miss/, "the victim's URL was not answered from the attacker's entry")
  t.equal(JSON.parse(victim.body).url, '/echo/home/echo/evil', 'the victim got the answer for its own path')
  t.ok(origin.count('/echo/home/echo/evil') === 1)
})

const valid: Array<[string, string]> = [
  ['a name with upper case and a port', 'EXAMPLE.com:80'],
  ['an IPv6 literal with a port', '[::1]:8080'],
  ['a plain name', 'a.example'],
  ['an IPv4 address', '192.0.2.1']
]
for (const [name, host] of valid) {
  t.test(`${name} (${host}) is forwarded`, async t => {
    const { origin, proxy } = await setup(t, echoOrigin())
    const c = await converse(proxy.url, `GET /ok HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { ms: 1500 })
    t.same(statuses(c.text), [200])
    t.equal(origin.count('/ok'), 1)
  })
}

t.test('A.example and a.example share one cache entry', async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  const a = await get(`${proxy.url}/case`, { headers: { host: 'A.example' } })
  const b = await get(`${proxy.url}/case`, { headers: { host: 'a.example' } })
  t.match(a.cs, /fwd=uri-miss; stored/)
  t.match(b.cs, /hit/, 'the second spelling is a hit')
  t.equal(origin.count('/case'), 1)
})

t.test('different hosts never share an entry', async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  await get(`${proxy.url}/h`, { headers: { host: 'a.example' } })
  const b = await get(`${proxy.url}/h`, { headers: { host: 'b.example' } })
  t.match(b.cs, /fwd=uri-miss/)
  t.equal(JSON.parse(b.body).host, 'b.example')
  t.equal(origin.count('/h'), 2)
})
