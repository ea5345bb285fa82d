// TLS on the client side: a certificate made by the test, ALPN h2 and http/1.1 on one port,
// TLS 1.2 minimum, and reloadTls serving a new certificate to new connections only.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as h2connect, type ClientHttp2Session } from 'node:http2'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { Agent, request } from 'undici'
import { loadConfig } from '../../src/config/load.ts'
import { checkListenConfig } from '../../src/proxy/listen.ts'
import { ConfigError } from '../../src/errors.ts'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setup, startFreshgate, h2stream, type Got } from './harness.ts'

/** Writes a fresh self-signed certificate for localhost/127.0.0.1 into dir (overwriting). */
function makeCert (dir: string, cn: string): { cert: string, key: string } {
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' })
  return { cert, key }
}

function certDir (t: { teardown: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** One GET over an open HTTP/2 session; resolves to status and body. */
async function h2get (session: ClientHttp2Session, path: string): Promise<Got> {
  return await h2stream(session, { ':path': path })
}

/** The CN of the certificate a fresh TLS connection is served. */
async function servedCN (url: string): Promise<string> {
  const u = new URL(url)
  const socket: TLSSocket = tlsConnect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, ALPNProtocols: ['h2'] })
  await new Promise<void>((resolve, reject) => { socket.once('secureConnect', () => resolve()); socket.once('error', reject) })
  const cn = new X509Certificate(socket.getPeerX509Certificate()!.raw).subject
  socket.destroy()
  return cn
}

t.test('TLS: HTTP/2 through ALPN and HTTP/1.1 on the same port, https reported upstream', async t => {
  const files = makeCert(certDir(t), 'one')
  const { origin, proxy } = await setup(t, (_req, res) => { res.setHeader('cache-control', 'max-age=60'); res.end('hello') }, { 'tls.cert': files.cert, 'tls.key': files.key })
  t.match(proxy.url, /^https:\/\//, 'the proxy URL says https')

  const session = h2connect(proxy.url, { ca: readFileSync(files.cert) })
  t.teardown(() => session.close())
  const r = await h2get(session, '/a')
  t.equal(r.status, 200, 'HTTP/2 over TLS answers')
  t.equal(r.body, 'hello')
  t.equal((session.socket as TLSSocket).alpnProtocol, 'h2', 'ALPN chose h2')

  const agent = new Agent({ connect: { ca: readFileSync(files.cert) } })
  t.teardown(() => agent.close())
  const h1 = await request(proxy.url + '/a', { dispatcher: agent })
  t.equal(h1.statusCode, 200, 'HTTP/1.1 over TLS answers')
  t.equal(await h1.body.text(), 'hello', 'and is served the entry HTTP/2 stored')
  t.equal(origin.count('/a'), 1, 'one origin request for both protocols')
  t.match(origin.seen[0]!.headers.forwarded, /proto=https/, 'the origin is told the client used https')
})

t.test('TLS: versions below 1.2 are refused', async t => {
  const files = makeCert(certDir(t), 'one')
  const { proxy } = await setup(t, (_req, res) => { res.end('x') }, { 'tls.cert': files.cert, 'tls.key': files.key })
  const u = new URL(proxy.url)
  const refused = await new Promise<boolean>(resolve => {
    const s = tlsConnect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })
    s.once('secureConnect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
  t.ok(refused, 'a TLS 1.1 client gets no session')
  const s = tlsConnect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })
  const version = await new Promise<string | null>((resolve, reject) => { s.once('secureConnect', () => resolve(s.getProtocol())); s.once('error', reject) })
  s.destroy()
  t.equal(version, 'TLSv1.2', 'a TLS 1.2 client is served')
})

t.test('reloadTls: new connections get the new certificate, an open connection keeps working', async t => {
  const dir = certDir(t)
  const first = makeCert(dir, 'one')
  const { proxy } = await setup(t, (_req, res) => { res.end('ok') }, { 'tls.cert': first.cert, 'tls.key': first.key })
  t.equal(await servedCN(proxy.url), 'CN=one', 'the first certificate is served')
  const old = h2connect(proxy.url, { rejectUnauthorized: false })
  t.teardown(() => old.close())
  t.equal((await h2get(old, '/before')).status, 200)

  makeCert(dir, 'two')
  t.equal(await servedCN(proxy.url), 'CN=one', 'before the reload the old certificate is still served')
  proxy.fg.reloadTls()
  t.equal(await servedCN(proxy.url), 'CN=two', 'after the reload a new connection gets the new certificate')
  t.equal((await h2get(old, '/after')).status, 200, 'the connection opened before the reload still works')
  t.equal(new X509Certificate((old.socket as TLSSocket).getPeerX509Certificate()!.raw).subject, 'CN=one', 'and keeps its certificate')
  writeFileSync(first.cert, 'half-written')
  t.throws(() => proxy.fg.reloadTls(), 'a reload with a broken certificate file throws (cli logs it)')
  t.equal(await servedCN(proxy.url), 'CN=two', 'and the certificate in use stays')
})

t.test('start-up checks: tls.cert and tls.key go together and must be readable; trustProxy entries are addresses', async t => {
  const base = { origin: 'http://127.0.0.1:1', port: 0 }
  const only = (flags: Record<string, unknown>): unknown => {
    try { checkListenConfig(loadConfig({ flags: { ...base, ...flags } })); return 'accepted' } catch (err) { return err instanceof ConfigError ? err.key : err }
  }
  t.equal(only({ 'tls.cert': '/x/cert.pem' }), 'tls.key', 'when only tls.cert is set → should name tls.key')
  t.equal(only({ 'tls.key': '/x/key.pem' }), 'tls.cert', 'when only tls.key is set → should name tls.cert')
  t.equal(only({ 'tls.cert': '/nonexistent/cert.pem', 'tls.key': '/nonexistent/key.pem' }), 'tls.cert', 'when the file cannot be read → should name it')
  t.equal(only({}), 'accepted', 'when neither is set → should accept (cleartext)')
  t.equal(only({ trustProxy: '10.0.0.0/33' }), 'trustProxy', 'when a trustProxy range is invalid → should name trustProxy')
  t.equal(only({ trustProxy: 'proxy.example' }), 'trustProxy', 'when a trustProxy entry is a name → should name trustProxy')
  t.equal(only({ trustProxy: '10.0.0.0/8,::1' }), 'accepted', 'when trustProxy holds a range and an address → should accept')
})

t.test('TLS: an HTTP/1.1 upgrade over TLS is tunnelled to the origin', async t => {
  const files = makeCert(certDir(t), 'one')
  const forwarded: string[] = []
  // An origin that switches to an echo of raw bytes.
  const server = createServer()
  server.on('upgrade', (req, socket) => {
    forwarded.push(String(req.headers.forwarded))
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n')
    socket.pipe(socket)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const proxy = await startFreshgate(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { 'tls.cert': files.cert, 'tls.key': files.key })
  t.teardown(() => proxy.fg.close())
  const p = new URL(proxy.url)
  const socket = tlsConnect({ host: p.hostname, port: Number(p.port), ca: readFileSync(files.cert), ALPNProtocols: ['http/1.1'] })
  t.teardown(() => socket.destroy())
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (c: string) => { text += c })
  await new Promise<void>(resolve => socket.once('secureConnect', () => resolve()))
  socket.write(`GET /e HTTP/1.1\r\nHost: ${p.host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`)
  const deadline = Date.now() + 3000
  while (!text.includes('\r\n\r\n') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  t.match(text, /^HTTP\/1\.1 101 /, 'the 101 comes back over TLS')
  socket.write('ping')
  while (!text.endsWith('ping') && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
  t.ok(text.endsWith('ping'), 'bytes flow both ways')
  t.match(forwarded[0], /proto=https/, 'the origin is told the client used https')
})

t.test('TLS: HTTP/1.1 connections get maxHeaderSize and no h2c upgrade', async t => {
  const files = makeCert(certDir(t), 'one')
  const { origin, proxy } = await setup(t, (_req, res) => { res.end('plain') }, { 'tls.cert': files.cert, 'tls.key': files.key, maxHeaderSize: '8KiB' })
  const p = new URL(proxy.url)
  const send = async (request: string): Promise<string> => {
    const socket = tlsConnect({ host: p.hostname, port: Number(p.port), ca: readFileSync(files.cert), ALPNProtocols: ['http/1.1'] })
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (c: string) => { text += c })
    socket.on('error', () => undefined)
    await new Promise<void>(resolve => socket.once('secureConnect', () => resolve()))
    socket.write(request)
    const deadline = Date.now() + 3000
    while (!/\r\n\r\n/.test(text) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 10))
    socket.destroy()
    return text
  }
  const big = await send(`GET /big HTTP/1.1\r\nHost: ${p.host}\r\nX-Big: ${'a'.repeat(12_000)}\r\n\r\n`)
  t.match(big, /^HTTP\/1\.1 431 /, 'a 12 kB header is refused under an 8 KiB maxHeaderSize (node\'s default is 16 KiB)')
  t.equal(origin.count('/big'), 0, 'by freshgate itself')
  const h2c = await send(`GET /u HTTP/1.1\r\nHost: ${p.host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`)
  t.match(h2c, /^HTTP\/1\.1 200 /, 'Upgrade: h2c is served as plain HTTP/1.1')
  t.equal(origin.seen.find(s => s.url === '/u')?.headers.upgrade, undefined, 'and Upgrade is not forwarded')
})
