// The disk tier through the proxy (store.disk.dir): a restarted proxy serves what the last one stored.

import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Origin, FakeClock, startFreshgate, get } from './harness.ts'

t.test('a restarted proxy keeps the entries of its disk tier', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'freshgate-disk-proxy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const clock = new FakeClock()
  const origin = await new Origin((req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', vary: 'accept-language' })
    res.end(`${req.url} ${String(req.headers['accept-language'])}`)
  }, clock).start()
  t.teardown(() => origin.close())
  const first = await startFreshgate(origin.url, { 'store.disk.dir': dir }, clock)
  await get(`${first.url}/kept`, { headers: { 'accept-language': 'en' } })
  await get(`${first.url}/kept`, { headers: { 'accept-language': 'fr' } })
  await first.fg.close()
  const second = await startFreshgate(origin.url, { 'store.disk.dir': dir }, clock)
  t.teardown(() => second.fg.close())
  for (const lang of ['fr', 'en']) {
    // The Host names the first proxy's port: the key is the same URL as before the restart.
    const r = await get(`${second.url}/kept`, { headers: { 'accept-language': lang, host: new URL(first.url).host } })
    t.equal(r.body, `/kept ${lang}`)
    t.match(r.cs, /hit/, `${lang} served from disk after the restart`)
  }
  t.equal(origin.count('/kept'), 2, 'one fetch per variant, none after the restart')
})
