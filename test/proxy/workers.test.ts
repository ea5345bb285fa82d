// --workers: N processes share the port, each with its own memory cache; SIGTERM stops them all cleanly.

import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Origin, get } from './harness.ts'

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

t.test('two workers answer on one port with separate caches, and SIGTERM stops all cleanly', async t => {
  const origin = await new Origin((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' })
    res.end('w')
  }).start()
  t.teardown(() => origin.close())
  const child = spawn(process.execPath, [cli, '--origin', origin.url, '--port', '0', '--workers', '2', '--admin-port', '0', '--access-log', 'false'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  const urls = new Set<string>()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workers did not start: ${stderr}`)), 15_000)
    child.stderr.on('data', d => {
      stderr += d
      for (const m of stderr.matchAll(/freshgate listening on (http:\/\/[\d.:]+)/g)) urls.add(m[1]!)
      if ((stderr.match(/freshgate listening on/g) ?? []).length >= 2) { clearTimeout(timer); resolve() }
    })
  })
  t.equal(urls.size, 1, 'both workers listen on the same port')
  const url = [...urls][0]!
  for (let i = 0; i < 20; i++) {
    const r = await get(`${url}/same`, { headers: { connection: 'close' } })
    t.equal(r.body, 'w')
  }
  t.equal(origin.count('/same'), 2, 'each worker filled its own cache once: two workers answered')
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'the primary exited 0 after its workers')
  t.match(stderr, /all workers stopped/)
})
