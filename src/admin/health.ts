// Readiness: can the origin be reached? A TCP connect within a bound (config/reachable.ts), worded for /readyz.

import { unreachable } from '../config/reachable.ts'

/** Opens a TCP connection to the origin and closes it; resolves the reason it failed, or undefined. */
export async function probeOrigin (origin: string, timeout: number): Promise<string | undefined> {
  const cause = await unreachable(origin, timeout)
  if (cause === undefined) return undefined
  const host = new URL(origin).host
  return cause.startsWith('no connection') ? `origin ${host} did not accept a connection within ${timeout} ms` : `origin ${host} connection failed: ${cause}`
}
