// handler.ts #background leads a flight for any request in the stale-while-revalidate window, even
// one with Authorization or Cache-Control: no-store, which #forward never lets lead. The response
// then cannot be stored for *that* request, so head() marks the key hit-for-miss (30 s) and
// lead() refuses every later background revalidation: anonymous clients keep getting the stale
// response with no revalidation for the rest of the window.

import t from 'tap'
import { setup, get, dateAt } from '../proxy/harness.ts'

t.test('an authenticated request in the SWR window does not block background revalidation for others', async t => {
  let n = 0
  const { origin, proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    n++
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-while-revalidate=300', date: dateAt(clock) })
    res.end(`v${n}`)
  })
  await get(`${proxy.url}/s`)
  clock.advance(15)
  await get(`${proxy.url}/s`, { headers: { authorization: 'Bearer bob' } }) // serves stale, revalidates in background
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(origin.count('/s'), 2, 'the authenticated request triggered one background fetch')
  const anon = await get(`${proxy.url}/s`)
  await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(origin.count('/s'), 3, `an anonymous request in the window revalidates in the background (got ${anon.body}, ${anon.cs})`)
  t.equal((await get(`${proxy.url}/s`)).body, 'v3', 'and the result is stored')
})
