// Test certificates: a throwaway CA and a server certificate it signs, made by the openssl CLI.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** PEM files of a CA and of a server certificate for `names` (DNS names or IPs) signed by it. */
export interface TestCerts {
  dir: string
  caFile: string
  certFile: string
  keyFile: string
  ca: string
  cert: string
  key: string
}

/** Makes a CA and a server certificate in a temporary directory removed at teardown. */
export function makeCerts (t: { teardown: (fn: () => unknown) => void }, names: string[] = ['localhost', '127.0.0.1']): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'fg-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const f = (n: string): string => join(dir, n)
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=freshgate test CA', '-keyout', f('ca.key'), '-out', f('ca.pem'))
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', f('key.pem'), '-out', f('req.csr'))
  writeFileSync(f('ext.cnf'), `subjectAltName=${names.map(n => /^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`).join(',')}\n`)
  ssl('x509', '-req', '-in', f('req.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f('cert.pem'))
  return { dir, caFile: f('ca.pem'), certFile: f('cert.pem'), keyFile: f('key.pem'), ca: readFileSync(f('ca.pem'), 'utf8'), cert: readFileSync(f('cert.pem'), 'utf8'), key: readFileSync(f('key.pem'), 'utf8') }
}
