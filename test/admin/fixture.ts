// Admin test fixture: the proxy harness's origin and proxy, plus metrics wired as the observer and
// the admin listener on listen(0), torn down with the test.

import { Origin, FakeClock, get, type OriginHandler, type Got } from '../proxy/harness.ts'
import { loadConfig } from '../../src/config/load.ts'
import { startProxy, type Freshgate } from '../../src/proxy/server.ts'
import { createMetrics, type Metrics } from '../../src/admin/metrics.ts'
import { startAdmin, adminRuntimeOf, type Admin } from '../../src/admin/server.ts'

/** A running origin, proxy with metrics, and admin listener. */
export interface AdminSetup {
  origin: Origin
  fg: Freshgate
  /** the proxy's base URL */
  url: string
  admin: Admin
  metrics: Metrics
  clock: FakeClock
}

/** Starts an origin, the proxy with `flags` (dotted keys) and metrics, and the admin listener. */
export async function setupAdmin (t: { teardown: (fn: () => unknown) => void }, handler: OriginHandler, flags: Record<string, unknown> = {}): Promise<AdminSetup> {
  const clock = new FakeClock()
  const origin = await new Origin(handler, clock).start()
  // Each part is torn down even when a later one fails to start (teardowns run in order).
  let fg: Freshgate | undefined
  let admin: Admin | undefined
  t.teardown(async () => {
    await admin?.close()
    await fg?.close()
    await origin.close()
  })
  const config = loadConfig({ flags: { origin: origin.url, port: 0, host: '127.0.0.1', 'admin.port': 0, ...flags } })
  const metrics = createMetrics(() => fg?.store?.stats(), config.cache.maxSize)
  fg = await startProxy(config, { clock: clock.now, observer: metrics.observer })
  admin = await startAdmin(config, adminRuntimeOf(fg), metrics)
  return { origin, fg, url: fg.url, admin, metrics, clock }
}

/** Sends a JSON body with POST (to /purge). */
export async function post (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Got> {
  return await get(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
}

/** Reads one sample from Prometheus text, e.g. `freshgate_requests_total{cache="hit"}`; undefined when absent. */
export function sample (text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1))
  }
  return undefined
}
