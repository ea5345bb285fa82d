// Vary that knows the field (issue 10 #2, issue 9 #3): member order is never normalised away, and a
// stored variant is reused when its Content-Language is what the request's Accept-Language selects.

import t from 'tap'
import { setup, get } from './harness.ts'

/** An origin negotiating like Express's negotiator: the first of the client's best-weighted languages it has. */
function languages (have: string[]) {
  return (req: { headers: Record<string, string | string[] | undefined> }, res: import('node:http').ServerResponse): void => {
    const prefs = String(req.headers['accept-language'] ?? '').split(',').map((m, i) => {
      const [tag, ...params] = m.trim().split(';')
      const q = params.find(p => p.trim().startsWith('q='))
      return { tag: (tag ?? '').toLowerCase(), q: q === undefined ? 1 : Number(q.trim().slice(2)), i }
    }).filter(p => p.tag !== '' && p.q > 0).sort((a, b) => b.q - a.q || a.i - b.i)
    const lang = prefs.find(p => have.includes(p.tag))?.tag ?? have[0]!
    res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language', 'content-language': lang })
    res.end(`text in ${lang}`)
  }
}

t.test('when two clients list the same languages in a different order → two origin fetches, each gets its own language', async t => {
  const { origin, proxy } = await setup(t, languages(['fr', 'en']))
  const a = await get(`${proxy.url}/p`, { headers: { 'accept-language': 'fr, en' } })
  const b = await get(`${proxy.url}/p`, { headers: { 'accept-language': 'en, fr' } })
  t.equal(a.body, 'text in fr')
  t.equal(b.body, 'text in en', 'not the French variant: ties are broken by the client\'s order')
  t.equal(origin.count('/p'), 2)
  const c = await get(`${proxy.url}/p`, { headers: { 'accept-language': 'FR,EN' } })
  t.equal(c.body, 'text in fr', 'case and whitespace are normalised')
  t.match(c.cs, /^freshgate; hit/)
  t.equal(origin.count('/p'), 2)
})

t.test('when Accept-Language selects a stored Content-Language → the variant is reused without an origin request', async t => {
  const { origin, proxy } = await setup(t, languages(['de', 'fr']))
  t.equal((await get(`${proxy.url}/n`, { headers: { 'accept-language': 'de' } })).body, 'text in de')
  const weighted = await get(`${proxy.url}/n`, { headers: { 'accept-language': 'fr;q=0.5, de;q=1.0' } })
  t.equal(weighted.body, 'text in de')
  t.match(weighted.cs, /^freshgate; hit/, 'served from the stored de variant')
  t.equal(origin.count('/n'), 1)
  const french = await get(`${proxy.url}/n`, { headers: { 'accept-language': 'fr' } })
  t.equal(french.body, 'text in fr', 'a language not stored goes to the origin')
  t.equal(origin.count('/n'), 2)
  const none = await get(`${proxy.url}/n`, { headers: { 'accept-language': 'it' } })
  t.equal(origin.count('/n'), 3, 'no stored language selected: never guessed')
  t.equal(none.status, 200)
})
