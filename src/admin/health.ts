// Readiness: can the origin be reached? A TCP connect within a bound, nothing more.

import { connect } from 'node:net'

/** Opens a TCP connection to the origin and closes it; resolves the reason it failed, or undefined. */
export function probeOrigin (origin: string, timeout: number): Promise<string | undefined> {
  const u = new URL(origin)
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  return new Promise(resolve => {
    const socket = connect({ host, port })
    const done = (reason: string | undefined): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(reason)
    }
    const timer = setTimeout(() => done(`origin ${u.host} did not accept a connection within ${timeout} ms`), timeout)
    socket.once('connect', () => done(undefined))
    socket.once('error', (err: NodeJS.ErrnoException) => done(`origin ${u.host} connection failed: ${err.code ?? err.message}`))
  })
}
