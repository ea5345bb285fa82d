// --workers 2 without a shared tier: a purge on any worker (PURGE on the proxy port, POST /purge on
// the primary's admin listener) reaches both, the primary's /metrics aggregates the workers, and
// /healthz and /readyz answer.

import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Origin, get } from '../proxy/harness.ts'
import { haveRedis, startRedis } from '../redis.ts'

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))

/** Spawns the CLI with --workers 2 and resolves the proxy and admin URLs from its log lines. */
async function startWorkers (t: { teardown: (fn: () => unknown) => void }, args: string[], env: Record<string, string> = {}): Promise<{ proxy: string, admin: string, child: ReturnType<typeof spawn> }> {
  const withAdmin = env.FRESHGATE_ADMIN_ENABLED !== 'false'
  const child = spawn(process.execPath, [cli, '--host', '127.0.0.1', '--port', '0', '--workers', '2', '--admin-port', '0', '--purge-method', '--access-log', 'false', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let log = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${log}`)), 20_000)
    const onData = (d: Buffer): void => {
      log += d.toString()
      if ((log.match(/freshgate listening on/g) ?? []).length >= 2 && (!withAdmin || /admin listening on/.test(log))) { clearTimeout(timer); resolve() }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
  })
  return { proxy: /freshgate listening on (http:\/\/[\d.:]+)/.exec(log)![1]!, admin: /admin listening on (http:\/\/[\d.:]+)/.exec(log)?.[1] ?? '', child }
}

t.test('two workers behave as one cache to purges and to the admin API', async t => {
  let version = 1
  const origin = await new Origin((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', 'surrogate-key': 'obj' })
    res.end(`v${version}`)
  }).start()
  t.teardown(() => origin.close())
  const { proxy, admin, child } = await startWorkers(t, ['--origin', origin.url])
  const close = { connection: 'close' }
  let sent = 0
  /** Sends n requests on fresh connections (so both workers answer) and returns the bodies. */
  const burst = async (n: number): Promise<string[]> => {
    const bodies: string[] = []
    for (let i = 0; i < n; i++) bodies.push((await get(`${proxy}/obj`, { headers: close })).body)
    sent += n
    return bodies
  }

  t.equal((await get(`${admin}/healthz`)).status, 200, '/healthz answers in the primary')
  const ready = await get(`${admin}/readyz`)
  t.equal(ready.status, 200, `/readyz answers: ${ready.body}`)

  await burst(16)
  t.equal(origin.count('/obj'), 2, 'each worker filled its own cache')

  // PURGE on the proxy port reaches whichever worker accepted it; the others are told before it answers.
  version = 2
  const purged = await get(`${proxy}/obj`, { method: 'PURGE', headers: close })
  t.equal(purged.status, 200, purged.body)
  t.same([...new Set(await burst(16))], ['v2'], 'no request after PURGE was served the purged object')

  version = 3
  const posted = await get(`${admin}/purge`, { method: 'POST', body: JSON.stringify({ tags: ['obj'] }), headers: { 'content-type': 'application/json' } })
  t.equal(posted.status, 200, posted.body)
  t.same([...new Set(await burst(16))], ['v3'], 'no request after POST /purge was served the purged object')

  const entry = await get(`${admin}/cache/entry?url=${encodeURIComponent(`${proxy}/obj`)}`)
  t.equal(entry.status, 200, '/cache/entry asks the workers')

  const metrics = (await get(`${admin}/metrics`)).body
  const counted = [...metrics.matchAll(/^freshgate_requests_total\{cache="(hit|miss)"\} (\d+)/gm)].reduce((a, m) => a + Number(m[2]), 0)
  t.equal(counted, sent, 'the primary\'s /metrics sums every worker\'s requests')
  t.match(metrics, /freshgate_cache_evictions_total\{tier="memory",reason="purge"\} [1-9]/, 'the POST /purge is counted')
  const stats = JSON.parse((await get(`${admin}/cache/stats`)).body) as { entries: number }
  t.equal(stats.entries, 2, '/cache/stats sums the workers\' stores')
  // The status page's figures come from the workers, which served the requests, not the primary.
  const live = JSON.parse((await get(`${admin}/stats`)).body) as { series: { requests: number[] }, topKeys: Array<{ key: string }>, latencyMs: { misses: { count: number } } }
  const seen = live.series.requests.reduce((a, n) => a + n, 0)
  t.ok(seen >= sent, `/stats counts the workers' requests (${seen} of at least ${sent})`)
  t.ok(live.latencyMs.misses.count > 0, '/stats has the workers\' latency samples')

  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})

t.test('two workers with a shared tier fill once between them and purge together', { skip: haveRedis() ? false : 'redis-server is not installed' }, async t => {
  const redis = await startRedis(t)
  let version = 1
  const origin = await new Origin((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600' })
    res.end(`v${version}`)
  }).start()
  t.teardown(() => origin.close())
  const { proxy, admin, child } = await startWorkers(t, ['--origin', origin.url, '--shared-store', redis.url])
  const close = { connection: 'close' }
  const burst = async (n: number): Promise<string[]> => {
    const bodies: string[] = []
    for (let i = 0; i < n; i++) bodies.push((await get(`${proxy}/obj`, { headers: close })).body)
    return bodies
  }
  // Every worker reaches Redis before the first request (/readyz reports the worst worker's state).
  for (let i = 0; i < 100; i++) {
    if ((JSON.parse((await get(`${admin}/readyz`)).body) as { shared?: string }).shared === 'ready') break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  // The write to the shared tier follows the response: give it a moment before the other worker asks.
  await burst(1)
  await new Promise(resolve => setTimeout(resolve, 200))
  await burst(16)
  t.equal(origin.count('/obj'), 1, 'the second worker found the first one\'s response in the shared tier')
  const ready = JSON.parse((await get(`${admin}/readyz`)).body) as { shared?: string }
  t.equal(ready.shared, 'ready', '/readyz reports the shared tier')
  version = 2
  const posted = await get(`${admin}/purge`, { method: 'POST', body: JSON.stringify({ urls: ['/obj'] }), headers: { 'content-type': 'application/json' } })
  t.equal(posted.status, 200, posted.body)
  // The invalidation travels over pub/sub, not acknowledged: give it a moment.
  await new Promise(resolve => setTimeout(resolve, 200))
  const after = await burst(1)
  await new Promise(resolve => setTimeout(resolve, 200))
  t.same([...new Set([...after, ...await burst(16)])], ['v2'], 'no request after the purge was served the purged object')
  t.equal(origin.count('/obj'), 2, 'refilled once for both workers')
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})

t.test('without an admin listener, a PURGE still reaches every worker', async t => {
  let version = 1
  const origin = await new Origin((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600' })
    res.end(`v${version}`)
  }).start()
  t.teardown(() => origin.close())
  const { proxy, child } = await startWorkers(t, ['--origin', origin.url], { FRESHGATE_ADMIN_ENABLED: 'false' })
  const close = { connection: 'close' }
  const burst = async (n: number): Promise<string[]> => {
    const bodies: string[] = []
    for (let i = 0; i < n; i++) bodies.push((await get(`${proxy}/obj`, { headers: close })).body)
    return bodies
  }
  await burst(8)
  t.equal(origin.count('/obj'), 2)
  version = 2
  const started = Date.now()
  t.equal((await get(`${proxy}/obj`, { method: 'PURGE', headers: close })).status, 200)
  t.ok(Date.now() - started < 2000, 'the other worker acknowledged at once')
  t.same([...new Set(await burst(16))], ['v2'], 'no request after PURGE was served the purged object')
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})

t.test('with the port in use, --workers stops with exit 1 and one line instead of restarting workers forever', async t => {
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const port = String((holder.address() as { port: number }).port)
  const child = spawn(process.execPath, [cli, '--origin', 'http://127.0.0.1:9', '--host', '127.0.0.1', '--port', port, '--workers', '2', '--admin', 'false'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null) }, 15_000)
    child.once('exit', c => { clearTimeout(timer); resolve(c) })
  })
  t.equal(code, 1, 'the primary exits 1')
  t.match(out, `127.0.0.1:${port} is already in use`)
  t.notMatch(out, /starting a new one/, 'no worker was restarted')
})
