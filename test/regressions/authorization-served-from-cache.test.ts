// README "Cookies and authorisation": "Requests with Authorization are answered from the cache only
// by responses that allowed it (§3.5)". handler.ts #decide never looks at Authorization: a stored
// response without public / s-maxage / must-revalidate answers an authenticated request.

import t from 'tap'
import { setup, get } from '../proxy/harness.ts'

t.test('a request with Authorization is not answered by a stored response that did not allow it', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end(req.headers.authorization === undefined ? 'anonymous view' : 'personal view')
  })
  t.equal((await get(`${proxy.url}/acct`)).body, 'anonymous view')
  const authed = await get(`${proxy.url}/acct`, { headers: { authorization: 'Bearer alice' } })
  t.equal(authed.body, 'personal view', `cache-status: ${authed.cs}`)
  t.equal(origin.count('/acct'), 2)
})
