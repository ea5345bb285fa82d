// An origin reason phrase with obs-text (RFC 9112 §4: reason-phrase allows obs-text) reaches the
// sink as a string Node's writeHead refuses (ERR_INVALID_CHAR). head() throws inside
// res.writeHead after Node has already set res.statusMessage, undici calls error(), fail() →
// sendError() → writeHead(502) reuses the bad statusMessage and throws again: the client never
// gets any answer and its connection stays open.

import t from 'tap'
import { setup, raw } from '../proxy/harness.ts'

t.test('an origin reason phrase with a non-ASCII byte still gets the client an answer', async t => {
  const { proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, 'Ok\u00e9', { 'cache-control': 'max-age=60' }) // written as the byte 0xE9
    res.end('b')
  })
  const text = await raw(proxy.url, 'GET /reason HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\n/).catch((e: Error) => `no answer: ${e.message}`)
  t.match(text, /^HTTP\/1\.1 \d{3} /, text.slice(0, 80))
})
