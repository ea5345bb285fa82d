// WebSocket (and other Upgrade) tunnels: Node's WebSocket client through freshgate to a `ws` echo
// origin; the 101 relayed, bytes both ways, refusals, idle timeout, bound and shutdown.

import t from 'tap'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import { startFreshgate, raw, type Proxy } from './harness.ts'
import type { TunnelRecord } from '../../src/proxy/tunnel.ts'
import { loadConfig } from '../../src/config/load.ts'
import { startProxy } from '../../src/proxy/server.ts'

/** An origin: a WebSocket echo on /echo, 403 for upgrades elsewhere, plain 200 for GETs. */
async function echoOrigin (t: { teardown: (fn: () => unknown) => void }): Promise<{ url: string, upgrades: IncomingMessage[], server: Server }> {
  const upgrades: IncomingMessage[] = []
  const server = createServer((_req, res) => { res.end('plain') })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    upgrades.push(req)
    if (!req.url!.startsWith('/echo')) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\nconnection: close\r\n\r\nforbidden')
      return
    }
    wss.handleUpgrade(req, socket, head, ws => ws.on('message', (data, binary) => ws.send(binary ? data : data.toString())))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, upgrades, server }
}

async function proxyFor (t: { teardown: (fn: () => unknown) => void }, origin: string, flags: Record<string, unknown> = {}): Promise<Proxy> {
  const proxy = await startFreshgate(origin, flags)
  t.teardown(() => proxy.fg.close())
  return proxy
}

function wsUrl (url: string, path: string): string { return url.replace(/^http/, 'ws') + path }

/** Opens a WebSocket and resolves once it is open (or rejects on error/close). */
async function openWs (url: string): Promise<WebSocket> {
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error('websocket error')), { once: true })
  })
  return ws
}

async function next (ws: WebSocket): Promise<string> {
  return await new Promise(resolve => ws.addEventListener('message', e => resolve(String(e.data)), { once: true }))
}

async function closed (ws: WebSocket, ms = 5000): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return -2
  return await new Promise(resolve => {
    const timer = setTimeout(() => resolve(-1), ms)
    ws.addEventListener('close', e => { clearTimeout(timer); resolve(e.code) }, { once: true })
  })
}

async function until (cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond() && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 10))
  return cond()
}

t.test('a WebSocket is tunnelled: 101 relayed, messages both ways, counted and logged', async t => {
  const origin = await echoOrigin(t)
  const records: TunnelRecord[] = []
  const counts: number[] = []
  const fg = await startProxy(loadConfig({ flags: { origin: origin.url, port: 0, host: '127.0.0.1' } }), {
    tunnelObserver: { open: n => counts.push(n), done: r => records.push(r) }
  })
  t.teardown(() => fg.close())
  const proxy = { fg, url: fg.url }
  const ws = await openWs(wsUrl(proxy.url, '/echo?room=1'))
  t.equal(proxy.fg.tunnels.count, 1, 'one open tunnel')
  ws.send('hello')
  t.equal(await next(ws), 'hello', 'a text message comes back through the tunnel')
  ws.send(new Uint8Array(70_000).fill(7))
  t.equal(await next(ws).then(s => s.length > 0), true, 'a 70 kB binary message comes back')
  const up = origin.upgrades[0]!
  t.equal(up.url, '/echo?room=1', 'the origin saw the target')
  t.equal(up.headers.upgrade, 'websocket', 'Upgrade forwarded')
  t.match(up.headers.connection, /upgrade/i, 'Connection: upgrade forwarded')
  t.ok(up.headers['sec-websocket-key'], 'the WebSocket handshake fields pass')
  t.equal(up.headers['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For set')
  t.match(up.headers.via, /^1\.1 freshgate$/, 'Via added')
  ws.close(1000)
  t.equal(await closed(ws), 1000, 'the close handshake goes through')
  t.ok(await until(() => proxy.fg.tunnels.count === 0), 'the tunnel is gone')
  t.same(counts, [1, 0], 'the open-tunnel gauge went 1 then 0')
  t.equal(records.length, 1, 'one access record')
  t.match(records[0], { method: 'GET', target: '/echo?room=1', status: 101 }, 'naming the target and the 101')
  t.ok(records[0]!.bytesUp > 70_000 && records[0]!.bytesDown > 70_000, 'with the bytes each way')
})

t.test('an upgrade the origin refuses is relayed and closed', async t => {
  const origin = await echoOrigin(t)
  const proxy = await proxyFor(t, origin.url)
  const reply = await raw(proxy.url, `GET /nope HTTP/1.1\r\nHost: ${new URL(proxy.url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, /forbidden/)
  t.match(reply, /^HTTP\/1\.1 403 Forbidden/, 'the 403 reaches the client')
  t.ok(await until(() => proxy.fg.tunnels.count === 0), 'nothing stays open')
})

t.test('an upgrade to an unreachable origin gets 502 FG_UPSTREAM_REFUSED', async t => {
  const dead = createServer()
  await new Promise<void>(resolve => dead.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`
  await new Promise(resolve => dead.close(resolve))
  const proxy = await proxyFor(t, url)
  const reply = await raw(proxy.url, `GET /echo HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, /FG_UPSTREAM_REFUSED: .*\n/)
  t.match(reply, /^HTTP\/1\.1 502 /)
  t.match(reply, /x-freshgate-error: FG_UPSTREAM_REFUSED/)
})

t.test('an upgrade with a bad Host gets 400 and never reaches the origin', async t => {
  const origin = await echoOrigin(t)
  const proxy = await proxyFor(t, origin.url)
  const reply = await raw(proxy.url, 'GET /echo HTTP/1.1\r\nHost: a.example/../b\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n', /FG_BAD_HOST/)
  t.match(reply, /^HTTP\/1\.1 400 /)
  t.equal(origin.upgrades.length, 0)
})

t.test('an idle tunnel is closed after websocket.idleTimeout', async t => {
  const origin = await echoOrigin(t)
  const proxy = await proxyFor(t, origin.url, { 'websocket.idleTimeout': '300ms' })
  const ws = await openWs(wsUrl(proxy.url, '/echo'))
  const start = Date.now()
  const code = await closed(ws, 3000)
  t.not(code, -1, 'the client sees the tunnel close')
  t.ok(Date.now() - start >= 250, 'not before the idle timeout')
  t.ok(await until(() => proxy.fg.tunnels.count === 0), 'the tunnel is gone')
})

t.test('tunnels are bounded by websocket.maxTunnels', async t => {
  const origin = await echoOrigin(t)
  const proxy = await proxyFor(t, origin.url, { 'websocket.maxTunnels': 1 })
  const first = await openWs(wsUrl(proxy.url, '/echo'))
  const reply = await raw(proxy.url, `GET /echo HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, /FG_UPSTREAM_BUSY: .*\n/)
  t.match(reply, /^HTTP\/1\.1 503 /, 'the second upgrade is refused with 503')
  first.send('still')
  t.equal(await next(first), 'still', 'the first tunnel keeps working')
  first.close()
  await closed(first)
})

t.test('shutdown closes open tunnels within the drain timeout', async t => {
  const origin = await echoOrigin(t)
  const proxy = await startFreshgate(origin.url, { shutdownTimeout: '2s' })
  const ws = await openWs(wsUrl(proxy.url, '/echo'))
  const start = Date.now()
  const done = proxy.fg.close()
  const code = await closed(ws, 5000)
  await done
  t.not(code, -1, 'the client sees the tunnel close')
  t.ok(Date.now() - start < 2500, `closed within the drain timeout (${Date.now() - start} ms)`)
  t.equal(proxy.fg.tunnels.count, 0)
})

t.test('with h2c on, WebSocket upgrades still work on the shared port', async t => {
  const origin = await echoOrigin(t)
  const proxy = await proxyFor(t, origin.url, { 'http2.cleartext': true })
  const ws = await openWs(wsUrl(proxy.url, '/echo'))
  ws.send('through the sniffer')
  t.equal(await next(ws), 'through the sniffer')
  ws.close()
  await closed(ws)
})

t.test('an untrusted client cannot spoof forwarding fields on an upgrade', async t => {
  const origin = await echoOrigin(t)
  const proxy = await proxyFor(t, origin.url)
  await raw(proxy.url, `GET /nope HTTP/1.1\r\nHost: a.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Forwarded-For: 6.6.6.6\r\nX-Original-URL: /admin\r\nX-Forwarded-Host: evil.example\r\n\r\n`, /forbidden/)
  const h = origin.upgrades[0]!.headers
  t.equal(h['x-forwarded-for'], '127.0.0.1', 'X-Forwarded-For is the peer')
  t.equal(h['x-forwarded-host'], 'a.example', 'X-Forwarded-Host is the request authority')
  t.equal(h['x-original-url'], undefined, 'look-alikes are removed')
  t.match(h.forwarded, /^for=127\.0\.0\.1;proto=http;host=a\.example$/, 'Forwarded is freshgate\'s element')
})
