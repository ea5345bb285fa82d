// exchange.ts error(): after #staleIfError has served the stored response (#discard = true), a
// later failure of the discarded 5xx exchange (reset, body timeout) runs
// `if (!res.writableFinished) res.destroy()`, cutting the stale response the client is still
// receiving.

import t from 'tap'
import { connect } from 'node:net'
import { setup, get, dateAt } from '../proxy/harness.ts'

t.test('a stale-if-error response is delivered whole even if the failed 5xx exchange then resets', async t => {
  const big = 'S'.repeat(4 * 1024 * 1024)
  let mode: 'ok' | 'fail' = 'ok'
  const { proxy, clock } = await setup(t, (_req, res, _b, clock) => {
    if (mode === 'fail') {
      res.writeHead(503, { 'content-length': '1000' })
      res.write('partial')
      setTimeout(() => res.socket?.destroy(), 100)
      return
    }
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=600', date: dateAt(clock), 'content-length': String(big.length) })
    res.end(big)
  })
  await get(`${proxy.url}/big`, { headers: { host: 'x' } })
  clock.advance(20)
  mode = 'fail'
  const port = Number(new URL(proxy.url).port)
  const received = await new Promise<number>(resolve => {
    const s = connect(port, '127.0.0.1')
    let n = 0
    s.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    // a slow reader: read nothing for 400 ms, then everything
    s.pause()
    setTimeout(() => s.resume(), 400)
    s.on('data', d => { n += d.length })
    const timer = setTimeout(() => { s.destroy(); resolve(n) }, 5000)
    s.on('close', () => { clearTimeout(timer); resolve(n) })
    s.on('error', () => undefined)
  })
  t.ok(received > big.length, `received ${received} bytes, body is ${big.length}`)
})
