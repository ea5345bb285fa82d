// The one configuration schema: every option, its type, default and documentation.
// The CLI flags, environment variables, config file keys and README reference derive from it.

/** How an option's raw value is read. */
export type OptionType =
  /** free text */
  | 'string'
  /** an http: or https: URL */
  | 'url'
  /** a whole number within [min, max] */
  | 'integer'
  /** a number within [min, max] */
  | 'number'
  /** true/false (also "1"/"0", "yes"/"no" from the environment) */
  | 'boolean'
  /** a byte count: a number or "512KiB", "256MiB", "1GiB" (k/M/G are 1000-based, Ki/Mi/Gi 1024-based) */
  | 'bytes'
  /** a duration: a number of seconds or "500ms", "30s", "5m", "1h", "1d"; held in milliseconds */
  | 'duration'
  /** one of `values` */
  | 'enum'
  /** a list of strings: YAML/JSON array, or comma-separated text from flags and environment */
  | 'list'
  /** a whole number within [min, max], or "auto" for the number of CPUs */
  | 'count'
  /** the routes list (see src/config/routes.ts) */
  | 'routes'
  /** a mapping of field names to values; JSON text from flags and environment */
  | 'fields'
  /** TTLs by status code: a mapping of "200", "404"… or "any" to a duration; JSON text from flags and environment */
  | 'ttls'

/** One option of the schema. */
export interface OptionSpec {
  /** dotted path in the config file, e.g. `cache.maxSize` */
  key: string
  type: OptionType
  /** the value when nothing sets it; undefined means required (or absent) */
  default?: unknown
  /** one-line description for --help and README */
  doc: string
  /** CLI flag name without dashes */
  flag: string
  min?: number
  max?: number
  values?: readonly string[]
  /** required at start-up */
  required?: boolean
  /** printed as "<redacted>" by --print-config and check-config */
  secret?: boolean
  /** when nothing sets it, the value is computed from the rest of the config; `doc` says how (help, README) */
  derived?: { doc: string, value: (config: Config) => unknown }
}

import type { Route } from './routes.ts'
import type { TtlTable } from '../cache/overrides.ts'
import type { HeaderRules } from './headers.ts'

const MiB = 1024 * 1024

/** All options. Order is the order of --help and the README reference. */
export const SCHEMA: readonly OptionSpec[] = [
  { key: 'origin', type: 'url', flag: 'origin', doc: 'Origin server URL requests are forwarded to, e.g. http://127.0.0.1:3000 (required unless every request matches a route with its own origin)' },
  { key: 'routes', type: 'routes', flag: 'routes', default: [], doc: 'Routes: [{host, prefix, origin, cache: {enabled, defaultTtl, ignoreQuery, sortQuery, ignoreClientNoCache, requestCookies, overrideTtl, minTtl, maxTtl, keyHeaders, keyCookies}, headers: {request, response}}], first match wins; JSON text from flags/env' },
  { key: 'host', type: 'string', flag: 'host', default: '127.0.0.1', doc: 'Address to listen on (0.0.0.0 for all interfaces)' },
  { key: 'port', type: 'integer', flag: 'port', default: 8080, min: 0, max: 65535, doc: 'Port to listen on (0 picks a free port)' },
  { key: 'workers', type: 'count', flag: 'workers', default: 1, min: 1, max: 256, doc: 'Processes sharing the listening port (node:cluster), each with its own memory cache (shared through store.shared when set; purges reach all); "auto" = one per CPU' },
  { key: 'hostHeader', type: 'enum', flag: 'host-header', default: 'client', values: ['client', 'origin'], doc: "Host header sent upstream: the client's (client) or the origin URL's (origin)" },
  { key: 'cacheName', type: 'string', flag: 'cache-name', default: 'freshgate', doc: 'Cache name used in Cache-Status and Via' },
  { key: 'debug', type: 'boolean', flag: 'debug', default: false, doc: 'Add the cache key to Cache-Status (key=…)' },
  { key: 'shutdownTimeout', type: 'duration', flag: 'shutdown-timeout', default: 10_000, min: 0, doc: 'On SIGTERM/SIGINT, how long in-flight requests may take to finish before exit' },
  { key: 'compress', type: 'boolean', flag: 'compress', default: true, doc: 'Compress text responses the origin sent uncompressed (br, zstd or gzip, as the client prefers); coded bodies are stored and reused' },
  { key: 'maxHeaderSize', type: 'bytes', flag: 'max-header-size', default: 16384, min: 1024, max: 1024 * 1024, doc: 'Largest request or response header section accepted' },

  { key: 'trustProxy', type: 'list', flag: 'trust-proxy', default: [], doc: 'Addresses or CIDR ranges of proxies in front of freshgate whose X-Forwarded-For/-Proto/-Host and Forwarded fields are believed; from others they are replaced' },
  { key: 'tls.cert', type: 'string', flag: 'tls-cert', doc: 'PEM certificate (chain) file: the listener speaks TLS with ALPN h2 and http/1.1 (with tls.key; SIGHUP re-reads both files)' },
  { key: 'tls.key', type: 'string', flag: 'tls-key', doc: 'PEM private key file for tls.cert' },
  { key: 'http2.cleartext', type: 'boolean', flag: 'h2c', default: false, doc: 'Accept HTTP/2 with prior knowledge (h2c) on the cleartext listener; HTTP/1.1 keeps working on the same port' },
  { key: 'http2.maxConcurrentStreams', type: 'integer', flag: 'h2-max-streams', default: 100, min: 1, max: 10000, doc: 'Most concurrent HTTP/2 streams per client connection' },
  { key: 'http2.initialWindowSize', type: 'bytes', flag: 'h2-window', default: 65535, min: 1024, max: 2147483647, doc: 'HTTP/2 initial flow-control window per stream' },
  { key: 'http2.idleTimeout', type: 'duration', flag: 'h2-idle-timeout', default: 75_000, min: 1, doc: 'An HTTP/2 client connection with no open stream for this long is closed with GOAWAY' },
  { key: 'http2.maxResets', type: 'integer', flag: 'h2-max-resets', default: 100, min: 1, max: 100000, doc: 'Stream resets a client may cause per second on one connection before it gets GOAWAY (rapid-reset protection)' },
  { key: 'websocket.idleTimeout', type: 'duration', flag: 'ws-idle-timeout', default: 60_000, min: 1, doc: 'Idle time after which a WebSocket (or other upgraded) tunnel is closed' },
  { key: 'websocket.maxTunnels', type: 'integer', flag: 'ws-max-tunnels', default: 1024, min: 0, max: 1000000, doc: 'Most open upgrade tunnels; more are refused with 503 FG_UPSTREAM_BUSY (0: upgrades refused)' },

  { key: 'cache.maxSize', type: 'bytes', flag: 'max-size', default: 256 * MiB, min: 0, doc: 'Total bytes of stored responses (headers and bodies); 0 disables storing' },
  { key: 'cache.maxEntrySize', type: 'bytes', flag: 'max-entry-size', min: 0, derived: { doc: 'min(8MiB, maxSize/8)', value: c => entrySizeFor(c.cache.maxSize) }, doc: 'Largest single stored response; larger ones stream through unstored; at most cache.maxSize' },
  { key: 'cache.maxVariants', type: 'integer', flag: 'max-variants', default: 16, min: 1, max: 1024, doc: 'Most Vary variants kept per URL' },
  { key: 'cache.heuristicFraction', type: 'number', flag: 'heuristic-fraction', default: 0.1, min: 0, max: 1, doc: 'Heuristic freshness as a fraction of (Date − Last-Modified) (RFC 9111 §4.2.2)' },
  { key: 'cache.heuristicMaxAge', type: 'duration', flag: 'heuristic-max-age', default: 86_400_000, min: 0, doc: 'Cap on heuristic freshness' },
  { key: 'cache.keepStale', type: 'duration', flag: 'keep-stale', default: 86_400_000, min: 0, doc: 'How long a stale response with a validator is kept for revalidation' },
  { key: 'cache.staleIfErrorGrace', type: 'duration', flag: 'stale-if-error-grace', default: 60_000, min: 0, doc: 'Serve stale up to this long when the origin cannot be reached (refused, reset, timed out), for responses that send no stale-if-error; never for 5xx answers, nor when must-revalidate, proxy-revalidate, s-maxage or no-cache forbid it (0: off)' },
  { key: 'cache.setCookie', type: 'enum', flag: 'set-cookie', default: 'unless-public', values: ['unless-public', 'strip', 'never', 'store'], doc: 'Responses with Set-Cookie: store only if public/s-maxage (unless-public), store without it (strip), never, or store it and replay it to every client (store: dangerous, see README)' },
  { key: 'cache.ignoreClientNoCache', type: 'boolean', flag: 'ignore-client-no-cache', default: false, doc: 'Answer requests with Cache-Control: no-cache or Pragma: no-cache from the cache, as nginx does (per route too)' },
  { key: 'cache.requestCookies', type: 'enum', flag: 'request-cookies', default: 'store', values: ['store', 'pass'], doc: 'Requests carrying Cookie: cached as usual (store), or passed to the origin without the cache (pass, Varnish\'s builtin) (per route too)' },
  { key: 'cache.overrideTtl', type: 'ttls', flag: 'override-ttl', default: {}, doc: 'Freshness lifetime by status replacing the origin\'s, e.g. {"200": "10m", "404": "30s", "any": "1m"} (per route too)' },
  { key: 'cache.minTtl', type: 'ttls', flag: 'min-ttl', default: {}, doc: 'Shortest freshness lifetime by status; shorter ones are raised to it (per route too)' },
  { key: 'cache.maxTtl', type: 'ttls', flag: 'max-ttl', default: {}, doc: 'Longest freshness lifetime by status; longer ones are lowered to it (per route too)' },
  { key: 'cache.ignoreQuery', type: 'list', flag: 'ignore-query', default: [], doc: 'Query parameters (names or globs such as utm_*) dropped from every cache key; routes may drop more' },
  { key: 'cache.keyHeaders', type: 'list', flag: 'key-headers', default: [], doc: 'Request fields whose values also select the stored response, as if every response had Vary on them (per route too)' },
  { key: 'cache.keyCookies', type: 'list', flag: 'key-cookies', default: [], doc: 'Request cookies (names, case-insensitive) whose values also select the stored response (per route too)' },
  { key: 'cache.rangeFill', type: 'boolean', flag: 'range-fill', default: true, doc: 'On a Range miss, also fetch the whole response in the background to fill the cache (if it fits the entry limit)' },
  { key: 'cache.targets', type: 'list', flag: 'targets', default: ['freshgate-cache-control', 'cdn-cache-control'], doc: 'Targeted Cache-Control fields (RFC 9213) that override Cache-Control, in precedence order' },
  { key: 'cache.stripTargets', type: 'list', flag: 'strip-targets', default: ['freshgate-cache-control'], doc: 'Targeted fields removed before the response reaches the client' },

  { key: 'headers.request.set', type: 'fields', flag: 'request-header-set', default: {}, doc: 'Fields set (replacing any the client sent) on requests to the origin, e.g. {"x-env": "prod"} (per route too)' },
  { key: 'headers.request.add', type: 'fields', flag: 'request-header-add', default: {}, doc: 'Field values added to requests to the origin (per route too)' },
  { key: 'headers.request.remove', type: 'list', flag: 'request-header-remove', default: [], doc: 'Fields removed from requests to the origin (per route too)' },
  { key: 'headers.response.set', type: 'fields', flag: 'response-header-set', default: {}, doc: 'Fields set (replacing the origin\'s) on every response to clients, stored or not (per route too)' },
  { key: 'headers.response.add', type: 'fields', flag: 'response-header-add', default: {}, doc: 'Field values added to every response to clients (per route too)' },
  { key: 'headers.response.remove', type: 'list', flag: 'response-header-remove', default: [], doc: 'Fields removed from every response to clients (per route too)' },

  { key: 'tags.headers', type: 'list', flag: 'tag-headers', default: ['surrogate-key', 'cache-tag'], doc: 'Response fields carrying surrogate keys (space- or comma-separated tags) for purges by tag' },
  { key: 'tags.strip', type: 'boolean', flag: 'strip-tags', default: true, doc: 'Remove the tag fields before responses reach clients' },
  { key: 'purge.method', type: 'boolean', flag: 'purge-method', default: false, doc: 'Accept PURGE <url> on the proxy port (from purge.allow addresses only)' },
  { key: 'purge.allow', type: 'list', flag: 'purge-allow', default: ['127.0.0.1', '::1'], doc: 'Client addresses or CIDR ranges allowed to send PURGE on the proxy port' },
  { key: 'purge.soft', type: 'boolean', flag: 'soft-purge', default: false, doc: 'Purges mark entries stale instead of deleting them (stale-while-revalidate/stale-if-error still apply)' },

  { key: 'admin.enabled', type: 'boolean', flag: 'admin', default: true, doc: 'Run the admin listener (health, metrics, cache inspection, purge)' },
  { key: 'admin.host', type: 'string', flag: 'admin-host', default: '127.0.0.1', doc: 'Admin listener address' },
  { key: 'admin.port', type: 'integer', flag: 'admin-port', default: 9091, min: 0, max: 65535, doc: 'Admin listener port (0 picks a free port)' },
  { key: 'admin.token', type: 'string', flag: 'admin-token', secret: true, doc: 'When set, admin requests must send Authorization: Bearer <token> (/healthz and /readyz excepted)' },
  { key: 'admin.readyTimeout', type: 'duration', flag: 'ready-timeout', default: 2_000, min: 1, doc: '/readyz: how long the origin may take to accept a connection' },

  { key: 'collapse.enabled', type: 'boolean', flag: 'collapse', default: true, doc: 'Collapse concurrent misses and revalidations of one key into one upstream request' },
  { key: 'collapse.waitTimeout', type: 'duration', flag: 'collapse-wait-timeout', default: 15_000, min: 0, doc: 'Longest a collapsed request waits for the leader before going upstream itself' },
  { key: 'collapse.hitForMiss', type: 'duration', flag: 'hit-for-miss', default: 30_000, min: 0, doc: 'How long a key found uncacheable skips collapsing, and, when nothing is stored for it, the cache lookup (hit-for-pass)' },

  { key: 'upstream.connections', type: 'integer', flag: 'upstream-connections', default: 128, min: 1, max: 65535, doc: 'Most connections to the origin' },
  { key: 'upstream.pipelining', type: 'integer', flag: 'upstream-pipelining', default: 1, min: 0, max: 128, doc: 'Requests pipelined per origin connection (1: keep-alive without pipelining, 0: no keep-alive)' },
  { key: 'upstream.keepAliveTimeout', type: 'duration', flag: 'upstream-keepalive-timeout', default: 4_000, min: 1, doc: 'Idle time before an origin connection is closed' },
  { key: 'upstream.allowH2', type: 'boolean', flag: 'upstream-h2', default: false, doc: 'Negotiate HTTP/2 with an https origin' },
  { key: 'upstream.ca', type: 'string', flag: 'upstream-ca', doc: 'PEM file of CA certificates trusted for https origins, besides Node\'s own (NODE_EXTRA_CA_CERTS also works)' },
  { key: 'upstream.queueTimeout', type: 'duration', flag: 'upstream-queue-timeout', default: 3_000, min: 1, doc: 'Longest a request waits for a free origin connection (503 FG_UPSTREAM_BUSY)' },
  { key: 'upstream.responseBuffer', type: 'bytes', flag: 'response-buffer', default: MiB, min: 0, doc: 'Response bytes buffered per slow client before the origin is paused, so origin connections are not held by slow readers (like proxy_buffers)' },
  { key: 'upstream.responseBufferTotal', type: 'bytes', flag: 'response-buffer-total', default: 64 * MiB, min: 0, doc: 'Response bytes buffered for slow clients across all requests; past it, origins are paused (backpressure)' },
  { key: 'request.bodyBuffer', type: 'bytes', flag: 'request-body-buffer', default: MiB, min: 0, doc: 'Request bodies up to this size are read whole before the origin request is opened (slow senders hold no origin connection); larger ones stream' },
  { key: 'request.maxBodySize', type: 'bytes', flag: 'max-body-size', default: 64 * MiB, min: 0, doc: 'Largest request body accepted (413 FG_REQUEST_BODY_TOO_LARGE); 0: no limit' },
  { key: 'timeouts.clientBody', type: 'duration', flag: 'client-body-timeout', default: 10_000, min: 1, doc: 'Client idle time while sending a request body (408 FG_REQUEST_BODY_TIMEOUT)' },
  { key: 'timeouts.connect', type: 'duration', flag: 'connect-timeout', default: 5_000, min: 1, doc: 'Upstream connect timeout (504 FG_UPSTREAM_CONNECT_TIMEOUT)' },
  { key: 'timeouts.headers', type: 'duration', flag: 'headers-timeout', default: 30_000, min: 1, doc: 'Upstream response headers timeout (504 FG_UPSTREAM_HEADERS_TIMEOUT)' },
  { key: 'timeouts.body', type: 'duration', flag: 'body-timeout', default: 30_000, min: 1, doc: 'Upstream idle time between body chunks (504 FG_UPSTREAM_BODY_TIMEOUT)' },

  { key: 'log.level', type: 'enum', flag: 'log-level', default: 'info', values: ['debug', 'info', 'warn', 'error', 'silent'], doc: 'Application log level' },
  { key: 'log.access', type: 'boolean', flag: 'access-log', default: true, doc: 'One access-log line per request on stdout (method, url, status, cache, ms, upstream ms, request id, client…)' },
  { key: 'log.format', type: 'enum', flag: 'access-log-format', default: 'json', values: ['json', 'combined'], doc: 'Access-log format: one JSON object per line, or nginx "combined" with the Cache-Status appended' },
  { key: 'log.accessSample', type: 'number', flag: 'access-log-sample', default: 1, min: 0, max: 1, doc: 'Fraction of requests written to the access log' },

  { key: 'store.shared', type: 'string', flag: 'shared-store', doc: 'Shared Redis/Valkey tier (L2 behind the memory cache): redis://[user:pass@]host:port[/db], rediss://…, redis+sentinel://h1:26379,h2:26379/mastername or redis+cluster://h1:7000,h2:7001' },
  { key: 'store.prefix', type: 'string', flag: 'store-prefix', default: 'freshgate:', doc: 'Prefix of every Redis key and of the invalidation channel, so several caches can share one Redis (no { or })' },
  { key: 'store.commandTimeout', type: 'duration', flag: 'store-command-timeout', default: 100, min: 1, doc: 'Longest wait for one Redis command; past it the request goes on without the shared tier' },
  { key: 'store.disk.dir', type: 'string', flag: 'disk-dir', doc: 'Directory of the disk tier (L2 behind the memory cache, kept across restarts; one process per directory)' },
  { key: 'store.disk.maxSize', type: 'bytes', flag: 'disk-size', default: 1024 * MiB, min: 1, doc: 'Total bytes the disk tier keeps; least recently used entries are evicted beyond it' }
]

/** The validated, frozen configuration. */
export interface Config {
  /** undefined when only routes name origins: unmatched requests then get 404 */
  origin: string | undefined
  routes: Route[]
  host: string
  port: number
  workers: number
  hostHeader: 'client' | 'origin'
  cacheName: string
  debug: boolean
  shutdownTimeout: number
  /** compress identity text responses for clients that accept a coding (proxy/compress.ts) */
  compress: boolean
  maxHeaderSize: number
  trustProxy: string[]
  tls: { cert: string | undefined, key: string | undefined }
  http2: { cleartext: boolean, maxConcurrentStreams: number, initialWindowSize: number, idleTimeout: number, maxResets: number }
  websocket: { idleTimeout: number, maxTunnels: number }
  cache: {
    maxSize: number
    maxEntrySize: number
    maxVariants: number
    heuristicFraction: number
    heuristicMaxAge: number
    keepStale: number
    staleIfErrorGrace: number
    setCookie: 'unless-public' | 'strip' | 'never' | 'store'
    ignoreClientNoCache: boolean
    requestCookies: 'store' | 'pass'
    overrideTtl: TtlTable
    minTtl: TtlTable
    maxTtl: TtlTable
    ignoreQuery: string[]
    keyHeaders: string[]
    keyCookies: string[]
    rangeFill: boolean
    targets: string[]
    stripTargets: string[]
  }
  /** header rewriting (src/config/headers.ts); a route's rules apply after these */
  headers: HeaderRules
  tags: { headers: string[], strip: boolean }
  purge: { method: boolean, allow: string[], soft: boolean }
  admin: { enabled: boolean, host: string, port: number, token: string | undefined, readyTimeout: number }
  collapse: { enabled: boolean, waitTimeout: number, hitForMiss: number }
  upstream: { connections: number, pipelining: number, keepAliveTimeout: number, allowH2: boolean, ca: string | undefined, queueTimeout: number, responseBuffer: number, responseBufferTotal: number }
  request: { bodyBuffer: number, maxBodySize: number }
  timeouts: { connect: number, headers: number, body: number, clientBody: number }
  log: {
    level: 'debug' | 'info' | 'warn' | 'error' | 'silent'
    access: boolean
    /** json: pino JSON lines; combined: nginx's combined format + the Cache-Status */
    format: 'json' | 'combined'
    accessSample: number
  }
  store: {
    /** the shared tier's URL (store/shared-url.ts), or undefined for none */
    shared: string | undefined
    prefix: string
    commandTimeout: number
    disk: { dir: string | undefined, maxSize: number }
  }
}

/**
 * cache.maxEntrySize when not set: an eighth of the cache, at most 8MiB, so that a small cache
 * still holds several entries; never below 64KiB (or the whole cache, if smaller).
 */
export function entrySizeFor (maxSize: number): number {
  return Math.min(8 * MiB, Math.max(Math.floor(maxSize / 8), Math.min(64 * 1024, maxSize)))
}

/**
 * Options a running process cannot take over on SIGHUP: they shape the listener, the store, the
 * worker processes or the upstream pools. Everything else applies to new requests at once.
 */
export const RESTART_KEYS: ReadonlySet<string> = new Set([
  'host', 'port', 'workers', 'maxHeaderSize', 'cache.maxSize', 'cache.maxEntrySize', 'cache.maxVariants', 'cache.keepStale',
  'collapse.enabled', 'collapse.waitTimeout', 'collapse.hitForMiss', 'upstream.connections', 'upstream.pipelining',
  'upstream.keepAliveTimeout', 'upstream.allowH2', 'upstream.ca', 'upstream.responseBufferTotal', 'timeouts.connect', 'admin.enabled', 'admin.host', 'admin.port',
  'log.access', 'log.format', 'log.accessSample', 'trustProxy', 'tls.cert', 'tls.key', 'http2.cleartext', 'http2.maxConcurrentStreams',
  'http2.initialWindowSize', 'http2.idleTimeout', 'http2.maxResets', 'websocket.idleTimeout', 'websocket.maxTunnels',
  'store.shared', 'store.prefix', 'store.commandTimeout', 'store.disk.dir', 'store.disk.maxSize'
])

/** Environment variable name for an option: FRESHGATE_ + the key in upper snake case. */
export function envName (key: string): string {
  return 'FRESHGATE_' + key.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
}
