// Hop-by-hop fields in both directions (RFC 9110 §7.6.1): fields a Connection header names, and
// TE, Keep-Alive, Upgrade and Proxy-Connection, never cross the proxy; an origin naming end-to-end
// fields in Connection neither leaks them nor loosens what is stored.

import t from 'tap'
import { setup, get } from '../proxy/harness.ts'
import { converse, statuses, rawField } from './support.ts'

/** A request whose Connection names a private field and the fields the proxy itself adds. */
const NAMING = 'GET /c HTTP/1.1\r\nHost: a.example\r\nConnection: x-secret, x-forwarded-for, via, close\r\n' +
  'X-Secret: hidden\r\nX-Forwarded-For: 10.9.9.9\r\nVia: 1.1 spoof\r\n\r\n'

t.test('a client Connection option removes the named field, and cannot remove what the proxy adds', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'))
  const c = await converse(proxy.url, NAMING, { ms: 1500 })
  t.same(statuses(c.text), [200])
  const seen = origin.seen[0]!.headers
  t.equal(seen['x-secret'], undefined, 'the named field was removed')
  t.notMatch(String(seen.connection ?? ''), /x-secret/, 'the client Connection itself was not forwarded')
  t.match(seen['x-forwarded-for'], /127\.0\.0\.1$/, "the proxy's X-Forwarded-For still names the client")
  t.match(seen.via, /freshgate$/, "the proxy's Via is still there")
})

t.test('X-Forwarded-For and Via named in the client Connection lose the client values', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'))
  await converse(proxy.url, NAMING, { ms: 1500 })
  const seen = origin.seen[0]!.headers
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'only the address the proxy saw')
  t.equal(seen.via, '1.1 freshgate', "only the proxy's own Via")
})

t.test('TE, Keep-Alive, Upgrade and Proxy-Connection from a client never reach the origin', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'))
  const c = await converse(proxy.url, 'GET /u HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n' +
    'TE: trailers, deflate\r\nKeep-Alive: timeout=999\r\nProxy-Connection: keep-alive\r\n\r\n', { ms: 1500 })
  t.same(statuses(c.text), [200], 'a non-websocket Upgrade is answered as a plain request')
  const seen = origin.seen[0]!.headers
  for (const f of ['te', 'keep-alive', 'upgrade', 'proxy-connection', 'http2-settings']) t.equal(seen[f], undefined, `${f} removed`)
})

t.test('fields an origin names in Connection, and its hop-by-hop fields, never reach the client', async t => {
  const { proxy } = await setup(t, (_req, res) => {
    res.setHeader('Connection', 'x-internal, keep-alive')
    res.setHeader('X-Internal', 'origin-only')
    res.setHeader('Keep-Alive', 'timeout=1234')
    res.setHeader('Proxy-Connection', 'keep-alive')
    res.setHeader('Upgrade', 'h2c')
    res.setHeader('Cache-Control', 'max-age=60')
    res.end('body')
  })
  for (const round of ['miss', 'hit']) {
    const c = await converse(proxy.url, 'GET /o HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n', { until: /body$/, ms: 1500 })
    t.equal(rawField(c.text, 'x-internal'), undefined, `${round}: X-Internal removed`)
    t.notMatch(String(rawField(c.text, 'keep-alive')), /1234/, `${round}: the origin's Keep-Alive is not forwarded`)
    t.equal(rawField(c.text, 'proxy-connection'), undefined, `${round}: Proxy-Connection removed`)
    t.equal(rawField(c.text, 'upgrade'), undefined, `${round}: Upgrade removed`)
    t.match(String(rawField(c.text, 'cache-status')), round === 'hit' ? /hit/ : /stored/)
  }
})

t.test('Connection: etag from the origin removes the ETag from what is served and stored', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.setHeader('Connection', 'etag')
    res.setHeader('ETag', '"v1"')
    res.setHeader('Cache-Control', 'max-age=60')
    res.end('body')
  })
  const a = await get(`${proxy.url}/e`)
  t.equal(a.headers.etag, undefined, 'no ETag on the miss')
  const b = await get(`${proxy.url}/e`, { headers: { 'if-none-match': '"v1"' } })
  t.equal(b.status, 200, 'the removed ETag never validates a client condition')
  t.equal(b.headers.etag, undefined, 'no ETag on the hit')
  t.equal(b.body, 'body')
  t.equal(origin.count(), 1, 'still stored and served from the cache')
})

t.test('Connection: cache-control from the origin never loosens storing: a no-store response is not stored', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.setHeader('Connection', 'cache-control')
    res.setHeader('Cache-Control', 'no-store, private')
    res.end('private body')
  })
  const a = await get(`${proxy.url}/p`)
  t.equal(a.headers['cache-control'], undefined, 'the hop-by-hop Cache-Control is not forwarded')
  await get(`${proxy.url}/p`)
  t.equal(origin.count(), 2, 'the second request went to the origin')
})

t.test('Connection: cache-control from the origin: what is served agrees with what is stored', async t => {
  const { proxy } = await setup(t, (_req, res) => {
    res.setHeader('Connection', 'cache-control')
    res.setHeader('Cache-Control', 'max-age=60')
    res.end('body')
  })
  const a = await get(`${proxy.url}/m`)
  const b = await get(`${proxy.url}/m`)
  t.equal(a.headers['cache-control'], undefined)
  t.equal(b.headers['cache-control'], undefined)
  t.equal(b.body, 'body')
})

t.test('a Vary field the client names in Connection is keyed as absent: no poisoning of that variant', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'Accept-Language', 'content-type': 'text/plain' })
    res.end(`lang=${String(req.headers['accept-language'] ?? 'none')}`)
  })
  const attack = await converse(proxy.url, 'GET /v HTTP/1.1\r\nHost: a.example\r\nAccept-Language: fr\r\nConnection: accept-language, close\r\n\r\n', { ms: 2000 })
  t.match(attack.text, /lang=none/, 'the origin did not get the field the client named in Connection')
  const victim = await get(`${proxy.url}/v`, { headers: { host: 'a.example', 'accept-language': 'fr' } })
  t.equal(victim.body, 'lang=fr', 'a French client gets the French answer, not the one stored for the attacker')
  t.equal(origin.count('/v'), 2)
})
