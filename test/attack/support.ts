// Shared pieces of the attack suites: a raw conversation that never hangs, an origin that
// echoes what it was told, and readers for raw responses.

import { connect } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** What came back on one raw connection. */
export interface Conversation {
  /** every byte the server sent, as latin1 text */
  text: string
  /** the server closed (or reset) the connection before the wait ended */
  closed: boolean
}

/**
 * Sends `bytes` on a fresh connection and reads until the server closes it, `until` matches, or
 * `ms` pass. Never rejects: a reset counts as a close, a silent server as `closed: false`.
 */
export async function converse (url: string, bytes: string | Buffer, opts: { until?: RegExp, ms?: number } = {}): Promise<Conversation> {
  const u = new URL(url)
  return await new Promise<Conversation>(resolve => {
    const socket = connect(Number(u.port), u.hostname)
    let text = ''
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ text, closed })
    }
    const timer = setTimeout(() => finish(false), opts.ms ?? 2000)
    socket.on('data', d => {
      text += d.toString('latin1')
      if (opts.until?.test(text) === true) finish(false)
    })
    socket.on('end', () => finish(true))
    socket.on('close', () => finish(true))
    socket.on('error', () => finish(true))
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  })
}

/** The status codes of every response in a raw conversation, in order. */
export function statuses (text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map(m => Number(m[1]))
}

/** One field of the first response head in raw text (lowercase name), or undefined. */
export function rawField (text: string, name: string): string | undefined {
  const head = text.split('\r\n\r\n')[0] ?? ''
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (line.slice(0, colon).toLowerCase() === name) return line.slice(colon + 1).trim()
  }
  return undefined
}

/** Request fields the echo origin reflects into its (cacheable) body, as a poisonable app would. */
export const REFLECTED = ['host', 'x-forwarded-host', 'x-forwarded-scheme', 'x-forwarded-proto', 'x-original-url', 'x-rewrite-url', 'x-host', 'x-forwarded-port'] as const

/**
 * An origin that answers every request with a cacheable JSON body naming the path and the
 * reflected fields it received, like an application that builds links from them.
 */
export function echoOrigin (cacheControl = 'max-age=60'): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const seen: Record<string, string | string[] | undefined> = { url: req.url }
    for (const f of REFLECTED) seen[f] = req.headers[f]
    const body = JSON.stringify(seen)
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheControl, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
}
