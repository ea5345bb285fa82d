// The bug: a request whose own headers rule out storing (Authorization, Cache-Control: no-store)
// led a background revalidation in the stale-while-revalidate window (or a collapsed flight, or a
// Range background fill). Its response could not be stored for *that* request, so the key was
// marked hit-for-miss (30 s) and every later background revalidation was refused: anonymous
// clients kept getting the stale response for the rest of the window. The guard is `shareable` in
// cache/plan.ts planRequest: `revalidate: shareable`, and the `collapse` and `backgroundFill`
// conditions. Each test below fails when that guard is removed.

import t from 'tap'
import { setup, get, dateAt, type Origin } from '../proxy/harness.ts'

const pause = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** Waits (bounded, 2 s) until `n` requests for `path` reached the origin; answers the count seen. */
async function originCount (origin: Origin, path: string, n: number): Promise<number> {
  for (let i = 0; i < 40 && origin.count(path) < n; i++) await pause(50)
  return origin.count(path)
}

const SWR_HIT = 'freshgate; hit; ttl=-5; detail=stale-while-revalidate'

const unshareable: Array<{ name: string, headers: Record<string, string> }> = [
  { name: 'Cache-Control: no-store', headers: { 'cache-control': 'no-store' } },
  { name: 'Authorization', headers: { authorization: 'Bearer bob' } }
]

for (const u of unshareable) {
  t.test(`a request with ${u.name} inside the stale-while-revalidate window is served stale without a background revalidation, and does not block a later one`, async t => {
    let n = 0
    // public, so a request with Authorization may be answered from the cache (RFC 9111 §3.5) and reaches the SWR plan
    const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
      n++
      res.writeHead(200, { 'cache-control': 'public, max-age=10, stale-while-revalidate=300', date: dateAt(clock) })
      res.end(`v${n}`)
    })
    t.equal((await get(`${proxy.url}/s`)).body, 'v1')
    clock.advance(15)
    const own = await get(`${proxy.url}/s`, { headers: u.headers })
    t.same([own.status, own.body, own.cs], [200, 'v1', SWR_HIT], 'served the stale response')
    await pause(150)
    t.equal(origin.count('/s'), 1, 'and started no background revalidation')
    const anon = await get(`${proxy.url}/s`)
    t.same([anon.body, anon.cs], ['v1', SWR_HIT], 'an anonymous request in the window is served stale too')
    t.equal(await originCount(origin, '/s', 2), 2, 'and revalidates in the background')
    await pause(50)
    const after = await get(`${proxy.url}/s`)
    t.same([after.body, after.cs], ['v2', 'freshgate; hit; ttl=10'], 'and the result is stored')
  })
}

t.test('an authenticated request for a response without public goes forward itself and does not block background revalidation for others', async t => {
  let n = 0
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    n++
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-while-revalidate=300', date: dateAt(clock) })
    res.end(`v${n}`)
  })
  await get(`${proxy.url}/s`)
  clock.advance(15)
  const bob = await get(`${proxy.url}/s`, { headers: { authorization: 'Bearer bob' } })
  t.same([bob.body, bob.cs], ['v2', 'freshgate; fwd=request; fwd-status=200; detail=authorization'], 'forwarded (§3.5), not stored')
  await pause(100)
  t.equal(origin.count('/s'), 2, 'one origin request, no background one')
  const anon = await get(`${proxy.url}/s`)
  t.same([anon.body, anon.cs], ['v1', SWR_HIT], 'an anonymous request in the window is served stale')
  t.equal(await originCount(origin, '/s', 3), 3, 'and revalidates in the background')
  await pause(50)
  t.equal((await get(`${proxy.url}/s`)).body, 'v3', 'and the result is stored')
})

for (const u of unshareable) {
  for (const stale of [false, true]) {
    t.test(`a request with ${u.name} on a ${stale ? 'stale entry' : 'miss'} does not lead a flight, so later anonymous requests still collapse`, async t => {
      let n = 0
      const { origin, proxy, clock } = await setup(t, async (_req, res, _b, clock) => {
        n++
        const body = `v${n}`
        await pause(150)
        res.writeHead(200, { 'cache-control': 'max-age=10', date: dateAt(clock) })
        res.end(body)
      })
      if (stale) {
        await get(`${proxy.url}/c`)
        clock.advance(15)
      }
      const before = origin.count('/c')
      const own = await get(`${proxy.url}/c`, { headers: u.headers })
      t.equal(own.status, 200)
      t.equal(origin.count('/c'), before + 1, 'the request went to the origin')
      const burst = await Promise.all([0, 1, 2].map(async () => await get(`${proxy.url}/c`)))
      t.equal(origin.count('/c'), before + 2, 'three concurrent anonymous requests reached the origin once')
      t.same(new Set(burst.map(b => b.body)).size, 1, 'and got the same response')
    })
  }
}

t.test('a Range miss with Authorization starts no background fill, and does not block a later anonymous one', async t => {
  const { origin, proxy } = await setup(t, (req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock), 'content-length': '10' })
    res.end('0123456789')
  })
  const bob = await get(`${proxy.url}/r`, { headers: { authorization: 'Bearer bob', range: 'bytes=0-1' } })
  t.equal(bob.status, 200, 'the origin ignored the range')
  await pause(150)
  t.equal(origin.count('/r'), 1, 'no background fill for the authenticated request')
  t.equal(origin.seen.filter(s => s.headers.range === undefined).length, 0, 'nothing fetched the whole response')
  await get(`${proxy.url}/r`, { headers: { range: 'bytes=0-1' } })
  t.equal(await originCount(origin, '/r', 3), 3, 'an anonymous Range miss is forwarded and fills in the background')
  await pause(50)
  const whole = await get(`${proxy.url}/r`)
  t.same([whole.body, whole.cs], ['0123456789', 'freshgate; hit; ttl=60'], 'and the fill is stored')
})
