// Regression (issue 9 #11): a HEAD that revalidates a stale entry never fell back to
// stale-if-error when the origin answered 5xx; a GET did.

import t from 'tap'
import { setup, get } from '../proxy/harness.ts'

t.test('a HEAD for a stale entry within stale-if-error gets the stored head when the origin answers 503', async t => {
  let down = false
  const { origin, proxy, clock } = await setup(t, (_req, res) => {
    if (down) { res.writeHead(503); return res.end('down') }
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=600', etag: '"v1"', 'content-type': 'text/plain' })
    res.end('body v1')
  })
  t.equal((await get(`${proxy.url}/h`)).status, 200)
  clock.advance(20)
  down = true
  const head = await get(`${proxy.url}/h`, { method: 'HEAD' })
  t.equal(head.status, 200, 'the stored response, not the 503')
  t.equal(head.headers.etag, '"v1"')
  t.equal(head.headers['content-length'], '7')
  t.match(head.cs, /^freshgate; fwd=stale; fwd-status=503; ttl=-10; detail=stale-if-error$/)
  t.equal(origin.count('/h'), 2, 'the HEAD did go to the origin first')
})

t.test('a HEAD for a stale entry without stale-if-error passes the 503 on', async t => {
  let down = false
  const { proxy, clock } = await setup(t, (_req, res) => {
    if (down) { res.writeHead(503); return res.end('down') }
    res.writeHead(200, { 'cache-control': 'max-age=10', etag: '"v1"' })
    res.end('body v1')
  })
  await get(`${proxy.url}/h`)
  clock.advance(20)
  down = true
  t.equal((await get(`${proxy.url}/h`, { method: 'HEAD' })).status, 503)
})
