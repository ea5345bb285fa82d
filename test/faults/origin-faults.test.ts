// Origin faults, byte by byte: every client gets a coded 502/504 or a clean close within a bound,
// never a hang; and nothing truncated is ever stored or served as complete (a later client gets
// the whole body, checked by SHA-256, from a fresh origin request).

import t from 'tap'
import type { Socket } from 'node:net'
import { startFreshgate } from '../proxy/harness.ts'
import { ByteOrigin, bodyOf, sha256, okHead, fetchWhole, type Behaviour, type Outcome } from './origin.ts'

const BODY = bodyOf(64 * 1024)
const FULL = sha256(BODY)
const HALF = BODY.subarray(0, BODY.length / 2)

/** A complete, correct, cacheable response. */
function whole (s: Socket): void {
  s.write(okHead(BODY.length))
  s.write(BODY)
}

const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n'

/** One fault on the first request; later requests are answered whole. */
interface Fault {
  name: string
  first: Behaviour
  /** the coded error client A must get, when the fault comes before any byte could be forwarded */
  code?: string
  /** proxy flags, e.g. short timeouts */
  flags?: Record<string, unknown>
}

const faults: Fault[] = [
  { name: 'a reset right after the head', first: s => { s.write(okHead(BODY.length)); setTimeout(() => s.resetAndDestroy(), 20) } },
  { name: 'a reset mid-body', first: s => { s.write(okHead(BODY.length)); s.write(HALF); setTimeout(() => s.resetAndDestroy(), 50) } },
  { name: 'a reset before any byte', first: s => s.resetAndDestroy(), code: 'FG_UPSTREAM_RESET' },
  { name: 'a close before any byte', first: s => s.end(), code: 'FG_UPSTREAM_RESET' },
  { name: 'a body shorter than Content-Length, then close', first: s => { s.write(okHead(BODY.length)); s.end(HALF) } },
  { name: 'chunked without the last chunk, then close', first: s => { s.write(CHUNKED_HEAD + HALF.length.toString(16) + '\r\n'); s.write(HALF); s.end('\r\n') } },
  { name: 'a chunk with a bad size', first: s => { s.write(CHUNKED_HEAD + HALF.length.toString(16) + '\r\n'); s.write(HALF); s.end('\r\nzz\r\nxx\r\n0\r\n\r\n') } },
  { name: 'a chunk longer than its size', first: s => { s.write(CHUNKED_HEAD + '10\r\n'); s.end(Buffer.concat([HALF, Buffer.from('\r\n0\r\n\r\n')])) } },
  { name: 'a chunk size beyond 64 bits', first: s => s.end(CHUNKED_HEAD + 'f'.repeat(20) + '\r\nabc\r\n0\r\n\r\n') },
  { name: 'a stall before the head', first: () => {}, code: 'FG_UPSTREAM_HEADERS_TIMEOUT', flags: { 'timeouts.headers': '500ms' } },
  { name: 'a stall mid-body', first: s => { s.write(okHead(BODY.length)); s.write(HALF) }, flags: { 'timeouts.body': '500ms' } },
  { name: 'a stall mid-head', first: s => s.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n'), code: 'FG_UPSTREAM_HEADERS_TIMEOUT', flags: { 'timeouts.headers': '500ms' } },
  { name: 'a garbage status line', first: s => s.end('HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n'), code: 'FG_UPSTREAM_INVALID' },
  { name: 'a status line that is not HTTP', first: s => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'), code: 'FG_UPSTREAM_INVALID' },
  { name: 'a header section larger than maxHeaderSize', first: s => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`), code: 'FG_UPSTREAM_INVALID' },
  { name: 'two different Content-Length fields', first: s => { s.write(okHead(BODY.length, `Content-Length: ${HALF.length}\r\n`)); s.end(BODY) }, code: 'FG_UPSTREAM_INVALID' },
  { name: 'a NUL in a response field', first: s => { s.write(okHead(BODY.length, 'X-Nul: a\u0000b\r\n')); s.end(BODY) }, code: 'FG_UPSTREAM_INVALID' }
]

/** True when an outcome is a whole, correct 200. */
function isWhole (o: Outcome): boolean {
  return o.kind === 'response' && o.status === 200 && sha256(o.body) === FULL
}

for (const f of faults) {
  t.test(`${f.name}: an answer or a clean close, and nothing truncated stored`, async t => {
    const origin = await new ByteOrigin((s, n, head) => n === 1 ? f.first(s, n, head) : whole(s)).start()
    const proxy = await startFreshgate(origin.url, f.flags ?? {})
    t.teardown(async () => { await origin.close(); await proxy.fg.close() })

    const a = await fetchWhole(`${proxy.url}/r`, 5000)
    t.ok(a.ms < 4000, `client A settled in ${a.ms} ms`)
    if (f.code !== undefined) {
      t.equal(a.kind === 'response' && a.headers['x-freshgate-error'], f.code, `client A got ${f.code}`)
      t.ok(a.kind === 'response' && (a.status === 502 || a.status === 504), 'with a 502 or 504')
    } else {
      const coded = a.kind === 'response' && (a.status === 502 || a.status === 504) && String(a.headers['x-freshgate-error']).startsWith('FG_')
      t.ok(a.kind === 'cut' || coded, `client A got a cut or a coded error (${a.kind === 'cut' ? a.message : a.status})`)
    }
    t.notOk(a.kind === 'response' && a.status === 200 && !isWhole(a), 'never a 200 with a wrong body')

    const b = await fetchWhole(`${proxy.url}/r`)
    t.ok(isWhole(b), 'client B got the whole body (SHA-256 matches)')
    t.equal(origin.requests, 2, 'client B went to the origin: nothing from the fault was stored')
    const c = await fetchWhole(`${proxy.url}/r`)
    t.ok(isWhole(c), 'client C got the whole body')
    t.match(c.kind === 'response' ? c.headers['cache-status'] : '', /hit/, 'from the cache')
    t.equal(origin.requests, 2)
  })
}

/** An origin sending `interim` before a whole response, on every request. */
async function interimOrigin (t: { teardown: (fn: () => unknown) => void }, interim: string): Promise<{ origin: ByteOrigin, url: string }> {
  const origin = await new ByteOrigin(s => { s.write(interim); whole(s) }).start()
  const proxy = await startFreshgate(origin.url)
  t.teardown(async () => { await origin.close(); await proxy.fg.close() })
  return { origin, url: proxy.url }
}

t.test('a 103 Early Hints before the final response is skipped; the final one is served and stored whole', async t => {
  const { origin, url } = await interimOrigin(t, 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n')
  t.ok(isWhole(await fetchWhole(`${url}/i`)), 'whole body')
  const b = await fetchWhole(`${url}/i`)
  t.ok(isWhole(b))
  t.match(b.kind === 'response' ? b.headers['cache-status'] : '', /hit/)
  t.equal(origin.requests, 1)
})

t.test('an unsolicited 100 Continue gets a whole body or a coded error, never a hang', async t => {
  const { url } = await interimOrigin(t, 'HTTP/1.1 100 Continue\r\n\r\n')
  const a = await fetchWhole(`${url}/i`)
  t.ok(isWhole(a) || (a.kind === 'response' && a.status === 502 && String(a.headers['x-freshgate-error']).startsWith('FG_')))
})

// RFC 9110 §15.2: "A client MUST be able to parse one or more 1xx responses received prior to a
// final response, even if the client does not expect one." undici destroys the socket on any 100
// ("bad response", client-h1.js), so the proxy answers 502 FG_UPSTREAM_RESET.
t.test('an unsolicited 100 Continue, then 103, before the final response: the final one is served and stored', async t => {
  const { origin, url } = await interimOrigin(t, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n')
  t.ok(isWhole(await fetchWhole(`${url}/i`)), 'whole body')
  const b = await fetchWhole(`${url}/i`)
  t.ok(isWhole(b))
  t.equal(origin.requests, 1)
})

t.test('bytes after a complete response never answer the next request (response splitting)', async t => {
  const evil = 'HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 4\r\n\r\nevil'
  const origin = await new ByteOrigin((s, n, head) => {
    if (n === 1) { s.write(okHead(2) + 'ok' + evil); return }
    const body = `fresh ${head.split(' ')[1]}`
    s.write(`HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  }).start()
  const proxy = await startFreshgate(origin.url)
  t.teardown(async () => { await origin.close(); await proxy.fg.close() })
  await fetchWhole(`${proxy.url}/first`)
  for (const path of ['/second', '/third']) {
    const o = await fetchWhole(`${proxy.url}${path}`)
    t.notOk(o.kind === 'response' && o.body.toString() === 'evil', `${path} never got the injected response`)
    if (o.kind === 'response' && o.status === 200) t.equal(o.body.toString(), `fresh ${path}`)
  }
})

t.test('collapsed waiters during a mid-body reset each get the whole body or a cut, and nothing truncated is stored', async t => {
  const origin = await new ByteOrigin((s, n) => {
    if (n > 1) return whole(s)
    s.write(okHead(BODY.length))
    s.write(HALF)
    setTimeout(() => s.resetAndDestroy(), 300)
  }).start()
  const proxy = await startFreshgate(origin.url)
  t.teardown(async () => { await origin.close(); await proxy.fg.close() })
  const outcomes = await Promise.all(Array.from({ length: 8 }, () => fetchWhole(`${proxy.url}/c`, 8000)))
  for (const [i, o] of outcomes.entries()) {
    const coded = o.kind === 'response' && o.status >= 500 && String(o.headers['x-freshgate-error']).startsWith('FG_')
    t.ok(o.kind === 'cut' || coded || isWhole(o), `client ${i}: whole, coded error or cut (${o.kind === 'cut' ? o.message : o.status})`)
    t.ok(o.ms < 6000, `client ${i} settled in ${o.ms} ms`)
  }
  t.ok(origin.requests < 8, `collapsed: ${origin.requests} origin requests for 8 clients`)
  const later = await fetchWhole(`${proxy.url}/c`)
  t.ok(isWhole(later), 'a later client gets the whole body')
  const hit = await fetchWhole(`${proxy.url}/c`)
  t.ok(isWhole(hit))
  t.match(hit.kind === 'response' ? hit.headers['cache-status'] : '', /hit/)
})
