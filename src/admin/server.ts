// The admin listener, on its own port and never the proxy's: health and readiness probes,
// Prometheus metrics, cache statistics and inspection, and purges, behind an optional bearer token.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config } from '../config/schema.ts'
import type { Freshgate } from '../proxy/server.ts'
import type { StoredResponse } from '../cache/entry.ts'
import { currentAge } from '../cache/policy.ts'
import { primaryKey } from '../cache/key.ts'
import { ConfigError } from '../errors.ts'
import { hostMatches, keyPath } from '../proxy/router.ts'
import type { Metrics } from './metrics.ts'

/** Largest POST body read (a purge of some thousands of URLs fits). */
const MAX_BODY = 1024 * 1024

/** A running admin listener. */
export interface Admin {
  /** base URL, e.g. http://127.0.0.1:9091 */
  url: string
  /** stops accepting, closes idle connections, waits for in-flight requests */
  close (): Promise<void>
}

/** A request the admin API refuses, answered as JSON `{ "error": message }`. */
class Refusal extends Error {
  readonly status: number
  readonly headers: Record<string, string>
  constructor (status: number, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.status = status
    this.headers = headers
  }
}

/** One route: its methods, whether it needs the token, and what it answers. */
interface AdminRoute {
  methods: readonly string[]
  /** false only for the probes, which orchestrators call without credentials */
  auth: boolean
  run (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void>
}

/** Parses an absolute http(s) URL, or undefined. */
function absoluteUrl (text: unknown): URL | undefined {
  if (typeof text !== 'string') return undefined
  try {
    const u = new URL(text)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined
  } catch {
    return undefined
  }
}

/**
 * The primary key the proxy uses for a URL. The proxy keys every request with scheme "http" and
 * the Host it received (handler.ts), so an https:// URL names the same entry as http://; the
 * route the proxy would take (Router.match: first host-and-prefix match) shapes the query.
 */
function keyOf (u: URL, config: Config): string {
  const path = u.pathname + u.search
  const route = config.routes.find(r => (r.host === undefined || hostMatches(r.host, u.host)) && path.startsWith(r.prefix))
  return primaryKey('http', u.host, route === undefined ? path : keyPath(path, route.cache))
}

/** What a purge asks for, validated. */
type PurgeRequest =
  | { kind: 'urls', keys: string[], soft: boolean | undefined }
  | { kind: 'prefix', prefix: string, soft: boolean | undefined }
  | { kind: 'tags', tags: string[], soft: boolean | undefined }

const PURGE_FIELDS = new Set(['urls', 'prefix', 'tags', 'soft'])

/** Validates a POST /purge body; throws a 400 Refusal naming what is wrong. */
function parsePurge (text: string, config: Config): PurgeRequest {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new Refusal(400, `body is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Refusal(400, 'body must be a JSON object with one of "urls", "prefix" or "tags"')
  }
  const o = body as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!PURGE_FIELDS.has(k)) throw new Refusal(400, `unknown field ${JSON.stringify(k)}: expected "urls", "prefix" or "tags", and optionally "soft"`)
  }
  if (o.soft !== undefined && typeof o.soft !== 'boolean') throw new Refusal(400, `"soft" must be true or false, got ${JSON.stringify(o.soft)}`)
  const soft = o.soft
  const given = ['urls', 'prefix', 'tags'].filter(k => o[k] !== undefined)
  if (given.length !== 1) throw new Refusal(400, `exactly one of "urls", "prefix" or "tags" is required, got ${given.length === 0 ? 'none' : given.join(' and ')}`)
  if (o.urls !== undefined) {
    if (!Array.isArray(o.urls) || o.urls.length === 0) throw new Refusal(400, '"urls" must be a non-empty array of absolute http(s) URLs')
    const keys = o.urls.map((v: unknown, i) => {
      const u = absoluteUrl(v)
      if (u === undefined) throw new Refusal(400, `"urls"[${i}]: ${JSON.stringify(v)} is not an absolute http(s) URL`)
      return keyOf(u, config)
    })
    return { kind: 'urls', keys, soft }
  }
  if (o.prefix !== undefined) {
    const p = o.prefix
    if (typeof p === 'string' && p.startsWith('/')) return { kind: 'prefix', prefix: p, soft }
    const u = absoluteUrl(p)
    if (u === undefined) throw new Refusal(400, `"prefix" must be a path starting with "/" (any host) or an absolute http(s) URL, got ${JSON.stringify(p)}`)
    // A prefix is matched against stored keys as written: no route shapes it.
    return { kind: 'prefix', prefix: primaryKey('http', u.host, u.pathname + u.search), soft }
  }
  if (!Array.isArray(o.tags) || o.tags.length === 0 || !o.tags.every((t: unknown) => typeof t === 'string' && t !== '')) {
    throw new Refusal(400, '"tags" must be a non-empty array of non-empty strings')
  }
  return { kind: 'tags', tags: o.tags as string[], soft }
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

/** Opens a TCP connection to the origin and closes it; resolves the reason it failed, or undefined. */
function probeOrigin (origin: string, timeout: number): Promise<string | undefined> {
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

/** What /cache/entry shows of one stored variant: everything but the body. */
function describeVariant (v: StoredResponse, now: number): Record<string, unknown> {
  const age = currentAge(v, now)
  const varyValues: Record<string, string | null> = {}
  // varyKey is "field=value\n" per Vary field, "\u0000" standing for an absent field (key.ts).
  for (const line of v.varyKey.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) varyValues[line.slice(0, eq)] = line.slice(eq + 1) === '\u0000' ? null : line.slice(eq + 1)
  }
  return {
    status: v.status,
    headers: v.headers,
    // whole seconds, as in Age and Cache-Status ttl; ttl is negative once stale
    age: Math.floor(age / 1000),
    ttl: Math.floor((v.lifetime - age) / 1000),
    storedAt: new Date(v.responseTime).toISOString(),
    size: v.size,
    bodyBytes: v.body.length,
    varyFields: v.varyFields,
    varyValues,
    tags: v.tags,
    etag: v.etag ?? null,
    lastModified: v.lastModified ?? null
  }
}

/**
 * Builds the admin request listener for a running proxy. Settings are read from the handler's
 * config on each request, so a reloaded token, ready timeout or purge.soft applies at once.
 */
export function adminHandler (fg: Freshgate, metrics: Metrics, clock: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  // Hashing both sides gives equal lengths, so timingSafeEqual neither throws nor leaks the length.
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  let hashed: { token: string, digest: Buffer } | undefined
  const authorized = (req: IncomingMessage): boolean => {
    const token = fg.handler.config.admin.token
    if (token === undefined) return true
    if (hashed?.token !== token) hashed = { token, digest: digest(token) }
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')
    return m !== null && timingSafeEqual(digest(m[1]!), hashed.digest)
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
      async run (_req, res) {
        if (!fg.server.listening) return sendJson(res, 503, { status: 'unavailable', reason: 'proxy is not listening' })
        const live = fg.handler.config
        if (live.origin === undefined) return sendJson(res, 200, { status: 'ready', origin: 'not probed: no top-level origin' })
        const reason = await probeOrigin(live.origin, live.admin.readyTimeout)
        if (reason !== undefined) return sendJson(res, 503, { status: 'unavailable', reason })
        sendJson(res, 200, { status: 'ready' })
      }
    }],
    ['/metrics', {
      methods: GET,
      auth: true,
      async run (_req, res) {
        const text = await metrics.registry.metrics()
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' })
        res.end(text)
      }
    }],
    ['/cache/stats', {
      methods: GET,
      auth: true,
      async run (_req, res) {
        const stats = fg.store?.stats()
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
        const key = keyOf(u, fg.handler.config)
        const variants = await fg.handler.cache?.variants(key) ?? []
        if (variants.length === 0) return sendJson(res, 404, { error: 'nothing stored for this URL', key })
        const now = clock()
        sendJson(res, 200, { key, variants: variants.map(v => describeVariant(v, now)) })
      }
    }],
    ['/purge', {
      methods: ['POST'],
      auth: true,
      async run (req, res) {
        const p = parsePurge(await readBody(req, MAX_BODY), fg.handler.config)
        const soft = p.soft ?? fg.handler.config.purge.soft
        const cache = fg.handler.cache
        const now = clock()
        let purged = 0
        if (cache !== undefined) {
          if (p.kind === 'urls') for (const k of p.keys) purged += await cache.purge(k, soft, now)
          else if (p.kind === 'prefix') purged = await cache.purgePrefix(p.prefix, soft, now)
          else purged = await cache.purgeTags(p.tags, soft, now)
        }
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
    await route.run(req, res, new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)))
  }

  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return }
      if (err instanceof Refusal) return sendJson(res, err.status, { error: err.message }, err.headers)
      // A bug, not a bad request.
      process.emitWarning(err instanceof Error ? err : new Error(String(err)))
      sendJson(res, 500, { error: 'internal error' })
    })
  }
}

/**
 * Starts the admin listener on config.admin.host:config.admin.port for a running proxy.
 * @param clock ms since the epoch, for ages and purges (the proxy's clock)
 */
export async function startAdmin (config: Config, fg: Freshgate, metrics: Metrics, clock: () => number = Date.now): Promise<Admin> {
  const { host, port } = config.admin
  if (port !== 0 && port === fg.address.port) {
    throw new ConfigError('admin.port', port, `a port other than the proxy's (${fg.address.port}), or 0`)
  }
  const server = createServer({ maxHeaderSize: 16384, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, adminHandler(fg, metrics, clock))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}`,
    async close () {
      await new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeIdleConnections()
      })
    }
  }
}
