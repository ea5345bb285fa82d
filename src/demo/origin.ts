// The demo origin behind `freshgate demo`: a polling API with an ETag and a short max-age (so a
// 304 fold shows within seconds), a static file with Last-Modified, and a Server-Sent Events stream.

import type { Server } from 'node:http'
import { createServer } from '../node-http.ts'
import type { AddressInfo } from 'node:net'

/** Freshness of /api/task/42, in seconds: short, so the fold after it is seen while trying. */
export const TASK_MAX_AGE = 3

/** The static file's Last-Modified: fixed, so the cache may compute heuristic freshness (RFC 9111 §4.2.2). */
const STATIC_MODIFIED = new Date('2026-01-01T00:00:00Z')
const STATIC_BODY = 'Hello from the freshgate demo origin.\n'
/** Events one /events stream sends before it ends, one a second: bounded, like everything else. */
const SSE_EVENTS = 30

/** A running demo origin. */
export interface DemoOrigin {
  url: string
  /** requests that reached the origin, by path: what the cache saved shows here */
  hits: Map<string, number>
  close (): Promise<void>
}

/** Starts the demo origin on 127.0.0.1 (port 0: a free one). */
export async function startDemoOrigin (port = 0): Promise<DemoOrigin> {
  const hits = new Map<string, number>()
  const task = JSON.stringify({ id: 42, state: 'running', progress: 0.5 }) + '\n'
  const taskTag = '"task-42-v1"'
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    hits.set(path, (hits.get(path) ?? 0) + 1)
    if (path === '/api/task/42') {
      res.setHeader('cache-control', `max-age=${TASK_MAX_AGE}`)
      res.setHeader('etag', taskTag)
      // RFC 9110 §13.1.2: If-None-Match is a list of entity tags, or *.
      const inm = req.headers['if-none-match']
      if (inm !== undefined && (inm.trim() === '*' || inm.split(',').some(t => t.trim().replace(/^W\//, '') === taskTag))) {
        res.statusCode = 304
        res.end()
        return
      }
      res.setHeader('content-type', 'application/json')
      res.end(task)
      return
    }
    if (path === '/static/hello.txt') {
      res.setHeader('last-modified', STATIC_MODIFIED.toUTCString())
      const ims = Date.parse(req.headers['if-modified-since'] ?? '')
      if (!Number.isNaN(ims) && ims >= STATIC_MODIFIED.getTime()) {
        res.statusCode = 304
        res.end()
        return
      }
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end(STATIC_BODY)
      return
    }
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      let n = 0
      const timer = setInterval(() => {
        res.write(`id: ${++n}\ndata: {"task": 42, "tick": ${n}}\n\n`)
        if (n >= SSE_EVENTS) { clearInterval(timer); res.end() }
      }, 1000)
      res.on('close', () => clearInterval(timer))
      return
    }
    res.statusCode = 404
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end('Try /api/task/42, /static/hello.txt or /events\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    async close () {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** What `freshgate demo` prints: curl lines for a miss, a hit, a 304 fold, a client 304, the other routes, and the admin URL. */
export function demoInstructions (proxy: string, admin: string | undefined): string {
  const status = "| grep -i '^cache-status'"
  return [
    '',
    `freshgate demo: a small origin with freshgate in front of it on ${proxy}. Try:`,
    '',
    '  # 1. a miss: fetched from the origin and stored',
    `  curl -si ${proxy}/api/task/42 ${status}`,
    '  # 2. a hit: answered from the cache',
    `  curl -si ${proxy}/api/task/42 ${status}`,
    `  # 3. after ${TASK_MAX_AGE} seconds (max-age): revalidated, the origin's 304 folded into the stored 200`,
    `  sleep ${TASK_MAX_AGE}; curl -si ${proxy}/api/task/42 ${status}`,
    '  # 4. a client 304: your ETag matches, answered from the cache',
    `  curl -si -H 'If-None-Match: "task-42-v1"' ${proxy}/api/task/42 | head -1`,
    '  # a static file with Last-Modified (heuristic freshness), and an SSE stream passed through',
    `  curl -si ${proxy}/static/hello.txt ${status}`,
    `  curl -sN ${proxy}/events`,
    '',
    admin === undefined ? '' : `Status page (watch the 304 fold live): ${admin}/\nAdmin: ${admin}/cache/stats, ${admin}/metrics, ${admin}/cache/entry?url=${proxy}/api/task/42\n`,
    'Stop with Ctrl-C.',
    ''
  ].join('\n')
}
