// `freshgate demo` over the real launcher: the bundled origin with freshgate in front, the printed
// curl lines, and each thing they promise: a miss, a hit, a 304 fold after max-age, a client 304,
// the static file, the SSE stream and the admin URL (issue 12 #1).

import t from 'tap'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { get } from '../proxy/harness.ts'
import { within } from '../support.ts'
import { TASK_MAX_AGE } from '../../src/demo/origin.ts'
import { CHILD_TIMEOUT, launch, runToEnd } from './child.ts'

t.test('demo: prints curl lines, and each does what its comment says', async t => {
  const demo = launch(t, ['demo', '--port', '0', '--admin-port', '0'])
  await demo.waitFor(/Stop with Ctrl-C/, 'the instructions', { stream: 'stdout' })
  const out = demo.stdout()
  const proxy = /in front of it on (http:\/\/127\.0\.0\.1:\d+)\./.exec(out)?.[1] ?? ''
  const admin = /^Admin: (http:\/\/127\.0\.0\.1:\d+)\//m.exec(out)?.[1] ?? ''
  t.match(proxy, /^http:/, 'names the proxy URL')
  t.match(admin, /^http:/, 'names the admin URL')
  t.ok(out.includes(`Status page (watch the 304 fold live): ${admin}/`), 'points to the status page')
  const page = await get(`${admin}/`)
  t.equal(page.status, 200, 'the status page is served')
  t.match(String(page.headers['content-type']), /^text\/html/)
  const task = `${proxy}/api/task/42`
  t.ok(out.includes(`curl -si ${task} `), 'a curl line for the polling API')
  t.ok(out.includes(`curl -si -H 'If-None-Match: "task-42-v1"' ${task}`), 'a curl line for a client 304')

  const miss = await get(task)
  t.equal(miss.status, 200)
  t.match(miss.cs, /fwd=uri-miss; stored/, `a miss: ${miss.cs}`)
  t.match(miss.body, /"id":42/)
  t.match((await get(task)).cs, /^freshgate; hit/, 'a hit')
  const client304 = await get(task, { headers: { 'if-none-match': '"task-42-v1"' } })
  t.equal(client304.status, 304, 'a client 304 from the cache')
  t.match(client304.cs, /hit/)
  await sleep(TASK_MAX_AGE * 1000 + 300)
  const fold = await get(task)
  t.equal(fold.status, 200)
  t.match(fold.cs, /fwd=stale; fwd-status=304/, `after max-age, a 304 fold: ${fold.cs}`)
  t.equal(fold.body, miss.body, 'the stored body')

  const file = await get(`${proxy}/static/hello.txt`)
  t.match(file.cs, /stored/, `the static file is stored (heuristic freshness from Last-Modified): ${file.cs}`)
  t.match((await get(`${proxy}/static/hello.txt`)).cs, /^freshgate; hit/)

  const events = await fetch(`${proxy}/events`, { signal: AbortSignal.timeout(CHILD_TIMEOUT) })
  t.equal(events.headers.get('content-type'), 'text/event-stream')
  const reader = events.body!.getReader()
  const first = await within(reader.read(), CHILD_TIMEOUT, 'the first event')
  t.match(new TextDecoder().decode(first.value), /^id: 1\ndata: \{"task": 42, "tick": 1\}\n\n/, 'the SSE stream streams')
  await reader.cancel()

  t.equal((await get(`${admin}/cache/stats`)).status, 200, 'the admin URL answers')
  demo.process.kill('SIGTERM')
  t.same(await within(demo.exited, CHILD_TIMEOUT, 'exit'), [0, null])
})

t.test('the printed curl lines run as printed', { skip: existsSync('/usr/bin/curl') ? false : 'no curl here' }, async t => {
  const demo = launch(t, ['demo', '--port', '0', '--admin-port', '0'])
  await demo.waitFor(/Stop with Ctrl-C/, 'the instructions', { stream: 'stdout' })
  const lines = demo.stdout().split('\n').map(l => l.trim()).filter(l => l.startsWith('curl -si') && l.includes('/api/task/42'))
  t.equal(lines.length, 3, 'miss, hit, client 304')
  const sh = promisify(execFile)
  const outs: string[] = []
  for (const line of lines) outs.push((await sh('/bin/sh', ['-c', line], { timeout: CHILD_TIMEOUT })).stdout.trim())
  t.match(outs[0], /^cache-status: freshgate; fwd=uri-miss; stored/i)
  t.match(outs[1], /^cache-status: freshgate; hit/i)
  t.match(outs[2], /^HTTP\/1\.1 304/)
  demo.process.kill('SIGTERM')
  await within(demo.exited, CHILD_TIMEOUT, 'exit')
})

t.test('demo on a port in use: one line, exit 1', async t => {
  const held = createServer().listen(0, '127.0.0.1')
  await once(held, 'listening')
  t.teardown(() => held.close())
  const port = (held.address() as AddressInfo).port
  const r = await runToEnd(t, ['demo', '--port', String(port), '--admin-port', '0'])
  t.equal(r.code, 1)
  t.match(r.stderr, new RegExp(`^freshgate: 127\\.0\\.0\\.1:${port} is already in use$`, 'm'))
})

t.test('demo refuses --origin: it brings its own', async t => {
  const r = await runToEnd(t, ['demo', '--origin', 'http://127.0.0.1:3000'])
  t.equal(r.code, 2)
  t.match(r.stderr, /demo brings its own origin/)
})
