// Header rewriting: table tests for the rules, config refusals, and over real sockets what the
// origin and the client saw — forwarded, from the cache and on freshgate's own errors.

import t from 'tap'
import { rewriteHead } from '../../src/proxy/rewrite.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { FieldRules } from '../../src/config/headers.ts'
import { setup, get, dateAt } from './harness.ts'

const rules = (r: Partial<FieldRules>): FieldRules => ({ remove: [], set: {}, add: {}, ...r })

t.test('rewriteHead', async t => {
  const head = ['server', 'origin/1', 'x-a', '1', 'x-a', '2', 'vary', 'accept']
  t.same(rewriteHead(head, [rules({ remove: ['server'] })]), ['x-a', '1', 'x-a', '2', 'vary', 'accept'], 'when a field is removed → should drop every line of it')
  t.same(rewriteHead(head, [rules({ set: { 'x-a': '3' } })]), ['server', 'origin/1', 'vary', 'accept', 'x-a', '3'], 'when a field is set → should replace every value')
  t.same(rewriteHead(head, [rules({ add: { vary: 'cookie' } })]), [...head, 'vary', 'cookie'], 'when a value is added → should keep the others')
  t.same(rewriteHead(head, [rules({ set: { server: 'edge' } }), rules({ remove: ['server'] })]), ['x-a', '1', 'x-a', '2', 'vary', 'accept'], 'when a route removes what the global rules set → should apply both in order')
})

t.test('rules that touch framing, Host or hop-by-hop fields are refused, naming the key', async t => {
  const origin = 'http://127.0.0.1:3000'
  const refused = (flags: Record<string, unknown>): string => {
    try { loadConfig({ flags: { origin, ...flags } }) } catch (err) { return (err as Error).message }
    return 'accepted'
  }
  t.match(refused({ 'headers.response.set': '{"Content-Length": "5"}' }), /^headers\.response\.set\.Content-Length \(--response-header-set\): got "5"|^headers\.response\.set\.Content-Length \(--response-header-set\): got "Content-Length", expected a field name/)
  t.match(refused({ 'headers.request.remove': 'x-ok, transfer-encoding' }), /^headers\.request\.remove\[1\]: got "transfer-encoding", expected a field name/)
  t.match(refused({ 'headers.request.add': { connection: 'close' } }), /^headers\.request\.add\.connection \(--request-header-add\): got "connection"/)
  t.match(refused({ 'headers.request.set': { host: 'x' } }), /^headers\.request\.set\.host/)
  t.match(refused({ 'headers.response.set': { 'x-a': 'a\r\nx-b: b' } }), /^headers\.response\.set\.x-a \(--response-header-set\): got .*, expected a field value without line breaks/)
  t.match(refused({ 'headers.response.set': '[1]' }), /^headers\.response\.set \(--response-header-set\): got "\[1\]", expected a mapping of field names/)
  t.match(refused({ routes: [{ headers: { response: { remove: ['Transfer-Encoding'] } } }] }), /^routes\[0\]\.headers\.response\.remove\[0\] \(--routes\): got "Transfer-Encoding"/)
  t.match(refused({ routes: [{ headers: { response: { replace: {} } } }] }), /^routes\[0\]\.headers\.response\.replace \(--routes\): got \{\}, expected set, add or remove/)
  t.equal(refused({ 'headers.response.set': { 'x-served-by': 'edge' }, routes: [{ headers: { request: { remove: ['cookie'] } } }] }), 'accepted')
})

t.test('request rules change what the origin sees; response rules what every client sees', async t => {
  const { origin, proxy } = await setup(t, (_req, res, _b, clock) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', date: dateAt(clock), server: 'origin/1', 'x-internal': 'secret' })
    res.end('x')
  }, {
    'headers.request.set': { 'x-env': 'prod' },
    'headers.request.remove': 'x-debug',
    'headers.response.remove': 'x-internal, server',
    'headers.response.add': { 'x-served-by': 'edge' },
    routes: [{ prefix: '/api/', headers: { request: { add: { 'x-api': '1' } }, response: { set: { 'x-served-by': 'api-edge' } } } }]
  })
  const miss = await get(`${proxy.url}/p`, { headers: { 'x-debug': '1', 'x-env': 'dev' } })
  t.equal(origin.seen[0]!.headers['x-env'], 'prod', 'set replaces the client\'s value')
  t.equal(origin.seen[0]!.headers['x-debug'], undefined, 'removed before the origin')
  t.equal(miss.headers['x-internal'], undefined)
  t.equal(miss.headers.server, undefined)
  t.equal(miss.headers['x-served-by'], 'edge')
  t.equal(miss.body, 'x', 'framing untouched')
  const hit = await get(`${proxy.url}/p`)
  t.match(hit.cs, /^freshgate; hit/)
  t.equal(hit.headers['x-internal'], undefined, 'a hit is rewritten too')
  t.equal(hit.headers['x-served-by'], 'edge')
  t.equal(hit.headers['content-length'], '1', 'the stored length goes out unchanged')
  const api = await get(`${proxy.url}/api/x`)
  t.equal(origin.seen[1]!.headers['x-api'], '1', 'the route adds its own request field')
  t.equal(origin.seen[1]!.headers['x-env'], 'prod', 'after the global rules')
  t.equal(api.headers['x-served-by'], 'api-edge', 'the route\'s set wins over the global add')
  const err = await get(`${proxy.url}/p`, { headers: { 'cache-control': 'only-if-cached' } })
  t.equal(err.headers['x-served-by'], 'edge', 'freshgate\'s own answers are rewritten too')
  const notModified = await get(`${proxy.url}/p`, { headers: { 'if-modified-since': dateAt(proxy.clock, 10) } })
  t.equal(notModified.status, 304)
  t.equal(notModified.headers['x-served-by'], 'edge', 'and 304s')
})
