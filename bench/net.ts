// Loopback helpers of the bench: a free port, one bounded GET, waiting for a server to answer.

import { createServer } from 'node:net'
import { request, type IncomingHttpHeaders } from 'node:http'
import { readFileSync } from 'node:fs'
import { sleep, type Proc } from './procs.ts'

/** The only address the bench listens on or connects to. */
export const HOST = '127.0.0.1'

/** A port that was free a moment ago (the OS picks it; loopback only). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, HOST, () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** What one GET returned. */
export interface Got {
  status: number
  headers: IncomingHttpHeaders
  bytes: number
  /** the body as text when it is at most 64 KiB */
  text: string
}

/** One GET on a fresh connection, bounded by `timeoutMs`. */
export function get (port: number, path: string, timeoutMs = 10_000): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, path, method: 'GET', agent: false, headers: { connection: 'close' } }, res => {
      const chunks: Buffer[] = []
      let bytes = 0
      res.on('data', (c: Buffer) => { bytes += c.length; if (bytes <= 65536) chunks.push(c) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text: bytes <= 65536 ? Buffer.concat(chunks).toString('utf8') : '' }))
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} on :${port} timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** The last lines of a log file (for start-up failures). */
export function tail (file: string | undefined, lines = 20): string {
  if (file === undefined) return ''
  try { return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') } catch { return '' }
}

/** Waits until the server on `port` answers any HTTP response; throws if it exits or times out. */
export async function waitReady (proc: Proc, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.done) throw new Error(`${proc.name} exited during start-up:\n${tail(proc.logFile)}`)
    try {
      await get(port, '/__ready', 1000)
      return
    } catch {}
    await sleep(50)
  }
  throw new Error(`${proc.name} did not answer on ${HOST}:${port} within ${timeoutMs} ms:\n${tail(proc.logFile)}`)
}
