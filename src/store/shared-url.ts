// Reads `store.shared`: where the shared Redis/Valkey tier is, as one URL. Three forms, so one
// setting covers a single server, a Sentinel-managed primary and a Cluster:
//   redis://[user:pass@]host:port[/db]                        one server (rediss:// for TLS)
//   redis+sentinel://[user:pass@]h1:26379,h2:26379/name[/db]  the primary Sentinel names `name`
//   redis+cluster://[user:pass@]h1:7000,h2:7001               seed nodes of a Cluster (no db: Cluster has only 0)
// Credentials are the data nodes' (`user:pass@` for a Redis ≥ 6 ACL user, `:pass@` for a password
// alone); Sentinels are asked without them.

import { ConfigError } from '../errors.ts'

/** One host and port. */
export interface HostPort { host: string, port: number }

/** A parsed `store.shared` value. */
export interface SharedTarget {
  /** how the client finds its server */
  mode:
    /** one server */
    | 'single'
    /** ask the Sentinels for the current primary of `name` */
    | 'sentinel'
    /** discover the Cluster's slots from the seed nodes */
    | 'cluster'
  /** rediss: TLS to the data nodes */
  tls: boolean
  /** the server (single), the Sentinels, or the Cluster seeds; at least one */
  nodes: HostPort[]
  username: string | undefined
  password: string | undefined
  /** logical database (not in cluster mode) */
  db: number
  /** the Sentinel master name (sentinel mode only) */
  name: string | undefined
}

const EXPECTED = 'redis://[user:pass@]host:port[/db], rediss://…, redis+sentinel://host:port,host:port/mastername[/db] or redis+cluster://host:port,host:port'

/** Parses a `store.shared` URL; throws ConfigError naming the key, the value and the accepted forms. */
export function parseSharedTarget (text: string, key = 'store.shared'): SharedTarget {
  const fail = (why: string): never => { throw new ConfigError(key, text, `${EXPECTED} (${why})`) }
  const m = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(?:([^@/]*)@)?([^/?#@]+)(?:\/([^?#]*))?$/i.exec(text.trim())
  if (m === null) return fail('not of a known form')
  const tls = m[1]!.toLowerCase() === 'rediss'
  const mode = (m[2]?.toLowerCase() ?? 'single') as SharedTarget['mode']
  let username: string | undefined
  let password: string | undefined
  if (m[3] !== undefined && m[3] !== '') {
    const colon = m[3].indexOf(':')
    const user = colon === -1 ? m[3] : m[3].slice(0, colon)
    username = user === '' ? undefined : decodeURIComponent(user)
    password = colon === -1 ? undefined : decodeURIComponent(m[3].slice(colon + 1))
  }
  const nodes = m[4]!.split(',').map(h => hostPort(h, fail))
  if (mode === 'single' && nodes.length !== 1) fail('one host:port, or use redis+sentinel:// or redis+cluster:// for several')
  const path = (m[5] ?? '').split('/').filter(s => s !== '')
  let name: string | undefined
  if (mode === 'sentinel') {
    name = path.shift()
    if (name === undefined) fail('a sentinel URL names the master after the hosts, e.g. /mymaster')
  }
  let db = 0
  if (path.length > 0) {
    if (mode === 'cluster') fail('a cluster has no database number')
    if (path.length > 1 || !/^\d{1,5}$/.test(path[0]!)) fail('the database is a number, e.g. /0')
    db = Number(path[0])
  }
  return { mode, tls, nodes, username, password, db, name }
}

/** "host:port" or "[v6]:port"; the port defaults to 6379. */
function hostPort (text: string, fail: (why: string) => never): HostPort {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(text.trim())
  if (m === null) return fail(`"${text}" is not host:port`)
  const port = m[2] === undefined ? 6379 : Number(m[2])
  if (port < 1 || port > 65535) fail(`port ${port} out of range`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

/** A `store.prefix` is put before every Redis key; braces would change the Cluster hash slot, so they are refused. */
export function checkPrefix (prefix: string, key = 'store.prefix'): string {
  if (prefix.includes('{') || prefix.includes('}')) throw new ConfigError(key, prefix, 'a key prefix without { or } (they would change the Redis Cluster hash slot)')
  return prefix
}
