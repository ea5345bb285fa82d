// exchange.ts #fold / select304: the 304 is matched against *every* stored variant of the URL,
// not only those the request selects (RFC 9111 §4.3.4: "The initial set of stored responses to
// update are those that could have been chosen for that request"). With Vary and a shared
// Last-Modified (or weak ETag), the newest variant of another language is freshened and served
// to this client: a French client gets the English body.

import t from 'tap'
import { setup, get, dateAt } from '../proxy/harness.ts'

t.test('a 304 for one Vary variant freshens and serves that variant, not another one', async t => {
  const lm = 'Mon, 01 Jan 2024 00:00:00 GMT'
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const base = { 'cache-control': 'max-age=10', vary: 'accept-language', 'last-modified': lm, date: dateAt(clock) }
    if (req.headers['if-modified-since'] === lm) {
      res.writeHead(304, base)
      return res.end()
    }
    res.writeHead(200, base)
    res.end(req.headers['accept-language'] === 'fr' ? 'bonjour' : 'hello')
  })
  t.equal((await get(`${proxy.url}/greet`, { headers: { 'accept-language': 'fr' } })).body, 'bonjour')
  clock.advance(1)
  t.equal((await get(`${proxy.url}/greet`, { headers: { 'accept-language': 'en' } })).body, 'hello')
  clock.advance(20) // both stale
  const fr = await get(`${proxy.url}/greet`, { headers: { 'accept-language': 'fr' } })
  t.equal(origin.seen.at(-1)?.headers['if-modified-since'], lm, 'revalidated conditionally')
  t.equal(fr.body, 'bonjour', `the French client gets the French variant (cache-status: ${fr.cs})`)
})
