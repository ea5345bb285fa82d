// Behaviour 10 and bad input: upstream failures give prompt, coded answers; nothing half-received
// is stored; malformed headers never crash or poison the cache.

import t from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setup, get, startFreshgate } from './harness.ts'

t.test('connection refused → 502 FG_UPSTREAM_REFUSED', async t => {
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>(resolve => probe.close(() => resolve()))
  const proxy = await startFreshgate(`http://127.0.0.1:${port}`)
  t.teardown(() => proxy.fg.close())
  const started = Date.now()
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 502)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_REFUSED')
  t.match(r.body, /^502 FG_UPSTREAM_REFUSED: /)
  t.equal(r.headers['content-type'], 'text/plain; charset=utf-8')
  t.match(r.cs, /^freshgate; fwd=uri-miss; detail=FG_UPSTREAM_REFUSED$/)
  t.ok(Date.now() - started < 2000, 'answered promptly')
})

/** A raw TCP origin that behaves badly. */
async function rawOrigin (t: { teardown: (fn: () => unknown) => void }, onConn: (s: import('node:net').Socket) => void): Promise<string> {
  const sockets = new Set<import('node:net').Socket>()
  const srv = createServer(s => { sockets.add(s); onConn(s) })
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => {
    for (const s of sockets) s.destroy()
    srv.close(() => resolve())
  }))
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
}

t.test('reset before the response → 502 FG_UPSTREAM_RESET', async t => {
  const url = await rawOrigin(t, s => s.once('data', () => s.resetAndDestroy()))
  const proxy = await startFreshgate(url)
  t.teardown(() => proxy.fg.close())
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 502)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_RESET')
})

t.test('headers timeout → 504 FG_UPSTREAM_HEADERS_TIMEOUT', async t => {
  const url = await rawOrigin(t, () => { /* never answers */ })
  const proxy = await startFreshgate(url, { 'timeouts.headers': '300ms' })
  t.teardown(() => proxy.fg.close())
  const started = Date.now()
  const r = await get(`${proxy.url}/slow`)
  t.equal(r.status, 504)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_HEADERS_TIMEOUT')
  t.ok(Date.now() - started < 3000)
})

t.test('an invalid response → 502 FG_UPSTREAM_INVALID', async t => {
  const url = await rawOrigin(t, s => s.once('data', () => s.end('HTTP/1.1 abc nonsense\r\n\r\n')))
  const proxy = await startFreshgate(url)
  t.teardown(() => proxy.fg.close())
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 502)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_INVALID')
})

t.test('body timeout mid-body: the client connection is cut and nothing is stored', async t => {
  let n = 0
  const url = await rawOrigin(t, s => s.on('data', () => {
    n++
    s.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 10\r\n\r\nhalf')
    if (n > 1) s.end('-whole')
  }))
  const proxy = await startFreshgate(url, { 'timeouts.body': '300ms' })
  t.teardown(() => proxy.fg.close())
  await t.rejects(get(`${proxy.url}/b`), 'the client sees a truncated response')
  const again = await get(`${proxy.url}/b`).catch(() => undefined)
  t.not(again?.cs, 'freshgate; hit; ttl=60', 'the half body was not stored')
})

t.test('a body shorter than its Content-Length is never stored', async t => {
  let calls = 0
  const url = await rawOrigin(t, s => s.on('data', () => {
    calls++
    s.end('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\nonly-part')
  }))
  const proxy = await startFreshgate(url)
  t.teardown(() => proxy.fg.close())
  await get(`${proxy.url}/short`).catch(() => undefined)
  await get(`${proxy.url}/short`).catch(() => undefined)
  t.equal(calls, 2, 'the second request went to the origin again')
})

const malformed: Array<[string, Record<string, string>, RegExp]> = [
  ['a non-numeric max-age (stale, revalidated)', { 'cache-control': 'max-age=abc', etag: '"m"' }, /fwd=stale|fwd=uri-miss/],
  ['a garbage Expires', { expires: 'not a date', etag: '"m"' }, /fwd=/],
  ['a garbage Date', { date: 'garbage', 'cache-control': 'max-age=60' }, /hit/],
  ['a negative Age', { age: '-5', 'cache-control': 'max-age=60' }, /hit/],
  ['a huge Age', { age: '99999999999999', 'cache-control': 'max-age=60' }, /fwd=/],
  ['an unbalanced quote in Cache-Control', { 'cache-control': 'max-age=60, no-cache="set-cookie', etag: '"m"' }, /./],
  ['an invalid Vary', { vary: ',,, ;;', 'cache-control': 'max-age=60' }, /./],
  ['an invalid ETag', { etag: 'no-quotes', 'cache-control': 'max-age=60' }, /hit/]
]
for (const [name, headers, second] of malformed) {
  t.test(`an origin response with ${name} never crashes the proxy`, async t => {
    const { proxy } = await setup(t, (_req, res) => {
      res.writeHead(200, headers)
      res.end('body')
    })
    const a = await get(`${proxy.url}/m`)
    t.equal(a.status, 200)
    t.equal(a.body, 'body')
    const b = await get(`${proxy.url}/m`)
    t.equal(b.body, 'body')
    t.match(b.cs, second)
  })
}

t.test('a malformed request never crashes the proxy', async t => {
  const { proxy } = await setup(t, (_req, res) => res.end('ok'))
  const bad = await get(`${proxy.url}/x`, { headers: { 'cache-control': 'max-age=,,,"', 'if-none-match': 'garbage', 'if-modified-since': '???' } })
  t.equal(bad.status, 200)
  t.equal((await get(`${proxy.url}/y`)).status, 200, 'still serving')
})
