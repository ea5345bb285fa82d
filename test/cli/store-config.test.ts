// Bad store.* settings stop start-up with exit 2 naming the key, before any worker starts.

import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'freshgate-store-config-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const cases: Array<{ name: string, args: string[], key: RegExp }> = [
  { name: 'when store.shared is not a Redis URL → exit 2 naming store.shared', args: ['--shared-store', 'ftp://cache:6379'], key: /store\.shared: got "ftp:\/\/cache:6379"/ },
  { name: 'when store.prefix has a hash-tag brace → exit 2 naming store.prefix', args: ['--shared-store', 'redis://127.0.0.1:1', '--store-prefix', 'a{b}'], key: /store\.prefix/ },
  { name: 'when both a shared and a disk tier are set → exit 2 naming store.disk.dir', args: ['--shared-store', 'redis://127.0.0.1:1', '--disk-dir', dir], key: /store\.disk\.dir/ },
  { name: 'when a disk tier is set with workers > 1 → exit 2 naming store.disk.dir', args: ['--disk-dir', dir, '--workers', '2'], key: /store\.disk\.dir: .*workers > 1/ }
]

for (const c of cases) {
  t.test(c.name, async t => {
    const r = spawnSync(process.execPath, [cli, '--origin', 'http://127.0.0.1:1', '--port', '0', '--admin-port', '0', ...c.args], { encoding: 'utf8', timeout: 20_000 })
    t.equal(r.status, 2, r.stderr)
    t.match(r.stderr, c.key)
  })
}
