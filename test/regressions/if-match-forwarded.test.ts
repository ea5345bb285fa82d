// RFC 9111 §4.3.2: "A cache MUST NOT evaluate conditional header fields that only apply to an
// origin server" — handler.ts sends If-Match / If-Unmodified-Since requests upstream "as they are",
// but exchange() treats them as a cache fill and upstreamHeaders() strips the preconditions.

import t from 'tap'
import { setup, get } from '../proxy/harness.ts'

t.test('a GET with If-Match reaches the origin with its If-Match and gets the 412', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    if (req.headers['if-match'] !== undefined && req.headers['if-match'] !== '"current"') {
      res.writeHead(412)
      return res.end()
    }
    res.writeHead(200, { etag: '"current"', 'cache-control': 'max-age=60' })
    res.end('the representation')
  })
  const r = await get(`${proxy.url}/doc`, { headers: { 'if-match': '"stale-version"' } })
  t.equal(origin.seen[0]?.headers['if-match'], '"stale-version"', 'If-Match forwarded to the origin')
  t.equal(r.status, 412, 'precondition failed reaches the client')
})

t.test('a GET with If-Unmodified-Since reaches the origin with it', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('x')
  })
  await get(`${proxy.url}/doc2`, { headers: { 'if-unmodified-since': 'Mon, 01 Jan 2024 00:00:00 GMT' } })
  t.equal(origin.seen[0]?.headers['if-unmodified-since'], 'Mon, 01 Jan 2024 00:00:00 GMT')
})
