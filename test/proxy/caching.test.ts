// Behaviours 2–8: storing, freshness, hits with Age, revalidation with 304 folding, conditional
// clients, invalidation and Cache-Status, over real sockets with a fake clock.

import t from 'tap'
import { setup, get, dateAt } from './harness.ts'

t.test('stores a cacheable GET and serves the hit with Age without contacting the origin', async t => {
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock), 'content-type': 'text/plain' })
    res.end('body-1')
  })
  const miss = await get(`${proxy.url}/a`)
  t.equal(miss.cs, 'freshgate; fwd=uri-miss; stored')
  clock.advance(41)
  const hit = await get(`${proxy.url}/a`)
  t.equal(hit.status, 200)
  t.equal(hit.body, 'body-1')
  t.equal(hit.headers.age, '41')
  t.equal(hit.cs, 'freshgate; hit; ttl=19')
  t.equal(hit.headers['content-length'], '6', 'hits carry Content-Length')
  t.equal(origin.count('/a'), 1, 'the hit did not reach the origin')
})

t.test('HEAD is answered from a stored GET', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('twelve bytes')
  })
  await get(`${proxy.url}/h`)
  const head = await get(`${proxy.url}/h`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.equal(head.headers['content-length'], '12')
  t.match(head.cs, /^freshgate; hit/)
  t.equal(origin.count(), 1)
})

t.test('the cache key includes Host: two virtual hosts never share entries', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end(`site ${req.headers.host}`)
  })
  const a = await get(`${proxy.url}/`, { headers: { host: 'a.example' } })
  const b = await get(`${proxy.url}/`, { headers: { host: 'b.example' } })
  const a2 = await get(`${proxy.url}/`, { headers: { host: 'A.EXAMPLE' } })
  t.equal(a.body, 'site a.example')
  t.equal(b.body, 'site b.example')
  t.equal(a2.body, 'site a.example', 'host names compare case-insensitively')
  t.match(a2.cs, /hit/)
  t.equal(origin.count(), 2)
})

t.test('the query is part of the key', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end(req.url)
  })
  t.equal((await get(`${proxy.url}/q?a=1`)).body, '/q?a=1')
  t.equal((await get(`${proxy.url}/q?a=2`)).body, '/q?a=2')
  t.equal((await get(`${proxy.url}/q?a=1`)).body, '/q?a=1')
  t.equal(origin.count(), 2)
})

const notStored: Array<[string, Record<string, string>, Record<string, string>, string]> = [
  ['no-store', { 'cache-control': 'no-store, max-age=60' }, {}, 'no-store'],
  ['private', { 'cache-control': 'private, max-age=60' }, {}, 'private'],
  ['a request with Authorization and no public/s-maxage/must-revalidate', { 'cache-control': 'max-age=60' }, { authorization: 'Bearer x' }, 'authorization'],
  ['neither freshness nor a validator', {}, {}, 'no-validator-or-freshness'],
  ['a status that needs explicit freshness', { etag: '"x"' }, {}, 'no-validator-or-freshness'],
  ['Set-Cookie without public', { 'cache-control': 'max-age=60', 'set-cookie': 'a=1' }, {}, 'set-cookie'],
  ['a request with no-store', { 'cache-control': 'max-age=60' }, { 'cache-control': 'no-store' }, 'no-store'],
  ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }, {}, 'vary-star']
]
for (const [name, resHeaders, reqHeaders, detail] of notStored) {
  t.test(`when the response has ${name} → should not store it`, async t => {
    const status = name === 'a status that needs explicit freshness' ? 302 : 200
    const { origin, proxy } = await setup(t, (_req, res) => {
      res.writeHead(status, { location: '/x', ...resHeaders })
      res.end('x')
    })
    const first = await get(`${proxy.url}/n`, { headers: reqHeaders })
    t.equal(first.cs, `freshgate; fwd=uri-miss; detail=${detail}`)
    const second = await get(`${proxy.url}/n`, { headers: reqHeaders })
    t.notMatch(second.cs, /hit/)
    t.equal(origin.count(), 2, 'both requests reached the origin')
  })
}

const stored: Array<[string, number, Record<string, string>, Record<string, string>]> = [
  ['Authorization with public', 200, { 'cache-control': 'public, max-age=60' }, { authorization: 'Bearer x' }],
  ['Authorization with s-maxage', 200, { 'cache-control': 's-maxage=60' }, { authorization: 'Bearer x' }],
  ['Authorization with must-revalidate', 200, { 'cache-control': 'must-revalidate, max-age=60' }, { authorization: 'Bearer x' }],
  ['only an ETag (stored, revalidated on use)', 200, { etag: '"e"' }, {}],
  ['a heuristically cacheable 404 with Last-Modified', 404, { 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }, {}],
  ['Expires in the future', 200, { expires: 'EXPIRES' }, {}],
  ['Set-Cookie with public (stored without it)', 200, { 'cache-control': 'public, max-age=60', 'set-cookie': 'a=1' }, {}]
]
for (const [name, status, resHeaders, reqHeaders] of stored) {
  t.test(`when the response has ${name} → should store it`, async t => {
    const { proxy } = await setup(t, (_req, res, _b, clock) => {
      const h: Record<string, string> = { ...resHeaders, date: dateAt(clock) }
      if (h.expires === 'EXPIRES') h.expires = dateAt(clock, 60)
      res.writeHead(status, h)
      res.end('x')
    })
    const first = await get(`${proxy.url}/s`, { headers: reqHeaders })
    t.equal(first.status, status)
    t.equal(first.cs, 'freshgate; fwd=uri-miss; stored')
    if (resHeaders['set-cookie'] !== undefined) {
      t.equal(first.headers['set-cookie'], 'a=1', 'the client that caused the fill gets its cookie')
      const again = await get(`${proxy.url}/s`)
      t.equal(again.headers['set-cookie'], undefined, 'a stored Set-Cookie is never served to another client')
    }
  })
}

t.test('freshness: s-maxage over max-age over Expires − Date; invalid Expires is stale', async t => {
  const { proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const h: Record<string, string> = { date: dateAt(clock), etag: '"v"' }
    if (req.url === '/smax') h['cache-control'] = 's-maxage=10, max-age=100'
    if (req.url === '/max') { h['cache-control'] = 'max-age=100'; h.expires = dateAt(clock, 5) }
    if (req.url === '/exp') h.expires = dateAt(clock, 30)
    if (req.url === '/bad') h.expires = '0'
    res.writeHead(200, h)
    res.end('x')
  })
  for (const p of ['/smax', '/max', '/exp', '/bad']) await get(proxy.url + p)
  clock.advance(1)
  t.equal((await get(`${proxy.url}/smax`)).cs, 'freshgate; hit; ttl=9')
  t.equal((await get(`${proxy.url}/max`)).cs, 'freshgate; hit; ttl=99')
  t.equal((await get(`${proxy.url}/exp`)).cs, 'freshgate; hit; ttl=29')
  t.match((await get(`${proxy.url}/bad`)).cs, /^freshgate; fwd=stale; fwd-status=200/, 'Expires: 0 is already stale')
})

t.test('current age counts the Age header and the Date the origin sent', async t => {
  const { proxy } = await setup(t, (req, res, _b, clock) => {
    const h: Record<string, string> = { 'cache-control': 'max-age=100', date: dateAt(clock) }
    if (req.url === '/aged') h.age = '30'
    if (req.url === '/old-date') h.date = dateAt(clock, -20)
    res.writeHead(200, h)
    res.end('x')
  })
  await get(`${proxy.url}/aged`)
  await get(`${proxy.url}/old-date`)
  const aged = await get(`${proxy.url}/aged`)
  t.equal(aged.headers.age, '30')
  t.equal(aged.cs, 'freshgate; hit; ttl=70')
  const old = await get(`${proxy.url}/old-date`)
  t.equal(old.headers.age, '20', 'apparent age from Date')
})

t.test('heuristic freshness: 10% of Date − Last-Modified, capped by heuristicMaxAge', async t => {
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const lm = req.url === '/long' ? dateAt(clock, -100 * 86400) : dateAt(clock, -1000)
    res.writeHead(200, { date: dateAt(clock), 'last-modified': lm })
    res.end('x')
  }, { 'cache.heuristicMaxAge': '1h' })
  await get(`${proxy.url}/short`)
  await get(`${proxy.url}/long`)
  t.equal((await get(`${proxy.url}/short`)).cs, 'freshgate; hit; ttl=100', '10% of 1000 s')
  t.equal((await get(`${proxy.url}/long`)).cs, 'freshgate; hit; ttl=3600', 'capped at 1h')
  clock.advance(101)
  t.match((await get(`${proxy.url}/short`)).cs, /fwd=stale/)
  t.equal(origin.count('/short'), 2)
})

t.test('revalidation: a stale entry is revalidated with its validators and a 304 is folded', async t => {
  let version = 1
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const etag = `"v${version}"`
    const lm = 'Mon, 01 Jan 2024 00:00:00 GMT'
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': 'max-age=10', date: dateAt(clock), 'x-refreshed': 'yes' })
      return res.end()
    }
    res.writeHead(200, { etag, 'last-modified': lm, 'cache-control': 'max-age=10', date: dateAt(clock), 'content-type': 'text/plain' })
    res.end(`version ${version}`)
  })
  t.equal((await get(`${proxy.url}/r`)).cs, 'freshgate; fwd=uri-miss; stored')
  clock.advance(11)
  const folded = await get(`${proxy.url}/r`)
  t.equal(folded.status, 200)
  t.equal(folded.body, 'version 1', 'the stored body is served')
  t.equal(folded.cs, 'freshgate; fwd=stale; fwd-status=304; ttl=10')
  t.equal(folded.headers['x-refreshed'], 'yes', 'stored headers were updated from the 304')
  t.equal(folded.headers['content-type'], 'text/plain', 'other stored headers stay')
  const reval = origin.seen[1]!
  t.equal(reval.headers['if-none-match'], '"v1"', 'If-None-Match carries the stored ETag')
  t.equal(reval.headers['if-modified-since'], 'Mon, 01 Jan 2024 00:00:00 GMT', 'If-Modified-Since carries the stored Last-Modified')
  clock.advance(5)
  t.equal((await get(`${proxy.url}/r`)).cs, 'freshgate; hit; ttl=5', 'freshness was reset by the 304')
  version = 2
  clock.advance(6)
  const replaced = await get(`${proxy.url}/r`)
  t.equal(replaced.body, 'version 2')
  t.equal(replaced.cs, 'freshgate; fwd=stale; fwd-status=200; stored')
  t.equal((await get(`${proxy.url}/r`)).body, 'version 2', 'a 200 replaced the entry')
  t.equal(origin.count('/r'), 3)
})

t.test('no-cache in the response or the request forces revalidation', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    const h: Record<string, string> = { etag: '"e"', date: dateAt(clock), 'cache-control': req.url === '/nc' ? 'no-cache' : 'max-age=60' }
    if (req.headers['if-none-match'] === '"e"') { res.writeHead(304, h); return res.end() }
    res.writeHead(200, h)
    res.end('x')
  })
  await get(`${proxy.url}/nc`)
  t.match((await get(`${proxy.url}/nc`)).cs, /^freshgate; fwd=stale; fwd-status=304/)
  await get(`${proxy.url}/fresh`)
  t.match((await get(`${proxy.url}/fresh`)).cs, /^freshgate; hit/)
  t.match((await get(`${proxy.url}/fresh`, { headers: { 'cache-control': 'no-cache' } })).cs, /^freshgate; fwd=request; fwd-status=304/)
  t.match((await get(`${proxy.url}/fresh`, { headers: { pragma: 'no-cache' } })).cs, /^freshgate; fwd=request; fwd-status=304/)
  t.match((await get(`${proxy.url}/fresh`, { headers: { pragma: 'no-cache', 'cache-control': 'max-stale' } })).cs, /^freshgate; hit/, 'Pragma counts only without Cache-Control')
  t.equal(origin.count('/fresh'), 3)
})

t.test('must-revalidate: a stale entry is never served when the origin is unreachable (504)', async t => {
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { etag: '"m"', date: dateAt(clock), 'cache-control': 'max-age=1, must-revalidate' })
    res.end('x')
  })
  await get(`${proxy.url}/m`)
  await origin.close()
  clock.advance(2)
  const r = await get(`${proxy.url}/m`, { headers: { 'cache-control': 'max-stale=100' } })
  t.equal(r.status, 504)
  t.match(r.body, /FG_REVALIDATION_FAILED/)
  t.equal(r.headers['x-freshgate-error'], 'FG_REVALIDATION_FAILED')
})

t.test('conditional clients get a 304 from the cache', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { etag: 'W/"t42"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'cache-control': 'max-age=60', date: dateAt(clock), 'content-type': 'application/json', 'x-other': '1' })
    res.end('{"task":42}')
  })
  await get(`${proxy.url}/api/task/42`)
  const cases: Array<[string, Record<string, string>, number]> = [
    ['a matching weak ETag', { 'if-none-match': 'W/"t42"' }, 304],
    ['a matching strong form (weak comparison)', { 'if-none-match': '"t42"' }, 304],
    ['a list containing the ETag', { 'if-none-match': '"a", W/"t42" , "b"' }, 304],
    ['*', { 'if-none-match': '*' }, 304],
    ['a different ETag', { 'if-none-match': '"other"' }, 200],
    ['If-Modified-Since at Last-Modified', { 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, 304],
    ['If-Modified-Since before Last-Modified', { 'if-modified-since': 'Sun, 31 Dec 2023 00:00:00 GMT' }, 200],
    ['If-None-Match that fails wins over a matching If-Modified-Since', { 'if-none-match': '"other"', 'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' }, 200],
    ['an invalid If-Modified-Since', { 'if-modified-since': 'yesterday' }, 200],
    ['no validator', {}, 200]
  ]
  for (const [name, headers, status] of cases) {
    const r = await get(`${proxy.url}/api/task/42`, { headers })
    t.equal(r.status, status, `when the client sends ${name} → ${status}`)
    if (status === 304) {
      t.equal(r.body, '', '304 has no body')
      t.equal(r.headers.etag, 'W/"t42"', '304 carries ETag')
      t.equal(r.headers['cache-control'], 'max-age=60', '304 carries Cache-Control')
      t.ok(r.headers.date, '304 carries Date')
      t.equal(r.headers['x-other'], undefined, '304 carries no other representation metadata')
      t.equal(r.headers['content-type'], undefined)
    }
  }
  t.equal(origin.count(), 1, 'all answered from the cache')
})

t.test('a conditional client on a miss gets a 304 while the full response is stored', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { etag: '"p"', 'cache-control': 'max-age=60', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'content-type': 'text/plain' })
    res.end('poll')
  })
  const r = await get(`${proxy.url}/poll`, { headers: { 'if-none-match': '"p"' } })
  t.equal(r.status, 304)
  t.equal(r.headers.etag, '"p"', 'the 304 carries the ETag')
  t.equal(r.headers['last-modified'], undefined, 'and, as a 304 from the store, no Last-Modified beside an ETag')
  t.equal(r.headers['content-type'], undefined)
  t.equal(origin.seen[0]!.headers['if-none-match'], undefined, 'the client validator is not sent when filling')
  const full = await get(`${proxy.url}/poll`)
  t.equal(full.body, 'poll')
  t.match(full.cs, /hit/)
})

t.test('a conditional client after revalidation gets a 304 when nothing changed', async t => {
  const { proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const h = { etag: '"k"', 'cache-control': 'max-age=1', date: dateAt(clock) }
    if (req.headers['if-none-match'] === '"k"') { res.writeHead(304, h); return res.end() }
    res.writeHead(200, h)
    res.end('k')
  })
  await get(`${proxy.url}/k`)
  clock.advance(5)
  const r = await get(`${proxy.url}/k`, { headers: { 'if-none-match': '"k"' } })
  t.equal(r.status, 304)
  t.equal(r.cs, 'freshgate; fwd=stale; fwd-status=304; ttl=1')
})

for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
  t.test(`a non-error ${method} invalidates the stored entry; an error response does not`, async t => {
    let fail = false
    const { origin, proxy } = await setup(t, (req, res) => {
      if (req.method !== 'GET') { res.writeHead(fail ? 500 : 204); return res.end() }
      res.writeHead(200, { 'cache-control': 'max-age=60' })
      res.end('x')
    })
    await get(`${proxy.url}/doc`)
    fail = true
    t.equal((await get(`${proxy.url}/doc`, { method, body: method === 'DELETE' ? undefined : 'b' })).status, 500)
    t.match((await get(`${proxy.url}/doc`)).cs, /hit/, 'an error response leaves the entry')
    fail = false
    const w = await get(`${proxy.url}/doc`, { method, body: method === 'DELETE' ? undefined : 'b' })
    t.equal(w.cs, 'freshgate; fwd=method; detail=method')
    t.match((await get(`${proxy.url}/doc`)).cs, /^freshgate; fwd=uri-miss; stored/, 'the entry is gone')
    t.equal(origin.count(), 4)
  })
}
