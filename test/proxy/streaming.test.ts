// Streaming heads and interim responses: the client gets the response head as soon as the
// origin's head arrives (an event stream whose first event is late, a body timeout that cuts the
// body), and 100, 102 and 103 from the origin are relayed before the final response, never stored.

import t from 'tap'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { startFreshgate } from './harness.ts'
import { ByteOrigin } from '../faults/origin.ts'

/** What a node:http client saw: interim responses, then when the head came and the body (or the cut). */
interface Seen {
  interim: { status: number, headers: Record<string, string | string[] | undefined> }[]
  status: number
  headMs: number
  body: string
  cut: boolean
  endMs: number
}

/** GETs through node:http, timing the head and recording 1xx ('information') responses. */
async function watch (url: string, headers: Record<string, string> = {}): Promise<Seen> {
  const started = Date.now()
  return await new Promise<Seen>((resolve, reject) => {
    const seen: Seen = { interim: [], status: 0, headMs: -1, body: '', cut: false, endMs: -1 }
    const req = httpRequest(url, { headers, agent: false }, (res: IncomingMessage) => {
      seen.status = res.statusCode ?? 0
      seen.headMs = Date.now() - started
      res.setEncoding('latin1')
      res.on('data', (d: string) => { seen.body += d })
      res.on('end', () => { seen.endMs = Date.now() - started; resolve(seen) })
      res.on('error', () => { seen.cut = true; seen.endMs = Date.now() - started; resolve(seen) })
      res.on('aborted', () => { seen.cut = true })
    })
    req.on('information', info => seen.interim.push({ status: info.statusCode, headers: info.headers }))
    req.on('error', err => {
      if (seen.status !== 0) { seen.cut = true; resolve(seen) } else reject(err)
    })
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')))
    req.end()
  })
}

async function withOrigin (t: { teardown: (fn: () => unknown) => void }, behave: ConstructorParameters<typeof ByteOrigin>[0], flags: Record<string, unknown> = {}): Promise<{ origin: ByteOrigin, url: string }> {
  const origin = await new ByteOrigin(behave).start()
  const proxy = await startFreshgate(origin.url, flags)
  t.teardown(async () => { await proxy.fg.close(); await origin.close() })
  return { origin, url: proxy.url }
}

const SSE_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n'
const EVENT = 'data: hello\n\n'
const chunk = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`

t.test('an event stream whose first event comes after 1.5 s → should reach the client with its head at once', async t => {
  const { url } = await withOrigin(t, s => {
    s.write(SSE_HEAD)
    setTimeout(() => { if (!s.destroyed) s.end(chunk(EVENT) + '0\r\n\r\n') }, 1500)
  })
  const seen = await watch(url + '/events')
  t.equal(seen.status, 200)
  t.ok(seen.headMs < 500, `head after ${seen.headMs} ms`)
  t.ok(seen.endMs >= 1400, `body after ${seen.endMs} ms`)
  t.equal(seen.body, EVENT)
})

t.test('a body slower than timeouts.body → should give the client the status before the cut', async t => {
  const { url } = await withOrigin(t, s => { s.write(SSE_HEAD) }, { 'timeouts.body': '1s' })
  const seen = await watch(url + '/events')
  t.equal(seen.status, 200, 'the client has the status')
  t.ok(seen.headMs < 500, `head after ${seen.headMs} ms`)
  t.ok(seen.cut, 'the body was cut by the body timeout')
})

t.test('a cacheable response whose body is late → should reach the client with its head at once', async t => {
  const { url } = await withOrigin(t, s => {
    s.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\n\r\n')
    setTimeout(() => { if (!s.destroyed) s.write('hello') }, 1000)
  })
  const seen = await watch(url + '/slow')
  t.equal(seen.status, 200)
  t.ok(seen.headMs < 500, `head after ${seen.headMs} ms`)
  t.equal(seen.body, 'hello')
})

const OK = 'HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 5\r\n\r\nhello'

t.test('an unexpected 100 Continue before the 200 → should be tolerated and relayed', async t => {
  const { origin, url } = await withOrigin(t, s => { s.write('HTTP/1.1 100 Continue\r\n\r\n'); s.write(OK) })
  const seen = await watch(url + '/continue')
  t.equal(seen.status, 200)
  t.equal(seen.body, 'hello')
  t.same(seen.interim.map(i => i.status), [100])
  const again = await watch(url + '/continue')
  t.equal(again.body, 'hello')
  t.same(again.interim, [], 'a hit has no interim response: 1xx are never stored')
  t.equal(origin.requests, 1, 'the 200 after the 100 was stored')
})

t.test('103 Early Hints with Link → should reach the client before the 200', async t => {
  const { url } = await withOrigin(t, s => {
    s.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n')
    setTimeout(() => { if (!s.destroyed) s.write(OK) }, 100)
  })
  const seen = await watch(url + '/hints')
  t.equal(seen.status, 200)
  t.equal(seen.body, 'hello')
  t.equal(seen.interim.length, 1)
  t.equal(seen.interim[0]?.status, 103)
  t.equal(seen.interim[0]?.headers.link, '</style.css>; rel=preload; as=style')
})

t.test('102 Processing then 103 then 200 → should relay both in order', async t => {
  const { url } = await withOrigin(t, s => {
    s.write('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.js>; rel=preload; as=script\r\n\r\n')
    s.write(OK)
  })
  const seen = await watch(url + '/both')
  t.same(seen.interim.map(i => i.status), [102, 103])
  t.equal(seen.status, 200)
  t.equal(seen.body, 'hello')
})

t.test('a 103 without Link → should be dropped, the 200 still served', async t => {
  const { url } = await withOrigin(t, s => { s.write('HTTP/1.1 103 Early Hints\r\nX-Other: 1\r\n\r\n'); s.write(OK) })
  const seen = await watch(url + '/nolink')
  t.same(seen.interim, [])
  t.equal(seen.status, 200)
  t.equal(seen.body, 'hello')
})

t.test('an HTTP/1.0 client → should get no 1xx (RFC 9110 §15.2)', async t => {
  const { url } = await withOrigin(t, s => { s.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n'); s.write(OK) })
  const { raw } = await import('./harness.ts')
  const text = await raw(url, 'GET /old HTTP/1.0\r\nHost: example.com\r\n\r\n', /hello/)
  t.match(text, /^HTTP\/1\.1 200/)
  t.notMatch(text, /103/)
})

t.test('an origin sending many 1xx → should relay at most 8, then the final response', async t => {
  const { url } = await withOrigin(t, s => { s.write('HTTP/1.1 102 Processing\r\n\r\n'.repeat(50)); s.write(OK) })
  const seen = await watch(url + '/many')
  t.equal(seen.interim.length, 8)
  t.equal(seen.status, 200)
  t.equal(seen.body, 'hello')
})

t.test('a waiter collapsed on an event stream → should be released at the head and get its own head at once', async t => {
  const { origin, url } = await withOrigin(t, s => {
    s.write(SSE_HEAD)
    setTimeout(() => { if (!s.destroyed) s.end(chunk(EVENT) + '0\r\n\r\n') }, 1000)
  })
  const [a, b] = await Promise.all([watch(url + '/shared-events'), watch(url + '/shared-events')])
  t.ok(a!.headMs < 500 && b!.headMs < 500, `heads after ${a!.headMs} and ${b!.headMs} ms`)
  t.equal(a!.body, EVENT)
  t.equal(b!.body, EVENT)
  t.equal(origin.requests, 2, 'the released waiter went upstream on its own')
})
