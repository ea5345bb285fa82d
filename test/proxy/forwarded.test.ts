// Trusted forwarding: the X-Forwarded-* and Forwarded fields sent upstream, believed only from
// trustProxy peers; table tests of the pure function, then what reaches a real origin.

import t from 'tap'
import { forwardedFields, trustList, FORWARDING_FIELDS } from '../../src/proxy/forwarded.ts'
import type { ProxyRequest } from '../../src/proxy/request.ts'
import { setup, get } from './harness.ts'

function preq (headers: ProxyRequest['headers'] = {}, authority = 'a.example'): ProxyRequest {
  return { scheme: 'http', authority, method: 'GET', target: '/', headers, clientAddress: '10.0.0.9', httpVersion: '1.1', hasBody: false, peerTrusted: false, tls: false }
}

const SPOOF = {
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
  forwarded: 'for=6.6.6.6;host=evil.example',
  'x-forwarded-server': 'evil',
  'x-forwarded-port': '443',
  'x-forwarded-scheme': 'https',
  'x-host': 'evil.example',
  'x-original-url': '/admin',
  'x-rewrite-url': '/admin'
}

t.test('forwardedFields', async t => {
  const rows: Array<[string, ProxyRequest, { peer: string, trusted: boolean, tls: boolean }, Record<string, string>]> = [
    ['when an untrusted client sends nothing → should send freshgate\'s own view', preq(), { peer: '10.0.0.9', trusted: false, tls: false },
      { 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'a.example', forwarded: 'for=10.0.0.9;proto=http;host=a.example' }],
    ['when an untrusted client spoofs every field → should replace them and drop the look-alikes', preq(SPOOF), { peer: '10.0.0.9', trusted: false, tls: false },
      { 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'a.example', forwarded: 'for=10.0.0.9;proto=http;host=a.example' }],
    ['when freshgate terminates TLS → should say https', preq(), { peer: '10.0.0.9', trusted: false, tls: true },
      { 'x-forwarded-for': '10.0.0.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.example', forwarded: 'for=10.0.0.9;proto=https;host=a.example' }],
    ['when the peer is IPv6 and the authority has a port → should bracket and quote them (RFC 7239 §6)', preq({}, 'a.example:8080'), { peer: '2001:db8::1', trusted: false, tls: false },
      { 'x-forwarded-for': '2001:db8::1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'a.example:8080', forwarded: 'for="[2001:db8::1]";proto=http;host="a.example:8080"' }],
    ['when a trusted proxy forwards → should append the peer and keep its proto, host and look-alikes', preq(SPOOF), { peer: '10.0.0.2', trusted: true, tls: false },
      { ...SPOOF, 'x-forwarded-for': '6.6.6.6, 10.0.0.2', forwarded: 'for=6.6.6.6;host=evil.example, for=10.0.0.2;proto=http;host=a.example' }],
    ['when a trusted proxy sends no forwarding fields → should fill in freshgate\'s view', preq(), { peer: '10.0.0.2', trusted: true, tls: true },
      { 'x-forwarded-for': '10.0.0.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'a.example', forwarded: 'for=10.0.0.2;proto=https;host=a.example' }]
  ]
  for (const [name, req, hop, want] of rows) t.same(forwardedFields(req, hop), want, name)
  for (const name of Object.keys(SPOOF)) t.ok(FORWARDING_FIELDS.has(name), `${name} is in the forwarding family the handler drops`)
})

t.test('trustList', async t => {
  const trusted = trustList(['10.0.0.0/8', '::1', '192.168.1.5'])
  const rows: Array<[string, string, boolean]> = [
    ['when the address is inside a CIDR range → should trust it', '10.20.30.40', true],
    ['when the address is an exact entry → should trust it', '192.168.1.5', true],
    ['when the address is IPv6 loopback listed → should trust it', '::1', true],
    ['when the address is outside every entry → should not trust it', '11.0.0.1', false],
    ['when the address is not an IP → should not trust it', 'a.example', false]
  ]
  for (const [name, addr, want] of rows) t.equal(trusted(addr), want, name)
  t.equal(trustList([])('127.0.0.1'), false, 'when trustProxy is empty → should trust nobody')
})

t.test('end to end: an untrusted client cannot spoof forwarding fields', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => { res.end('ok') })
  await get(proxy.url + '/x', { headers: SPOOF })
  const seen = origin.seen[0]!.headers
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the peer only')
  t.match(seen.forwarded, /^for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/, 'Forwarded is freshgate\'s own element only')
  for (const name of ['x-forwarded-server', 'x-forwarded-port', 'x-forwarded-scheme', 'x-host', 'x-original-url', 'x-rewrite-url']) {
    t.equal(seen[name], undefined, `${name} is removed`)
  }
  t.not(seen['x-forwarded-host'], 'evil.example', 'X-Forwarded-Host is not the client\'s')
})

t.test('end to end: a trusted proxy\'s fields are kept and extended', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => { res.end('ok') }, { trustProxy: ['127.0.0.1'] })
  await get(proxy.url + '/x', { headers: { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7', 'x-original-url': '/kept' } })
  const seen = origin.seen[0]!.headers
  t.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1', 'X-Forwarded-For appended with the peer')
  t.match(seen.forwarded, /^for=203\.0\.113\.7, for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1:\d+"$/, 'Forwarded appended per RFC 7239')
  t.equal(seen['x-original-url'], '/kept', 'look-alikes from a trusted proxy pass')
})
