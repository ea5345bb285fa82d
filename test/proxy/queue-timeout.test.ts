// The upstream queue timeout with one timer per upstream (issue 13): every request waiting for an
// origin connection is answered 503 FG_UPSTREAM_BUSY after its own upstream.queueTimeout, one that
// gets a connection in time is answered by the origin, and a reload's new timeout applies to new requests.

import t from 'tap'
import { setup, get } from './harness.ts'
import { loadConfig } from '../../src/config/load.ts'

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** An origin holding /hold for `holdMs` and answering the rest at once. */
function holding (holdMs: number) {
  return async (req: { url?: string }, res: import('node:http').ServerResponse): Promise<void> => {
    if (req.url === '/hold') await sleep(holdMs)
    res.writeHead(200, { 'cache-control': 'no-store' })
    res.end('ok')
  }
}

/** A GET and how long it took, ms. */
async function timed (url: string): Promise<{ status: number, ms: number, at: number }> {
  const t0 = performance.now()
  const r = await get(url)
  return { status: r.status, ms: performance.now() - t0, at: performance.now() }
}

t.test('when several requests wait for the one connection → each is answered 503 after its own queue timeout, in order', async t => {
  const { origin, proxy } = await setup(t, holding(2500), { 'upstream.connections': 1, 'upstream.queueTimeout': '400ms' })
  const held = get(`${proxy.url}/hold`)
  await sleep(50)
  const first = timed(`${proxy.url}/a`)
  await sleep(200)
  const second = timed(`${proxy.url}/b`)
  const [a, b] = await Promise.all([first, second])
  t.equal(a.status, 503)
  t.equal(b.status, 503)
  t.ok(a.ms >= 350 && a.ms < 1500, `the first waited its own timeout (${Math.round(a.ms)} ms)`)
  t.ok(b.ms >= 350 && b.ms < 1500, `the second waited its own timeout, not the first one's (${Math.round(b.ms)} ms)`)
  t.ok(a.at < b.at, 'answered in the order they came')
  t.equal((await held).status, 200)
  await sleep(100)
  t.equal(origin.count('/a') + origin.count('/b'), 0, 'the abandoned requests never reached the origin')
})

t.test('when a waiting request gets the connection before its timeout → the origin answers it', async t => {
  const { origin, proxy } = await setup(t, holding(150), { 'upstream.connections': 1, 'upstream.queueTimeout': '1500ms' })
  const held = get(`${proxy.url}/hold`)
  await sleep(30)
  const waited = await timed(`${proxy.url}/w`)
  t.equal(waited.status, 200)
  t.equal((await held).status, 200)
  t.equal(origin.count('/w'), 1)
  // Long after its timeout would have fired, nothing more happens to it (its entry left the watch).
  await sleep(1600)
  t.equal((await get(`${proxy.url}/w`)).status, 200)
})

t.test('when a reload shortens the queue timeout → new requests wait the new one', async t => {
  const { proxy } = await setup(t, holding(2500), { 'upstream.connections': 1, 'upstream.queueTimeout': '2s' })
  const flags = { origin: proxy.fg.handler.config.origin, port: 0, host: '127.0.0.1', 'admin.port': 0, 'upstream.connections': 1, 'upstream.queueTimeout': '300ms' }
  await proxy.fg.handler.reconfigure(loadConfig({ flags }))
  const held = get(`${proxy.url}/hold`)
  await sleep(50)
  const r = await timed(`${proxy.url}/short`)
  t.equal(r.status, 503)
  t.ok(r.ms >= 250 && r.ms < 1500, `waited the reloaded timeout (${Math.round(r.ms)} ms)`)
  t.equal((await held).status, 200)
})
