// The deployment examples in config/examples/ hold together: the Kubernetes sidecar's embedded
// config and the Compose service's mounted one load without error, and the probes, ports, mounts
// and grace periods around them agree with what those configs say.

import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, posix, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'

const EXAMPLES = fileURLToPath(new URL('../../config/examples/', import.meta.url))
const CONFIG_PATH = '/etc/freshgate/freshgate.yaml'

const dir = mkdtempSync(join(tmpdir(), 'freshgate-examples-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** Every document of a multi-document YAML file as plain data; a syntax error fails the test run. */
function documents (file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8'))
  if (!Array.isArray(docs)) throw new Error(`${file}: no YAML documents`)
  for (const d of docs) if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`)
  return docs.map(d => d.toJS() as unknown).filter(d => d !== null)
}

// Just the parts of the Kubernetes and Compose schemas these tests read.
interface K8sObject { apiVersion: string, kind: string, metadata: { name: string }, data?: Record<string, string>, spec?: unknown }
interface Probe { httpGet?: { path: string, port: number | string }, timeoutSeconds?: number }
interface Container {
  name: string
  image: string
  args?: string[]
  env?: Array<{ name: string, value?: string, valueFrom?: unknown }>
  ports?: Array<{ name?: string, containerPort: number }>
  volumeMounts?: Array<{ name: string, mountPath: string, subPath?: string, readOnly?: boolean }>
  readinessProbe?: Probe
  livenessProbe?: Probe
  lifecycle?: { preStop?: { sleep?: { seconds: number } } }
  resources?: { requests?: Record<string, string>, limits?: Record<string, string> }
  securityContext?: { allowPrivilegeEscalation?: boolean, runAsUser?: number }
}
interface PodSpec {
  terminationGracePeriodSeconds?: number
  securityContext?: { runAsNonRoot?: boolean, runAsUser?: number }
  containers: Container[]
  volumes?: Array<{ name: string, configMap?: { name: string, items?: Array<{ key: string, path: string }> } }>
}
interface Deployment { spec: { selector: { matchLabels: Record<string, string> }, template: { metadata: { labels: Record<string, string> }, spec: PodSpec } } }
interface ServiceSpec { selector: Record<string, string>, ports: Array<{ port: number, targetPort?: number | string }> }
interface ComposeService {
  image?: string
  build?: unknown
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, unknown>
  healthcheck?: { test: string[] }
  stop_grace_period?: string
}

/** The port number a probe or Service names, by number or by the container's port name. */
function portNumber (c: Container, port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find(p => p.name === port)?.containerPort
}

/** Compose's "15s" / "1m30s" durations, in milliseconds. */
function composeDuration (text: string | undefined): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(text ?? '')
  if (m === null || text === '') return NaN
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000
}

t.test('kubernetes-sidecar.yaml', async t => {
  const objects = documents('kubernetes-sidecar.yaml') as K8sObject[]
  t.same(objects.map(o => o.kind).sort(), ['ConfigMap', 'Deployment', 'Service'], 'a ConfigMap, a Deployment and a Service')
  const configMap = objects.find(o => o.kind === 'ConfigMap')!
  const deployment = objects.find(o => o.kind === 'Deployment')! as K8sObject & Deployment
  const service = objects.find(o => o.kind === 'Service')!.spec as ServiceSpec
  const pod = deployment.spec.template.spec
  const app = pod.containers.find(c => c.name === 'app')
  const fg = pod.containers.find(c => c.name === 'freshgate')

  t.equal(pod.containers.length, 2, 'one Pod holds two containers')
  if (app === undefined || fg === undefined) return t.fail('containers named app and freshgate')
  t.equal(fg.image, 'freshgate:0.1.0')
  t.same(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels, 'the Deployment selects its own Pods')

  // The ConfigMap reaches the path freshgate is told to read.
  const mount = fg.volumeMounts?.find(m => pod.volumes?.some(v => v.name === m.name && v.configMap?.name === configMap.metadata.name))
  if (mount === undefined) return t.fail(`the ConfigMap ${configMap.metadata.name} is mounted into the freshgate container`)
  const volume = pod.volumes!.find(v => v.name === mount.name)!
  const key = 'freshgate.yaml'
  const fileInVolume = volume.configMap!.items?.find(i => i.key === key)?.path ?? key
  const mountedAt = mount.subPath !== undefined ? mount.mountPath : posix.join(mount.mountPath, fileInVolume)
  t.equal(mountedAt, CONFIG_PATH, `the ConfigMap key ${key} appears at ${CONFIG_PATH}`)
  t.equal(mount.readOnly, true, 'mounted read-only')
  const args = fg.args ?? []
  t.equal(args[args.indexOf('--config') + 1], CONFIG_PATH, 'freshgate is started with --config at the mounted file')

  // The embedded config loads as freshgate would load it, with the container's environment.
  const embedded = configMap.data?.[key]
  if (embedded === undefined) return t.fail(`the ConfigMap has a ${key} key`)
  const file = join(dir, 'kubernetes-freshgate.yaml')
  writeFileSync(file, embedded)
  // A value from a Secret is unknown here: any text checks that the variable's name is known.
  const env = Object.fromEntries((fg.env ?? []).map(e => [e.name, e.value ?? 'from-a-secret']))
  let config: Config
  try {
    config = loadConfig({ file, env })
  } catch (err) {
    return t.fail(`the embedded config loads: ${(err as Error).message}`)
  }
  t.equal(config.origin, 'http://127.0.0.1:3000', 'the origin is the app container, on localhost in the Pod')
  t.equal(portNumber(app, 'app'), 3000, 'the app container listens on the origin port')
  t.equal(config.host, '0.0.0.0', 'freshgate listens on the Pod IP')
  t.equal(config.admin.enabled, true, 'the admin listener runs')
  t.equal(config.admin.host, '0.0.0.0', 'the admin listener is reachable by the kubelet')
  t.equal(config.admin.token, 'from-a-secret', 'the admin token comes from the environment, not the file')

  // Probes and ports agree with the config.
  t.equal(fg.readinessProbe?.httpGet?.path, '/readyz', 'readiness asks /readyz')
  t.equal(fg.livenessProbe?.httpGet?.path, '/healthz', 'liveness asks /healthz')
  t.equal(portNumber(fg, fg.readinessProbe?.httpGet?.port), config.admin.port, 'readiness probe port is admin.port')
  t.equal(portNumber(fg, fg.livenessProbe?.httpGet?.port), config.admin.port, 'liveness probe port is admin.port')
  t.ok((fg.readinessProbe?.timeoutSeconds ?? 1) * 1000 > config.admin.readyTimeout, 'the readiness probe waits longer than /readyz may take')
  t.equal(portNumber(fg, 'http'), config.port, 'the container port named http is freshgate\'s port')
  t.same(service.selector, deployment.spec.template.metadata.labels, 'the Service selects the Pods')
  t.equal(service.ports.length, 1, 'the Service exposes one port')
  t.equal(portNumber(fg, service.ports[0]!.targetPort), config.port, 'the Service sends traffic to freshgate, not to the app')

  // Shutdown order: freshgate drains before the app stops, all within the grace period.
  const grace = (pod.terminationGracePeriodSeconds ?? 30) * 1000
  const fgPreStop = (fg.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000
  const appPreStop = (app.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000
  t.ok(grace > fgPreStop + config.shutdownTimeout, `terminationGracePeriodSeconds (${grace} ms) covers freshgate's preStop and shutdownTimeout (${fgPreStop} + ${config.shutdownTimeout} ms)`)
  t.ok(appPreStop >= fgPreStop + config.shutdownTimeout, 'the app stays up while freshgate drains')
  t.ok(grace > appPreStop, 'the app has time to stop after its preStop')

  t.equal(pod.securityContext?.runAsNonRoot, true, 'runAsNonRoot')
  t.not(pod.securityContext?.runAsUser ?? 0, 0, 'a numeric non-root uid, so the kubelet can verify runAsNonRoot')
  for (const c of pod.containers) {
    t.equal(c.securityContext?.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`)
    t.ok(c.resources?.requests?.memory !== undefined && c.resources.limits?.memory !== undefined, `${c.name}: memory request and limit`)
  }
})

t.test('compose.yaml', async t => {
  const [compose] = documents('compose.yaml') as Array<{ services?: Record<string, ComposeService> }>
  const services = compose?.services ?? {}
  t.same(Object.keys(services).sort(), ['app', 'freshgate'], 'an app service and a freshgate service')
  const fg = services.freshgate
  if (fg === undefined) return t.fail('a freshgate service')
  t.equal(fg.image, 'freshgate:0.1.0')
  t.equal(resolve(EXAMPLES, String(fg.build)), resolve(EXAMPLES, '../..'), 'built from the repository root')
  t.ok(existsSync(join(resolve(EXAMPLES, '../..'), 'Dockerfile')), 'where the Dockerfile is')
  t.ok(fg.depends_on?.app !== undefined, 'starts after the app')

  const volume = fg.volumes?.map(v => v.split(':')).find(([, target]) => target === CONFIG_PATH)
  if (volume === undefined) return t.fail(`a file is mounted at ${CONFIG_PATH}`)
  const source = resolve(EXAMPLES, volume[0]!)
  t.ok(existsSync(source), `the mounted file ${source} exists`)
  t.equal(volume[2], 'ro', 'mounted read-only')

  let config: Config
  try {
    config = loadConfig({ file: source, env: fg.environment ?? {} })
  } catch (err) {
    return t.fail(`the mounted config loads with the service's environment: ${(err as Error).message}`)
  }
  t.equal(config.origin, 'http://app:3000', 'the origin is the app service by name')
  t.equal(fg.ports?.some(p => p.split(':').at(-1) === String(config.port)), true, 'freshgate\'s port is published')

  const check = fg.healthcheck?.test ?? []
  t.same(check.slice(0, 3), ['CMD', 'node', '-e'], 'the healthcheck runs node (the image has no curl)')
  t.equal(config.admin.enabled, true, 'the admin listener runs')
  t.match(check[3] ?? '', `http://${config.admin.host}:${config.admin.port}/healthz`, 'the healthcheck asks /healthz on the admin listener')
  t.ok(composeDuration(fg.stop_grace_period) > config.shutdownTimeout, `stop_grace_period (${fg.stop_grace_period}) is longer than shutdownTimeout`)
})

t.test('the compose healthcheck script exits 0 on a 2xx, 1 on an error status, 1 when refused', async t => {
  const [compose] = documents('compose.yaml') as Array<{ services?: Record<string, ComposeService> }>
  const script = compose?.services?.freshgate?.healthcheck?.test[3]
  if (script === undefined) return t.fail('a healthcheck script')
  let status = 200
  const server = createServer((req, res) => { res.statusCode = req.url === '/healthz' ? status : 404; res.end() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const run = async (): Promise<number | null> => {
    const child = spawn(process.execPath, ['-e', script.replace(/http:\/\/[^/']+/, url)], { stdio: 'ignore' })
    const [code] = await once(child, 'exit') as [number | null]
    return code
  }
  t.equal(await run(), 0, 'healthy')
  status = 503
  t.equal(await run(), 1, 'unhealthy')
  await new Promise<void>(resolve => server.close(() => resolve()))
  t.equal(await run(), 1, 'not listening')
})
