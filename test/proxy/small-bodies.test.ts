// Hits on small bodies go out as latin1 strings in the same write as the head (cache/entry.ts
// TEXT_BODY_MAX): every byte value must reach the client unchanged, over HTTP/1.1 and HTTP/2, on
// both sides of the size limit, and HEAD and conditional answers stay bodiless.

import t from 'tap'
import { request } from 'node:http'
import { connect } from 'node:http2'
import { randomBytes } from 'node:crypto'
import { setup } from './harness.ts'
import { TEXT_BODY_MAX } from '../../src/cache/entry.ts'

/** Every byte value, then random bytes, `n` in all. */
function bytes (n: number): Buffer {
  const b = randomBytes(n)
  for (let i = 0; i < Math.min(n, 256); i++) b[i] = i
  return b
}

const SIZES = [1, 255, 256, 1024, TEXT_BODY_MAX - 1, TEXT_BODY_MAX, TEXT_BODY_MAX + 1, 65_536]
const bodies = new Map(SIZES.map(n => [`/b${n}`, bytes(n)]))

/** GET or HEAD over HTTP/1.1: status, Cache-Status, Content-Length and the raw body bytes. */
async function h1 (url: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number, cs: string, length: string, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    request(url, { method, headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cs: String(res.headers['cache-status']), length: String(res.headers['content-length']), body: Buffer.concat(chunks) }))
    }).on('error', reject).end()
  })
}

t.test('small and large bodies reach the client byte for byte from the cache, over HTTP/1.1 and HTTP/2', async t => {
  const { origin, proxy } = await setup(t, (req, res) => {
    const body = bodies.get(req.url!)!
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=600', etag: `"${body.length}"` })
    res.end(body)
  }, { 'http2.cleartext': true })
  const session = connect(proxy.url)
  t.teardown(() => session.close())
  for (const [path, body] of bodies) {
    const miss = await h1(proxy.url + path)
    t.ok(miss.body.equals(body), `${path}: the miss is the origin's bytes`)
    const hit = await h1(proxy.url + path)
    t.match(hit.cs, /; hit/, `${path}: then a hit`)
    t.ok(hit.body.equals(body), `${path}: the hit is the origin's bytes`)
    t.equal(hit.length, String(body.length))
    const head = await h1(proxy.url + path, 'HEAD')
    t.same([head.status, head.body.length, head.length], [200, 0, String(body.length)], `${path}: HEAD has no body`)
    const cond = await h1(proxy.url + path, 'GET', { 'if-none-match': `"${body.length}"` })
    t.same([cond.status, cond.body.length], [304, 0], `${path}: 304 has no body`)
    const h2 = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      const s = session.request({ ':path': path })
      s.on('data', (c: Buffer) => chunks.push(c))
      s.on('end', () => resolve(Buffer.concat(chunks)))
      s.on('error', reject)
    })
    t.ok(h2.equals(body), `${path}: the HTTP/2 hit is the origin's bytes`)
  }
  t.equal(origin.count(), bodies.size, 'one origin request per body')
})
