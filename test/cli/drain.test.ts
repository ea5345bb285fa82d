// SIGTERM over the real launcher: while a slow request drains, the admin listener stays open and
// /readyz answers 503 "draining" (issue 9 #4); the request completes and the process exits 0.

import t from 'tap'
import { Origin, get } from '../proxy/harness.ts'
import { within } from '../support.ts'
import { CHILD_TIMEOUT, startProxy } from './child.ts'

t.test('/readyz answers 503 "draining" until exit while a slow request drains (issue 9 #4)', async t => {
  let release: (() => void) | undefined
  let reached: () => void = () => {}
  const arrived = new Promise<void>(resolve => { reached = resolve })
  const origin = await new Origin((_req, res) => {
    res.writeHead(200, { 'cache-control': 'no-store' })
    release = () => res.end('slow body')
    reached()
  }).start()
  t.teardown(() => { release?.(); return origin.close() })

  const fg = await startProxy(t, ['--origin', origin.url, '--shutdown-timeout', '10s'])
  const admin = (await fg.waitFor(/"msg":"admin listening on (http:\/\/[^ ,"]+)/, 'the admin line'))[1]!
  t.equal((await get(`${admin}/readyz`)).status, 200, 'ready before the signal')

  const slow = get(`${fg.url}/slow`)
  await within(arrived, CHILD_TIMEOUT, 'the slow request at the origin')
  fg.process.kill('SIGTERM')
  await fg.waitFor(/draining/, 'the draining line')

  // Bounded: the origin holds the response until the test releases it.
  let seen: { status: number, body: string } | undefined
  for (let i = 0; i < 50 && seen?.status !== 503; i++) {
    const r = await get(`${admin}/readyz`)
    seen = { status: r.status, body: r.body }
    if (r.status !== 503) await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(seen?.status, 503, 'not ready while draining')
  t.same(JSON.parse(seen!.body), { status: 'draining' })
  t.equal(fg.process.exitCode, null, 'still running: a request is in flight')
  t.same(JSON.parse((await get(`${admin}/readyz`)).body), { status: 'draining' }, 'and it stays so')

  release!()
  const r = await within(slow, CHILD_TIMEOUT, 'the slow response')
  t.equal(r.status, 200)
  t.equal(r.body, 'slow body', 'the in-flight request completes')
  t.same(await within(fg.exited, CHILD_TIMEOUT, 'exit'), [0, null])
  await t.rejects(get(`${admin}/readyz`), 'the admin listener closes with the process')
})
