// Whether a configured origin accepts a TCP connection: a warning at start-up, and a gate before
// SIGHUP switches to a changed origin (a half-written file can still parse: issue 9 #8).

import { connect } from 'node:net'
import type { Config } from './schema.ts'

/** Opens a TCP connection to `origin` and closes it. Resolves undefined, or why it failed ("ECONNREFUSED", "no connection within 2000 ms"). */
export async function unreachable (origin: string, timeout: number): Promise<string | undefined> {
  const u = new URL(origin)
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  return await new Promise(resolve => {
    const socket = connect({ host, port })
    const done = (reason: string | undefined): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(reason)
    }
    const timer = setTimeout(() => done(`no connection within ${timeout} ms`), timeout)
    socket.once('connect', () => done(undefined))
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
  })
}

/** Every origin a config forwards to: the top-level one and each route's, without repeats. */
export function originsOf (config: Config): string[] {
  const all = [config.origin, ...config.routes.map(r => r.origin)]
  return [...new Set(all.filter((o): o is string => o !== undefined))]
}

/** Those of `origins` that do not accept a connection within `timeout`, with the cause. */
export async function unreachableOrigins (origins: readonly string[], timeout: number): Promise<Array<{ origin: string, cause: string }>> {
  const causes = await Promise.all(origins.map(async origin => ({ origin, cause: await unreachable(origin, timeout) })))
  return causes.filter((c): c is { origin: string, cause: string } => c.cause !== undefined)
}
