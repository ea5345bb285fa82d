// exchange.ts: a collapsing leader whose client leaves before the upstream head keeps the exchange
// running (waiters might need it). When the head then shows the response is not storable, nobody
// needs it, but head() only aborts when ctx.res is undefined (background), so a non-storable
// streaming response is read to its end (or forever) for a client that is gone, holding an origin
// connection.

import t from 'tap'
import { connect } from 'node:net'
import { setup } from '../proxy/harness.ts'

t.test('leader leaves before the head; a no-store streaming response is aborted upstream', async t => {
  let originClosed = false
  const { proxy } = await setup(t, async (_req, res) => {
    await new Promise(resolve => setTimeout(resolve, 150)) // head arrives after the client left
    res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'text/event-stream' })
    const timer = setInterval(() => res.write('data: tick\n\n'), 20)
    // a long stream, bounded for the test: it ends on its own after 3 s
    const stop = setTimeout(() => res.end(), 3000)
    res.on('close', () => {
      clearInterval(timer); clearTimeout(stop)
      if (!res.writableFinished) originClosed = true // the proxy hung up before the end
    })
  })
  const port = Number(new URL(proxy.url).port)
  const s = connect(port, '127.0.0.1')
  s.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n')
  await new Promise(resolve => setTimeout(resolve, 50))
  s.destroy() // the client leaves before the origin answered
  for (let i = 0; i < 50 && !originClosed; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.ok(originClosed, 'the origin exchange was aborted once the response turned out unstorable')
})
