// An https origin signed by a private CA: refused with a logged cause until upstream.ca trusts it
// (issue 9 #10); upstream failures are logged at warn with code, origin and cause, rate-limited.

import t from 'tap'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { loadConfig } from '../../src/config/load.ts'
import { startProxy } from '../../src/proxy/server.ts'
import { get } from './harness.ts'
import { makeCerts } from '../tls.ts'

async function tlsOrigin (t: { teardown: (fn: () => unknown) => void }, cert: string, key: string): Promise<string> {
  const server = createServer({ cert, key }, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('secure')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('an https origin with an unknown CA → 502 and one warn line naming code, origin and cause; trusted with upstream.ca → 200', async t => {
  const certs = makeCerts(t)
  const origin = await tlsOrigin(t, certs.cert, certs.key)
  const lines: Array<{ fields: Record<string, unknown>, msg: string }> = []
  const log = { warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }), debug: () => undefined }
  const untrusted = await startProxy(loadConfig({ flags: { origin, port: 0, host: '127.0.0.1', 'admin.port': 0 } }), { log })
  t.teardown(() => untrusted.close())
  const r = await get(`${untrusted.url}/x`)
  t.equal(r.status, 502)
  t.equal(r.headers['x-freshgate-error'], 'FG_UPSTREAM_ERROR')
  t.equal(lines.length, 1, 'the failure was logged')
  t.equal(lines[0]?.msg, 'upstream request failed')
  t.same(lines[0]?.fields, { code: 'FG_UPSTREAM_ERROR', origin, cause: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })
  for (let i = 0; i < 5; i++) await get(`${untrusted.url}/x${i}`)
  t.equal(lines.length, 1, 'repeats of the same failure are rate-limited')

  const trusted = await startProxy(loadConfig({ flags: { origin, port: 0, host: '127.0.0.1', 'admin.port': 0, 'upstream.ca': certs.caFile } }), { log })
  t.teardown(() => trusted.close())
  const ok = await get(`${trusted.url}/x`)
  t.equal(ok.status, 200)
  t.equal(ok.body, 'secure')
})

t.test('upstream.ca naming a missing or non-PEM file stops start-up with FG_CONFIG_INVALID naming the key', async t => {
  const certs = makeCerts(t)
  const config = loadConfig({ flags: { origin: 'https://127.0.0.1:1', port: 0, host: '127.0.0.1', 'admin.port': 0, 'upstream.ca': `${certs.dir}/missing.pem` } })
  await t.rejects(startProxy(config), { code: 'FG_CONFIG_INVALID', message: /upstream\.ca/ })
  const notPem = loadConfig({ flags: { origin: 'https://127.0.0.1:1', port: 0, host: '127.0.0.1', 'admin.port': 0, 'upstream.ca': certs.keyFile } })
  await t.rejects(startProxy(notPem), { code: 'FG_CONFIG_INVALID', message: /upstream\.ca.*certificate/ })
})
