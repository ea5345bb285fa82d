// prom-client and ioredis are loaded only when used: the metrics registry on the first scrape, the
// Redis client when store.shared is set (each costs ~8 MiB of resident memory at start-up); and
// node:http without its lazy exports (they load Node's bundled undici).

import t from 'tap'
import { createRequire } from 'node:module'
import { createMetrics } from '../../src/admin/metrics.ts'
import { startAdmin } from '../../src/admin/server.ts'
import { startProxy } from '../../src/proxy/server.ts'
import { openTiers } from '../../src/store/tiers.ts'
import { loadConfig } from '../../src/config/load.ts'

const require = createRequire(import.meta.url)
const loaded = (pkg: string): boolean => Object.keys(require.cache).some(p => p.includes(`/node_modules/${pkg}/`))
/** Node's list of loaded built-in modules (not in @types/node). */
const builtin = (name: string): boolean => (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes(`NativeModule ${name}`)

t.test('prom-client on the first /metrics scrape; never ioredis without store.shared; node:http without its lazy exports', async t => {
  // The proxy's and the admin listener's modules are imported above: loading them loads neither.
  t.type(startProxy, 'function')
  t.type(startAdmin, 'function')
  const config = loadConfig({ flags: { origin: 'http://127.0.0.1:9' } })
  const tiers = await openTiers(config, Date.now)
  t.teardown(() => tiers.store?.close())
  const metrics = createMetrics(() => undefined, config.cache.maxSize)
  t.notOk(loaded('prom-client'), 'not loaded by the metrics')
  t.notOk(loaded('ioredis'), 'not loaded by the tiers')
  const fg = await startProxy({ ...config, port: 0, host: '127.0.0.1', admin: { ...config.admin, enabled: false } })
  t.teardown(() => fg.close())
  t.notOk(builtin('internal/deps/undici/undici'), "node:http's lazy exports are not read")
  const registry = await metrics.registry()
  t.ok(loaded('prom-client'), 'loaded by the first scrape')
  t.equal(await metrics.registry(), registry, 'one registry')
  t.match(await registry.metrics(), /freshgate_requests_total\{cache="hit"\} 0/)
})
