// The shared-tier deployment examples hold together: each replica's config loads and names the
// Redis/Valkey the example runs, by the name and port it is reachable at.

import t from 'tap'
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '../../src/config/load.ts'
import { parseSharedTarget } from '../../src/store/shared-url.ts'

const EXAMPLES = fileURLToPath(new URL('../../config/examples/', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'freshgate-shared-examples-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function documents (file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8'), { merge: true })
  if (!Array.isArray(docs)) throw new Error(`${file}: no YAML documents`)
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`)
  return docs.map(d => d.toJS({ maxAliasCount: 100 }) as unknown).filter(d => d !== null)
}

interface ComposeService { image?: string, command?: string[], expose?: string[], environment?: Record<string, string>, ports?: string[], volumes?: string[], depends_on?: Record<string, unknown> }

t.test('compose-shared.yaml: two replicas share one Valkey', async t => {
  const [compose] = documents('compose-shared.yaml') as Array<{ services: Record<string, ComposeService> }>
  const services = compose!.services
  const replicas = Object.entries(services).filter(([, s]) => s.image === 'freshgate:0.1.0')
  t.equal(replicas.length, 2, 'two freshgate replicas')
  const published = new Set<string>()
  for (const [name, s] of replicas) {
    const mount = s.volumes?.map(v => v.split(':')).find(([, target]) => target === '/etc/freshgate/freshgate.yaml')
    const config = loadConfig({ file: resolve(EXAMPLES, mount![0]!), env: s.environment ?? {} })
    const target = parseSharedTarget(config.store.shared ?? '')
    const redis = services[target.nodes[0]!.host]
    t.ok(redis !== undefined, `${name}: store.shared names a service of the file`)
    t.ok(redis?.expose?.includes(String(target.nodes[0]!.port)), `${name}: on the port that service exposes`)
    t.ok(s.depends_on?.[target.nodes[0]!.host] !== undefined, `${name}: starts after it`)
    t.ok(redis?.command?.includes('--maxmemory') && redis.command.includes('volatile-lru'), 'the shared tier is bounded and evicts keys with a TTL')
    for (const p of s.ports ?? []) published.add(p.split(':')[0]!)
  }
  t.equal(published.size, 2, 'each replica is published on its own host port')
  t.equal(new Set(replicas.map(([, s]) => s.environment?.FRESHGATE_STORE_PREFIX)).size, 1, 'both replicas use one prefix, so they share')
})

interface K8sObject { kind: string, metadata: { name: string }, data?: Record<string, string>, spec?: Record<string, unknown> }

t.test('kubernetes-shared.yaml: replicas reach Redis through its Service', async t => {
  const objects = documents('kubernetes-shared.yaml') as K8sObject[]
  const configMap = objects.find(o => o.kind === 'ConfigMap')!
  const file = join(dir, 'k8s.yaml')
  writeFileSync(file, configMap.data!['freshgate.yaml']!)
  const config = loadConfig({ file, env: { FRESHGATE_ADMIN_TOKEN: 'from-a-secret' } })
  const target = parseSharedTarget(config.store.shared ?? '')
  const service = objects.find(o => o.kind === 'Service' && o.metadata.name === target.nodes[0]!.host)
  t.ok(service !== undefined, 'store.shared names a Service of the file')
  const ports = (service?.spec?.ports ?? []) as Array<{ port: number, targetPort: string }>
  t.equal(ports[0]?.port, target.nodes[0]!.port, 'on its port')
  const selector = service?.spec?.selector as Record<string, string>
  const redis = objects.find(o => o.kind === 'Deployment' && JSON.stringify((o.spec as { template: { metadata: { labels: unknown } } }).template.metadata.labels) === JSON.stringify(selector))
  t.ok(redis !== undefined, 'the Service selects the Redis Deployment')
  const container = (redis?.spec as { template: { spec: { containers: Array<{ args: string[], ports: Array<{ name: string }> }> } } }).template.spec.containers[0]!
  t.ok(container.ports.some(p => p.name === ports[0]?.targetPort), 'its targetPort is a port the Redis container names')
  t.ok(container.args.includes('--maxmemory') && container.args.includes('volatile-lru'), 'Redis is bounded and evicts keys with a TTL')
  const freshgate = objects.find(o => o.kind === 'Deployment' && o.metadata.name === 'freshgate')
  t.ok(Number(freshgate?.spec?.replicas) >= 2, 'more than one replica')
})
