// A header rule that would touch the message framing stops start-up with exit 2 naming the key.

import t from 'tap'
import { runToEnd } from './child.ts'

t.test('--response-header-set naming Content-Length: exit 2, the key, the value and the expectation', async t => {
  const r = await runToEnd(t, ['--origin', 'http://127.0.0.1:3000', '--port', '0', '--admin-port', '0', '--response-header-set', '{"Content-Length": "0"}'])
  t.equal(r.code, 2, 'exit code')
  t.match(r.stderr, /headers\.response\.set\.Content-Length \(--response-header-set\): got "Content-Length", expected a field name \(token\) that is not Content-Length, Transfer-Encoding, Host or a hop-by-hop field/)
  t.equal(r.stdout, '')
})

t.test('a route removing Transfer-Encoding: exit 2 naming the route key', async t => {
  const r = await runToEnd(t, ['--origin', 'http://127.0.0.1:3000', '--port', '0', '--admin-port', '0', '--routes', '[{"headers": {"response": {"remove": ["transfer-encoding"]}}}]'])
  t.equal(r.code, 2, 'exit code')
  t.match(r.stderr, /routes\[0\]\.headers\.response\.remove\[0\] \(--routes\): got "transfer-encoding"/)
})
