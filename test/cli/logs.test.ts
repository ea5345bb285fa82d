// The logs over the real launcher: one ISO 8601 time format, a debug line per request with the
// cache decision and upstream timing, an access log that survives SIGKILL (flushed every second),
// the combined format, and a worker-exit line with one `pid`.

import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { Origin, get } from '../proxy/harness.ts'
import { within } from '../support.ts'
import { combinedLine, ACCESS_FLUSH_INTERVAL } from '../../src/log.ts'
import { CHILD_TIMEOUT, jsonLines, startProxy } from './child.ts'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

async function origin (t: { teardown: (fn: () => unknown) => void }): Promise<Origin> {
  const o = await new Origin((req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.end(`hello ${req.url}`)
  }).start()
  t.teardown(() => o.close())
  return o
}

t.test('the application log and the access log both write ISO 8601 times (issue 12)', async t => {
  const o = await origin(t)
  const fg = await startProxy(t, ['--origin', o.url])
  await get(`${fg.url}/a`)
  fg.process.kill('SIGTERM')
  await within(fg.exited, CHILD_TIMEOUT, 'exit')
  const app = jsonLines(fg.stderr())
  const access = jsonLines(fg.stdout())
  t.ok(app.length >= 3, 'some application lines')
  t.equal(access.length, 1, 'one access line')
  for (const l of [...app, ...access]) t.match(String(l.time), ISO, `${String(l.msg ?? l.url)}: ${String(l.time)}`)
})

t.test('--log-level debug adds one line per request with the cache decision and the upstream timing (issue 12)', async t => {
  const o = await origin(t)
  const fg = await startProxy(t, ['--origin', o.url, '--log-level', 'debug', '--access-log', 'false'])
  await get(`${fg.url}/a`)
  await get(`${fg.url}/a`)
  await fg.waitFor(/"level":20,[^\n]*GET \/a/, 'two debug lines', { times: 2 })
  const lines = jsonLines(fg.stderr()).filter(l => l.level === 20 && String(l.msg).startsWith('GET /a'))
  t.equal(lines.length, 2, 'one per request')
  t.match(lines[0], { status: 200, cache: /fwd=uri-miss/, upstreamMs: Number }, 'the miss: forwarded, with its upstream time')
  t.match(lines[0]?.msg, /→ 200 \(freshgate; fwd=uri-miss.*; upstream 200 in [\d.]+ ms; [\d.]+ ms\)$/, "with the upstream status")
  t.match(lines[1], { status: 200, cache: /^freshgate; hit/ }, 'the hit')
  t.equal(lines[1]?.upstreamMs, undefined, 'the hit never went upstream')
  t.match(lines[1]?.msg, /not forwarded/)
  t.equal(fg.stdout(), '', 'the access log stayed off')
})

t.test('at info level there is no per-request line', async t => {
  const o = await origin(t)
  const fg = await startProxy(t, ['--origin', o.url])
  await get(`${fg.url}/a`)
  fg.process.kill('SIGTERM')
  await within(fg.exited, CHILD_TIMEOUT, 'exit')
  t.notOk(fg.stderr().includes('GET /a'), fg.stderr())
})

t.test('a SIGKILL loses at most the last second of access-log lines (issue 9 #9)', async t => {
  const o = await origin(t)
  const fg = await startProxy(t, ['--origin', o.url])
  for (const p of ['/1', '/2', '/3', '/4', '/5']) await get(`${fg.url}${p}`)
  await sleep(ACCESS_FLUSH_INTERVAL * 2)
  fg.process.kill('SIGKILL')
  await within(fg.exited, CHILD_TIMEOUT, 'exit')
  t.same(jsonLines(fg.stdout()).map(l => l.url), ['/1', '/2', '/3', '/4', '/5'], 'all five lines were written before the kill')
})

t.test('--access-log-format combined: nginx combined plus the Cache-Status', async t => {
  const o = await origin(t)
  const fg = await startProxy(t, ['--origin', o.url, '--access-log-format', 'combined'])
  await get(`${fg.url}/page?q=1`, { headers: { 'user-agent': 'curl/8 "quoted"', referer: 'http://ref.test/' } })
  await fg.waitFor(/\n/, 'one access line', { stream: 'stdout' })
  t.match(fg.stdout(), /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/page\?q=1 HTTP\/1\.1" 200 15 "http:\/\/ref\.test\/" "curl\/8 \\x22quoted\\x22" "freshgate; fwd=uri-miss; stored"\n$/,
    'client, request line, status, bytes, referer, user agent (quotes escaped), Cache-Status')
})

t.test('combinedLine formats the optional fields when present and escapes quotes', async t => {
  const now = Date.UTC(2026, 11, 1, 4, 5, 6)
  const base = { id: 'x', method: 'GET', url: '/a', host: 'h', status: 200, cache: 'freshgate; hit', bytes: 5, ms: 1, client: '10.0.0.1', protocol: 'HTTP/1.1' }
  t.equal(combinedLine(base, now), '10.0.0.1 - - [01/Dec/2026:04:05:06 +0000] "GET /a HTTP/1.1" 200 5 "-" "-" "freshgate; hit"\n', 'when the referer and user agent are absent → "-"')
  t.equal(combinedLine({ ...base, protocol: 'HTTP/2', userAgent: 'ua "x"\n', referer: 'http://r/', upstreamStatus: 304 }, now),
    '10.0.0.1 - - [01/Dec/2026:04:05:06 +0000] "GET /a HTTP/2" 200 5 "http://r/" "ua \\x22x\\x22\\x0A" "freshgate; hit"\n', 'when present → printed, quotes and controls escaped as nginx does')
})

t.test('the worker-exit line carries `pid` once (issue 12)', async t => {
  const o = await origin(t)
  const fg = await startProxy(t, ['--origin', o.url, '--workers', '2', '--admin', 'false'])
  await fg.waitFor(/freshgate listening on/, 'both workers', { times: 2 })
  const worker = jsonLines(fg.stderr()).find(l => String(l.msg).startsWith('freshgate listening on'))
  process.kill(Number(worker?.pid), 'SIGKILL')
  const m = await fg.waitFor(/^.*worker exited.*$/m, 'the worker-exit line')
  t.equal(m[0].match(/"pid":/g)?.length, 1, m[0])
  t.match(JSON.parse(m[0]), { workerPid: Number(worker?.pid), signal: 'SIGKILL' })
  fg.process.kill('SIGTERM')
  t.same(await within(fg.exited, CHILD_TIMEOUT, 'exit'), [0, null])
})
