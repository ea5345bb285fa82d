// The admin listener, on its own port and never the proxy's: routing and the bearer token here;
// purges (purge.ts), inspection (inspect.ts) and readiness probes (health.ts) in their own files.
// It sees the proxy only through a small runtime object (AdminRuntime), never the handler.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from '../node-http.ts'
import type { AddressInfo } from 'node:net'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config } from '../config/schema.ts'
import type { Purge } from '../cache/cache.ts'
import type { TierState } from '../store/redis-store.ts'
import type { StoreStats, StoredRecord, RemovalReason } from '../cache/contract.ts'
import { ConfigError } from '../errors.ts'
import type { Metrics } from './metrics.ts'
import type { LiveSnapshot } from './live.ts'
import { AdminRefusal as Refusal } from './refusal.ts'
import { absoluteUrl, parsePurge, asPurge, patternPurge, MAX_PATTERN_KEYS } from './purge.ts'
import { describeVariant } from './inspect.ts'
import { probeOrigin } from './health.ts'
import { statusPage } from './page.ts'
import { VERSION } from '../version.ts'
import { keyFor } from '../cache/key.ts'
import type { Freshgate } from '../proxy/server.ts'

/** True when a browser says the request comes from a page of another origin than the admin listener's. */
function crossSite (req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return true
  const origin = req.headers.origin
  if (origin === undefined) return false
  try {
    return new URL(origin).host !== req.headers.host
  } catch {
    return true
  }
}

/** What the admin API needs of a running proxy: read on every request, so reloads apply at once. */
export interface AdminRuntime {
  /** the config in force */
  config (): Config
  /** carries a purge out here and on every other replica and worker; resolves to the variants affected */
  purge (p: Purge): Promise<number>
  /** the stored records of a primary key, newest first */
  records (key: string): Promise<readonly StoredRecord[]>
  /** primary keys held, at most `limit` (pattern purges match their paths) */
  keys (limit: number): Promise<string[]>
  /** store statistics, when storing is enabled (summed over the workers in a cluster primary) */
  stats (): StoreStats | undefined | Promise<StoreStats | undefined>
  /** the shared tier's state, when store.shared is set */
  shared (): TierState | undefined | Promise<TierState | undefined>
  /** whether the proxy listener accepts connections */
  listening (): boolean
  /** the proxy's port (the admin port must differ) */
  readonly port: number
  /** ms since the epoch, for ages and purges (the proxy's clock) */
  clock (): number
  /** open client connections on the proxy listener */
  connections (): number
  /** the status page's live figures when they come from elsewhere (a cluster primary asks its workers) */
  live?: () => Promise<LiveSnapshot | undefined>
  /** registers the function told when a stored variant leaves the store (metrics) */
  onRemove (fn: (record: StoredRecord, reason: RemovalReason) => void): void
}

/** Largest POST body read (a purge of some thousands of URLs fits). */
const MAX_BODY = 1024 * 1024

/** A running admin listener. */
export interface Admin {
  /** base URL, e.g. http://127.0.0.1:9091 */
  url: string
  /** from now on /readyz answers 503 "draining" (the proxy is shutting down; the listener stays open) */
  drain (): void
  /** stops accepting, closes idle connections, waits for in-flight requests */
  close (): Promise<void>
}

/** How long an origin probe's answer is reused by GET /stats, which the status page polls. */
const STATS_PROBE_TTL = 5_000

/** One route: its methods, whether it needs the token, and what it answers. */
interface AdminRoute {
  methods: readonly string[]
  /** false only for the probes, which orchestrators call without credentials */
  auth: boolean
  run (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void>
}

/** Reads a request body of at most `limit` bytes; a larger one is refused with 413. */
async function readBody (req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = (): Refusal => new Refusal(413, `body larger than ${limit} bytes`, { connection: 'close' })
  if (Number(req.headers['content-length']) > limit) throw tooLarge()
  return await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    let n = 0
    const onData = (chunk: Buffer): void => {
      n += chunk.length
      if (n <= limit) { chunks.push(chunk); return }
      // Stop keeping bytes but leave the socket alone, so the 413 still reaches the client.
      req.off('data', onData)
      req.resume()
      chunks.length = 0
      reject(tooLarge())
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.once('error', reject)
  })
}

/** Writes a JSON answer. Admin answers are never cached. */
function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n'
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store'
  })
  res.end(text)
}

/**
 * Builds the admin request listener for a running proxy. Settings are read from the handler's
 * config on each request, so a reloaded token, ready timeout or purge.soft applies at once.
 */
export function adminHandler (rt: AdminRuntime, metrics: Metrics, draining: () => boolean = () => false): (req: IncomingMessage, res: ServerResponse) => void {
  // Hashing both sides gives equal lengths, so timingSafeEqual neither throws nor leaks the length.
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  let hashed: { token: string, digest: Buffer } | undefined
  const authorized = (req: IncomingMessage): boolean => {
    const token = rt.config().admin.token
    if (token === undefined) return true
    if (hashed?.token !== token) hashed = { token, digest: digest(token) }
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')
    return m !== null && timingSafeEqual(digest(m[1]!), hashed.digest)
  }

  // GET /stats is polled every few seconds; the probe it shows is reused for STATS_PROBE_TTL.
  let probed: { origin: string, at: number, answer: Promise<{ reachable: boolean, reason: string | null }> } | undefined
  const probeCached = async (origin: string, timeout: number): Promise<{ reachable: boolean, reason: string | null }> => {
    const now = Date.now()
    if (probed === undefined || probed.origin !== origin || now - probed.at > STATS_PROBE_TTL) {
      probed = { origin, at: now, answer: probeOrigin(origin, timeout).then(reason => ({ reachable: reason === undefined, reason: reason ?? null })) }
    }
    return await probed.answer
  }

  const GET = ['GET', 'HEAD']
  const routes = new Map<string, AdminRoute>([
    ['/healthz', {
      methods: GET,
      auth: false,
      async run (_req, res) { sendJson(res, 200, { status: 'ok' }) }
    }],
    ['/readyz', {
      methods: GET,
      auth: false,
      async run (req, res) {
        if (draining()) return sendJson(res, 503, { status: 'draining' })
        if (!rt.listening()) return sendJson(res, 503, { status: 'unavailable', reason: 'proxy is not listening' })
        const live = rt.config()
        // The shared tier is reported, never a reason to be unready: without it requests go to the origin.
        const state = await rt.shared()
        const shared = state === undefined ? {} : { shared: state }
        if (live.origin === undefined) return sendJson(res, 200, { status: 'ready', origin: 'not probed: no top-level origin', ...shared })
        const reason = await probeOrigin(live.origin, live.admin.readyTimeout)
        // The origin's address and error are for operators: only with the token, or when none is set.
        if (reason !== undefined) return sendJson(res, 503, { status: 'unavailable', reason: authorized(req) ? reason : 'origin is not reachable (the bearer token shows why)', ...shared })
        sendJson(res, 200, { status: 'ready', ...shared })
      }
    }],
    ['/', {
      methods: GET,
      // The page holds no data: it asks for the token and sends it with every /stats and /purge.
      auth: false,
      async run (_req, res, query) {
        if (query.has('token')) throw new Refusal(400, 'the token is not accepted in the URL (it would end up in logs and history): enter it in the page')
        const page = statusPage()
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': String(page.bytes.length),
          'cache-control': 'no-store',
          'content-security-policy': `default-src 'none'; script-src 'sha256-${page.scriptHash}'; style-src 'sha256-${page.styleHash}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'x-frame-options': 'DENY'
        })
        res.end(page.bytes)
      }
    }],
    ['/stats', {
      methods: GET,
      auth: true,
      async run (_req, res) {
        const stats = await rt.stats()
        // A cluster primary serves no requests: its workers' figures are what the page shows.
        const figures = rt.live === undefined ? metrics.live.snapshot() : (await rt.live()) ?? metrics.live.snapshot()
        const live = rt.config()
        const shared = await rt.shared()
        sendJson(res, 200, {
          version: VERSION,
          node: process.versions.node,
          uptimeSeconds: Math.round(process.uptime()),
          store: {
            enabled: stats !== undefined,
            tier: shared !== undefined ? 'memory+shared' : live.store.disk.dir !== undefined ? 'memory+disk' : 'memory',
            ...(shared === undefined ? {} : { shared }),
            entries: stats?.entries ?? 0,
            bytes: stats?.bytes ?? 0,
            maxBytes: stats?.maxBytes ?? 0
          },
          connections: rt.connections(),
          // responses since start by how the cache answered: a 304 fold is "revalidated"
          answered: await metrics.servedCounts(),
          origin: live.origin === undefined ? null : { url: live.origin, ...await probeCached(live.origin, live.admin.readyTimeout) },
          draining: draining(),
          ...figures
        })
      }
    }],
    ['/metrics', {
      methods: GET,
      auth: true,
      async run (_req, res) {
        const registry = await metrics.registry()
        const text = await registry.metrics()
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' })
        res.end(text)
      }
    }],
    ['/cache/stats', {
      methods: GET,
      auth: true,
      async run (_req, res) {
        const stats = await rt.stats()
        const served = await metrics.servedCounts()
        // Lookups answered from storage without an origin request of their own, over all lookups.
        const fromCache = served.hit + served.stale + served.collapsed
        const lookups = fromCache + served.revalidated + served.miss
        sendJson(res, 200, {
          enabled: stats !== undefined,
          entries: stats?.entries ?? 0,
          bytes: stats?.bytes ?? 0,
          maxBytes: stats?.maxBytes ?? 0,
          evictions: stats?.evictions ?? 0,
          requests: served,
          hitRatio: lookups === 0 ? null : fromCache / lookups
        })
      }
    }],
    ['/cache/entry', {
      methods: GET,
      auth: true,
      async run (_req, res, query) {
        const target = query.get('url')
        const u = absoluteUrl(target)
        if (u === undefined) throw new Refusal(400, `query parameter "url" must be an absolute http(s) URL, got ${JSON.stringify(target)}`)
        const key = keyFor({ scheme: u.protocol.slice(0, -1), authority: u.host.toLowerCase(), target: u.pathname + u.search }, rt.config())
        const records = await rt.records(key)
        if (records.length === 0) return sendJson(res, 404, { error: 'nothing stored for this URL', key })
        const now = rt.clock()
        sendJson(res, 200, { key, variants: records.map(r => describeVariant(r, now)) })
      }
    }],
    ['/purge', {
      methods: ['POST'],
      auth: true,
      async run (req, res) {
        const p = parsePurge(await readBody(req, MAX_BODY), rt.config())
        const soft = p.soft ?? rt.config().purge.soft
        const purge = p.kind === 'pattern' ? await patternPurge(p.pattern, await rt.keys(MAX_PATTERN_KEYS), soft) : asPurge(p, soft)
        const purged = await rt.purge(purge)
        if (!soft) metrics.purged(purged)
        sendJson(res, 200, { purged, soft })
      }
    }]
  ])

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const path = q === -1 ? raw : raw.slice(0, q)
    const route = routes.get(path)
    if (route?.auth !== false && !authorized(req)) {
      throw new Refusal(401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer realm="freshgate-admin"' })
    }
    if (route === undefined) throw new Refusal(404, `no such admin route: ${path}`)
    if (!route.methods.includes(req.method ?? '')) throw new Refusal(405, `${req.method} is not allowed on ${path}`, { allow: route.methods.join(', ') })
    // A page on another site in the operator's browser can POST here (a form needs no preflight):
    // browsers name the page's origin, and only the admin's own pages may change anything.
    if (req.method === 'POST' && crossSite(req)) throw new Refusal(403, 'cross-site request refused', {}, 'FG_ADMIN_CROSS_SITE')
    await route.run(req, res, new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)))
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return }
      if (err instanceof Refusal) return sendJson(res, err.status, { error: err.message, code: err.code }, err.headers)
      // A bug, not a bad request.
      process.emitWarning(err instanceof Error ? err : new Error(String(err)))
      sendJson(res, 500, { error: 'internal error', code: 'FG_INTERNAL' })
    })
  }
}

/** Starts the admin listener on config.admin.host:config.admin.port for a running proxy. */
export async function startAdmin (config: Config, rt: AdminRuntime, metrics: Metrics): Promise<Admin> {
  const { host, port } = config.admin
  if (port !== 0 && port === rt.port) {
    throw new ConfigError('admin.port', port, `a port other than the proxy's (${rt.port}), or 0`)
  }
  let draining = false
  metrics.attach(rt)
  const server = createServer({ maxHeaderSize: 16384, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, adminHandler(rt, metrics, () => draining))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}`,
    drain () { draining = true },
    async close () {
      await new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
    }
  }
}

/** The admin runtime of a running proxy: the only place the admin API meets the proxy's objects. */
export function adminRuntimeOf (fg: Freshgate): AdminRuntime {
  // Counted from now on: a connection opened before is neither added nor, when it closes, taken off.
  let open = 0
  fg.server.on('connection', socket => {
    open++
    socket.once('close', () => { open-- })
  })
  return {
    connections: () => open,
    onRemove (fn) {
      const store = fg.store
      if (store === undefined) return
      // Keep a listener someone else set (another tier's bookkeeping): call both.
      const before = store.onRemove
      store.onRemove = before === undefined ? fn : (r, why) => { before(r, why); fn(r, why) }
    },
    config: () => fg.handler.runtime.config,
    async purge (p) {
      // Carried out here, then announced to the other replicas and workers (cache.ts purgeAll).
      return await fg.handler.runtime.cache?.purgeAll(p, fg.handler.runtime.clock()) ?? 0
    },
    async records (key) {
      return (await fg.handler.runtime.cache?.variants(key) ?? []).map(v => v.record)
    },
    async keys (limit) {
      return await fg.handler.runtime.cache?.store.keys(limit) ?? []
    },
    stats: () => fg.store?.stats(),
    shared: () => fg.shared?.state(),
    listening: () => fg.server.listening,
    port: fg.address.port,
    clock: () => fg.handler.runtime.clock()
  }
}
