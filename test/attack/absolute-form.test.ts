// Absolute-form request targets (RFC 9112 §3.2.2): the target's authority replaces Host for the
// key and the upstream Host, yet the request still goes to the configured origin (no SSRF); a
// scheme other than http(s) or a bad authority is refused.

import t from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setup, get } from '../proxy/harness.ts'
import { converse, statuses, echoOrigin } from './support.ts'

/** A listener that only counts connections: the address an attacker would like us to reach. */
async function decoy (t: { teardown: (fn: () => unknown) => void }): Promise<{ host: string, hits: () => number }> {
  let hits = 0
  const srv = createServer(s => { hits++; s.destroy() })
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => srv.close(() => resolve())))
  return { host: `127.0.0.1:${(srv.address() as AddressInfo).port}`, hits: () => hits }
}

t.test("an absolute-form target keys and forwards with the target's authority, to the configured origin", async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  const c = await converse(proxy.url, 'GET http://other.example/x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', { ms: 1500 })
  t.same(statuses(c.text), [200])
  t.equal(origin.count('/x'), 1, 'the configured origin got the request in origin-form')
  t.equal(origin.seen[0]!.headers.host, 'other.example', "upstream Host is the target's authority")
  const same = await get(`${proxy.url}/x`, { headers: { host: 'other.example' } })
  t.match(same.cs, /hit/, "the entry is keyed under the target's authority")
  const other = await get(`${proxy.url}/x`, { headers: { host: 'a.example' } })
  t.match(other.cs, /fwd=uri-miss/, 'the Host field did not key it')
})

t.test('an absolute-form target naming another address never makes the proxy connect there', async t => {
  const d = await decoy(t)
  const { origin, proxy } = await setup(t, echoOrigin())
  for (const target of [`http://${d.host}/ssrf`, `https://${d.host}/ssrf`]) {
    const c = await converse(proxy.url, `GET ${target} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`, { ms: 1500 })
    t.ok(statuses(c.text).length === 1, `${target} answered`)
  }
  t.equal(d.hits(), 0, 'the named address was never contacted')
  t.ok(origin.count('/ssrf') >= 1, 'the configured origin answered instead')
})

const refused: Array<[string, string]> = [
  ['an ftp: target', 'ftp://a.example/x'],
  ['a file: target', 'file:///etc/passwd'],
  ['a javascript: target', 'javascript:alert(1)'],
  ['a data: target', 'data:text/plain,hi']
]
for (const [name, target] of refused) {
  t.test(`${name} → 400, no origin request`, { todo: 'issue 9 #1' }, async t => {
    const { origin, proxy } = await setup(t, echoOrigin())
    const c = await converse(proxy.url, `GET ${target} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n`, { ms: 1500 })
    t.same(statuses(c.text), [400])
    t.match(c.text, /FG_BAD_(REQUEST|HOST)/)
    t.equal(origin.count(), 0)
  })
}

t.test('a garbage target that is not a URL → 400, no origin request', async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  const c = await converse(proxy.url, 'GET http://[bad/x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', { ms: 1500 })
  t.same(statuses(c.text), [400])
  t.equal(origin.count(), 0)
})

t.test('userinfo in the target authority → 400 FG_BAD_HOST', { todo: 'issue 9 #1' }, async t => {
  const { origin, proxy } = await setup(t, echoOrigin())
  const c = await converse(proxy.url, 'GET http://user@a.example/x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', { ms: 1500 })
  t.same(statuses(c.text), [400])
  t.match(c.text, /FG_BAD_HOST/)
  t.equal(origin.count(), 0)
})
