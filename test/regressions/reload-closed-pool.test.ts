// router.ts: on reload, Router.close(next) closes the pools the new config no longer uses but
// leaves them in the pool map the next Router shares, so a later reload that brings the origin
// back reuses a *closed* undici Pool: every request to it fails with 502 (ClientClosedError).

import t from 'tap'
import { Origin, startFreshgate, get } from '../proxy/harness.ts'
import { loadConfig } from '../../src/config/load.ts'

t.test('origin A → B → A across reloads: A still works', async t => {
  const a = await new Origin((_req, res) => { res.writeHead(200, { 'cache-control': 'no-store' }); res.end('A') }).start()
  const b = await new Origin((_req, res) => { res.writeHead(200, { 'cache-control': 'no-store' }); res.end('B') }).start()
  const proxy = await startFreshgate(a.url)
  t.teardown(async () => { await a.close(); await b.close() })
  const cfg = (origin: string) => loadConfig({ flags: { origin, port: 0, host: '127.0.0.1' } })
  t.equal((await get(`${proxy.url}/x`)).body, 'A')
  await proxy.fg.handler.reconfigure(cfg(b.url))
  t.equal((await get(`${proxy.url}/x`)).body, 'B')
  await proxy.fg.handler.reconfigure(cfg(a.url))
  const r = await get(`${proxy.url}/x`)
  t.equal(r.status, 200, `got ${r.status} ${r.headers['x-freshgate-error'] ?? ''}`)
  t.equal(r.body, 'A')
  // the same stale map also makes shutdown fail: close() reaches the already-closed pool again
  await t.resolves(proxy.fg.close(), 'shutdown after the reloads succeeds')
})
