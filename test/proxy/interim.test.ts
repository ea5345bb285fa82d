// relayInterim over HTTP/2: the compat response a listener hands the proxy carries 100, 102 and
// 103 as HEADERS frames before the final response (a real node:http2 server and client, h2c).

import t from 'tap'
import { createServer, connect, type IncomingHttpHeaders } from 'node:http2'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { relayInterim } from '../../src/proxy/interim.ts'

/** Starts an h2c server whose handler relays the given interim responses, then answers 200 "ok". */
async function h2Origin (t: { teardown: (fn: () => unknown) => void }, interims: Array<{ status: number, headers: Record<string, string> }>): Promise<{ url: string, relayed: boolean[] }> {
  const relayed: boolean[] = []
  const server = createServer((_req, res) => {
    for (const i of interims) relayed.push(relayInterim(res as unknown as ServerResponse, '2', i.status, i.headers))
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, relayed }
}

/** What an h2 client saw: informational header blocks, then the status and the body. */
async function h2Get (url: string): Promise<{ interim: IncomingHttpHeaders[], status: number, body: string }> {
  const session = connect(url)
  try {
    return await new Promise((resolve, reject) => {
      const interim: IncomingHttpHeaders[] = []
      let status = 0
      let body = ''
      const req = session.request({ ':path': '/' })
      req.on('headers', h => interim.push(h))
      req.on('response', h => { status = Number(h[':status']) })
      req.setEncoding('utf8')
      req.on('data', (d: string) => { body += d })
      req.on('end', () => resolve({ interim, status, body }))
      req.on('error', reject)
      req.end()
    })
  } finally {
    session.close()
  }
}

t.test('over HTTP/2, 100, 102 and 103 with Link → should reach the client in order before the 200', async t => {
  const { url, relayed } = await h2Origin(t, [
    { status: 100, headers: {} },
    { status: 102, headers: {} },
    { status: 103, headers: { link: '</app.css>; rel=preload; as=style', connection: 'keep-alive' } }
  ])
  const got = await h2Get(url)
  t.same(relayed, [true, true, true])
  t.same(got.interim.map(h => h[':status']), [100, 102, 103])
  t.equal(got.interim[2]?.link, '</app.css>; rel=preload; as=style')
  t.equal(got.interim[2]?.connection, undefined, 'hop-by-hop fields are not relayed')
  t.equal(got.status, 200)
  t.equal(got.body, 'ok')
})

t.test('over HTTP/2, a 103 without Link and other 1xx codes → should be dropped', async t => {
  const { url, relayed } = await h2Origin(t, [{ status: 103, headers: { 'x-other': '1' } }, { status: 104, headers: {} }])
  const got = await h2Get(url)
  t.same(relayed, [false, false])
  t.same(got.interim, [])
  t.equal(got.status, 200)
})
