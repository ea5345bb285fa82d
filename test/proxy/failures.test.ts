// Behaviour 10 and bad input: upstream failures give prompt, coded answers; nothing half-received
// is stored; malformed headers never crash or poison the cache.

import t from 'tap'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setup, get, startFreshgate, dateAt } from './harness.ts'

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
  t.equal(r.cs, 'freshgate; fwd=uri-miss; detail=FG_UPSTREAM_RESET')
})

t.test('headers timeout → 504 FG_UPSTREAM_HEADERS_TIMEOUT', async t => {
  const url = await rawOrigin(t, () => { /* never answers */ })
  const proxy = await startFreshgate(url, { 'timeouts.headers': '300ms' })
  t.teardown(() => proxy.fg.close())
  const started = Date.now()
  const r = await get(`${proxy.url}/slow`)
  t.equal(r.status, 504)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_HEADERS_TIMEOUT')
  t.equal(r.cs, 'freshgate; fwd=uri-miss; detail=FG_UPSTREAM_HEADERS_TIMEOUT')
  t.ok(Date.now() - started < 3000)
})

t.test('an invalid response → 502 FG_UPSTREAM_INVALID', async t => {
  const url = await rawOrigin(t, s => s.once('data', () => s.end('HTTP/1.1 abc nonsense\r\n\r\n')))
  const proxy = await startFreshgate(url)
  t.teardown(() => proxy.fg.close())
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 502)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_INVALID')
  t.equal(r.cs, 'freshgate; fwd=uri-miss; detail=FG_UPSTREAM_INVALID')
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
  t.match(proxy.log[0]?.cache, /^freshgate; fwd=uri-miss; .*detail=FG_UPSTREAM_BODY_TIMEOUT$/, 'the access log names the failure')
  const again = await get(`${proxy.url}/b`)
  t.same([again.status, again.body, again.cs], [200, 'half-whole', 'freshgate; fwd=uri-miss; stored'], 'the half body was not stored: the next request is a miss')
  t.equal(n, 2, 'and reached the origin')
  const third = await get(`${proxy.url}/b`)
  t.same([third.body, third.cs], ['half-whole', 'freshgate; hit; ttl=60'], 'the whole body was stored')
})

t.test('a body shorter than its Content-Length is never stored', async t => {
  let calls = 0
  const url = await rawOrigin(t, s => s.on('data', () => {
    calls++
    s.end('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\nonly-part')
  }))
  const proxy = await startFreshgate(url)
  t.teardown(() => proxy.fg.close())
  await t.rejects(get(`${proxy.url}/short`), 'the client sees a truncated response')
  await t.rejects(get(`${proxy.url}/short`), 'and so does the next client: nothing was stored')
  t.equal(calls, 2, 'the second request went to the origin again')
  t.same(proxy.log.map(l => l.cache.split('; ')[1]), ['fwd=uri-miss', 'fwd=uri-miss'], 'both were misses')
  t.ok(proxy.log.every(l => l.cache.endsWith('detail=FG_UPSTREAM_RESET')), 'and both logged the upstream failure')
  t.notOk(proxy.log.some(l => l.cache.includes('; stored')), 'the access log does not claim the truncated response was stored')
})

t.test('stale-if-error and a request that sent no-cache (§5.2.1.4, RFC 5861 §4)', async t => {
  let down = false
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    if (down) { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('down'); return }
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=600', etag: '"v1"', date: dateAt(clock) })
    res.end('v1')
  })
  t.equal((await get(`${proxy.url}/e`)).body, 'v1')
  clock.advance(30)
  down = true
  const rows: Array<{ name: string, headers: Record<string, string>, status: number, body: string }> = [
    { name: 'when a plain request meets a 503 within stale-if-error → should be served stale', headers: {}, status: 200, body: 'v1' },
    { name: 'when a request with no-cache meets a 503 → should get the 503, not the stale response', headers: { 'cache-control': 'no-cache' }, status: 503, body: 'down' },
    { name: 'when a request with Pragma: no-cache meets a 503 → should get the 503', headers: { pragma: 'no-cache' }, status: 503, body: 'down' },
    { name: 'when a request with no-cache and its own stale-if-error meets a 503 → should be served stale', headers: { 'cache-control': 'no-cache, stale-if-error=60' }, status: 200, body: 'v1' }
  ]
  for (const r of rows) {
    const before = origin.count('/e')
    const got = await get(`${proxy.url}/e`, { headers: r.headers })
    t.same([got.status, got.body], [r.status, r.body], r.name)
    t.equal(origin.count('/e'), before + 1, `${r.name} (after asking the origin)`)
  }
  await origin.close()
  const refused = await get(`${proxy.url}/e`, { headers: { 'cache-control': 'no-cache' } })
  t.same([refused.status, refused.headers['x-freshgate-error']], [502, 'FG_UPSTREAM_REFUSED'], 'when the origin is down and the request sent no-cache → should answer 502 FG_UPSTREAM_REFUSED')
  const stale = await get(`${proxy.url}/e`)
  t.same([stale.status, stale.body], [200, 'v1'], 'when the origin is down and the request is plain → should be served stale')
})

interface Malformed {
  name: string
  headers: Record<string, string>
  /** the second request's Cache-Status */
  second: string
  /** If-None-Match the revalidation carried, when the second request went to the origin */
  validator?: string
}
const malformed: Malformed[] = [
  { name: 'a non-numeric max-age (taken as 0: stale at once, revalidated)', headers: { 'cache-control': 'max-age=abc', etag: '"m"' }, second: 'freshgate; fwd=stale; fwd-status=200; stored', validator: '"m"' },
  { name: 'a garbage Expires (already expired, revalidated)', headers: { expires: 'not a date', etag: '"m"' }, second: 'freshgate; fwd=stale; fwd-status=200; stored', validator: '"m"' },
  { name: 'a garbage Date (time of receipt used instead)', headers: { date: 'garbage', 'cache-control': 'max-age=60' }, second: 'freshgate; hit; ttl=60' },
  { name: 'a negative Age (ignored)', headers: { age: '-5', 'cache-control': 'max-age=60' }, second: 'freshgate; hit; ttl=60' },
  { name: 'a huge Age (saturated: stale on arrival, fetched again)', headers: { age: '99999999999999', 'cache-control': 'max-age=60' }, second: 'freshgate; fwd=stale; fwd-status=200; stored' },
  { name: 'an unbalanced quote in Cache-Control (no-cache with field names: fresh)', headers: { 'cache-control': 'max-age=60, no-cache="set-cookie', etag: '"m"' }, second: 'freshgate; hit; ttl=60' },
  { name: 'an invalid Vary (a field no request sends)', headers: { vary: ',,, ;;', 'cache-control': 'max-age=60' }, second: 'freshgate; hit; ttl=60' },
  { name: 'an invalid ETag', headers: { etag: 'no-quotes', 'cache-control': 'max-age=60' }, second: 'freshgate; hit; ttl=60' }
]
for (const m of malformed) {
  t.test(`an origin response with ${m.name} never crashes the proxy`, async t => {
    const { origin, proxy } = await setup(t, (_req, res) => {
      res.writeHead(200, m.headers)
      res.end('body')
    })
    const a = await get(`${proxy.url}/m`)
    t.same([a.status, a.body, a.cs], [200, 'body', 'freshgate; fwd=uri-miss; stored'], 'the first request is a miss, stored')
    const b = await get(`${proxy.url}/m`)
    t.same([b.status, b.body, b.cs], [200, 'body', m.second], 'the second request')
    const hit = m.second.includes('hit')
    t.equal(origin.count('/m'), hit ? 1 : 2, hit ? 'served from the cache' : 'went to the origin')
    if (m.validator !== undefined) t.equal(origin.seen[1]?.headers['if-none-match'], m.validator, 'with the stored validator')
  })
}

t.test('a malformed request never crashes the proxy', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => res.end('ok'))
  const bad = await get(`${proxy.url}/x`, { headers: { 'cache-control': 'max-age=,,,"', 'if-none-match': 'garbage', 'if-modified-since': '???' } })
  t.same([bad.status, bad.body, bad.cs], [200, 'ok', 'freshgate; fwd=uri-miss; detail=no-validator-or-freshness'], 'a plain miss')
  t.same([origin.seen[0]?.headers['if-none-match'], origin.seen[0]?.headers['if-modified-since']], [undefined, undefined], 'the client\'s conditionals were not sent on a miss that may fill')
  t.equal((await get(`${proxy.url}/y`)).status, 200, 'still serving')
})
