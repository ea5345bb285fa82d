// Hit-for-pass (issue 13): a key whose response was not storable and that has nothing stored goes
// straight upstream for the hit-for-miss time, without a lookup or collapsing; every such response
// is still planned, and the first storable one is stored.

import t from 'tap'
import { setup, get, type OriginHandler } from './harness.ts'
import type { Proxy } from './harness.ts'

/** Counts the store lookups of `key`'s URL path (the store is the real one; the count only watches it). */
function countLookups (proxy: Proxy, path: string): { n: number } {
  const store = proxy.fg.store!
  const get = store.get.bind(store)
  const seen = { n: 0 }
  store.get = (key: string) => {
    if (key.endsWith(path)) seen.n++
    return get(key)
  }
  return seen
}

/** An origin answering with the Cache-Control in `cc.value`, changeable between requests. */
function switchable (cc: { value: string }, delayMs = 0): OriginHandler {
  return async (_req, res) => {
    if (delayMs > 0) await new Promise(resolve => setTimeout(resolve, delayMs))
    res.writeHead(200, { 'cache-control': cc.value, 'content-type': 'text/plain' })
    res.end(`body ${cc.value}`)
  }
}

t.test('when a no-store URL is asked again → it goes upstream without a lookup; once storable → stored and served from the cache', async t => {
  const cc = { value: 'no-store' }
  const { origin, proxy } = await setup(t, switchable(cc))
  const lookups = countLookups(proxy, '/ns')
  const first = await get(`${proxy.url}/ns`)
  t.equal(first.cs, 'freshgate; fwd=uri-miss; detail=no-store')
  t.equal(lookups.n, 1, 'the first request looked the key up')
  const second = await get(`${proxy.url}/ns`)
  t.equal(second.body, 'body no-store')
  t.equal(second.cs, 'freshgate; fwd=uri-miss; detail=no-store', 'the same Cache-Status as a miss')
  t.equal(lookups.n, 1, 'the second request did not look the key up')
  t.equal(origin.count('/ns'), 2)
  cc.value = 'max-age=60'
  const third = await get(`${proxy.url}/ns`)
  t.equal(third.cs, 'freshgate; fwd=uri-miss; stored', 'a storable response is stored although the key was hit-for-pass')
  t.equal(lookups.n, 1)
  const fourth = await get(`${proxy.url}/ns`)
  t.match(fourth.cs, /^freshgate; hit/, 'and then served from the cache')
  t.equal(fourth.body, 'body max-age=60')
  t.equal(origin.count('/ns'), 3)
})

t.test('when the hit-for-miss time has passed → the key is looked up and collapses again', async t => {
  const cc = { value: 'no-store' }
  const { origin, proxy, clock } = await setup(t, switchable(cc), { 'collapse.hitForMiss': '10s' })
  const lookups = countLookups(proxy, '/ttl')
  await get(`${proxy.url}/ttl`)
  clock.advance(9)
  await get(`${proxy.url}/ttl`)
  t.equal(lookups.n, 1, 'within 10 s: no lookup')
  clock.advance(2)
  await get(`${proxy.url}/ttl`)
  t.equal(lookups.n, 2, 'after 10 s: looked up again')
  await get(`${proxy.url}/ttl`)
  t.equal(lookups.n, 2, 'and marked again by that response')
  t.equal(origin.count('/ttl'), 4)
})

t.test('when a hit-for-pass key gets a burst → every request goes upstream at once, none collapsed', async t => {
  const cc = { value: 'private' }
  let inFlight = 0
  let peak = 0
  const slow = switchable(cc, 100)
  const { origin, proxy } = await setup(t, async (req, res, body, clock) => {
    inFlight++
    peak = Math.max(peak, inFlight)
    await slow(req, res, body, clock)
    inFlight--
  })
  await get(`${proxy.url}/burst`)
  peak = 0
  const all = await Promise.all(Array.from({ length: 8 }, () => get(`${proxy.url}/burst`)))
  t.ok(all.every(r => r.body === 'body private'), 'each client got its own response')
  t.notOk(all.some(r => /collapsed/.test(r.cs)), 'no one shared another client\'s private response')
  t.equal(peak, 8, 'the burst went upstream concurrently')
  t.equal(origin.count('/burst'), 9)
})

t.test('when one variant of a URL is no-store and another is stored → the stored one is still served from the cache', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    const lang = req.headers['accept-language'] === 'fr' ? 'fr' : 'en'
    res.writeHead(200, { 'cache-control': lang === 'fr' ? 'no-store' : 'max-age=60', vary: 'Accept-Language' })
    res.end(`text in ${lang}`)
  })
  const fr = { headers: { 'accept-language': 'fr' } }
  const en = { headers: { 'accept-language': 'en' } }
  t.equal((await get(`${proxy.url}/v`, fr)).cs, 'freshgate; fwd=uri-miss; detail=no-store')
  t.match((await get(`${proxy.url}/v`, en)).cs, /; stored$/, 'the en variant is stored while the URL is hit-for-pass')
  t.equal((await get(`${proxy.url}/v`, fr)).cs, 'freshgate; fwd=vary-miss; detail=no-store')
  const again = await get(`${proxy.url}/v`, en)
  t.match(again.cs, /^freshgate; hit/, 'a no-store variant beside a stored one does not make the URL hit-for-pass')
  t.equal(again.body, 'text in en')
  t.equal(origin.count('/v'), 3)
})

t.test('when a request with Authorization meets a hit-for-pass key → a response that allows shared caching is stored for everyone', async t => {
  const cc = { value: 'no-store' }
  const { origin, proxy } = await setup(t, switchable(cc))
  await get(`${proxy.url}/auth`)
  cc.value = 'public, max-age=60'
  const authorized = await get(`${proxy.url}/auth`, { headers: { authorization: 'Bearer x' } })
  t.match(authorized.cs, /; stored$/)
  const anonymous = await get(`${proxy.url}/auth`)
  t.match(anonymous.cs, /^freshgate; hit/)
  t.equal(origin.count('/auth'), 2)
})

t.test('when collapsing is off → no key is hit-for-pass: every request is looked up', async t => {
  const { proxy } = await setup(t, switchable({ value: 'no-store' }), { 'collapse.enabled': false })
  const lookups = countLookups(proxy, '/off')
  await get(`${proxy.url}/off`)
  await get(`${proxy.url}/off`)
  t.equal(lookups.n, 2)
})
