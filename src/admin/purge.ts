// POST /purge: what a purge asks for (by URL, prefix or tags; soft or hard), validated strictly,
// and carrying it out against the cache. URLs are keyed by the proxy's own key function.

import type { Config } from '../config/schema.ts'
import type { Purge } from '../cache/cache.ts'
import { keyFor, primaryKey } from '../cache/key.ts'
import { AdminRefusal } from './refusal.ts'

/** Parses an absolute http(s) URL, or undefined. */
export function absoluteUrl (text: unknown): URL | undefined {
  if (typeof text !== 'string') return undefined
  try {
    const u = new URL(text)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined
  } catch {
    return undefined
  }
}

/** The primary key the proxy uses for a URL (cache/key.ts keyFor, the proxy's own function). */
function keyOf (u: URL, config: Config): string {
  return keyFor({ scheme: u.protocol.slice(0, -1), authority: u.host.toLowerCase(), target: u.pathname + u.search }, config.routes)
}

/** What a purge asks for, validated. */
export type PurgeRequest =
  /** `keys` from absolute URLs; `paths` from bare paths, which match that path and query on any host */
  | { kind: 'urls', keys: string[], paths: string[], soft: boolean | undefined }
  | { kind: 'prefix', prefix: string, soft: boolean | undefined }
  | { kind: 'tags', tags: string[], soft: boolean | undefined }

const PURGE_FIELDS = new Set(['urls', 'prefix', 'tags', 'soft'])

/** Validates a POST /purge body; throws a 400 Refusal naming what is wrong. */
export function parsePurge (text: string, config: Config): PurgeRequest {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new AdminRefusal(400, `body is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AdminRefusal(400, 'body must be a JSON object with one of "urls", "prefix" or "tags"')
  }
  const o = body as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!PURGE_FIELDS.has(k)) throw new AdminRefusal(400, `unknown field ${JSON.stringify(k)}: expected "urls", "prefix" or "tags", and optionally "soft"`)
  }
  if (o.soft !== undefined && typeof o.soft !== 'boolean') throw new AdminRefusal(400, `"soft" must be true or false, got ${JSON.stringify(o.soft)}`)
  const soft = o.soft
  const given = ['urls', 'prefix', 'tags'].filter(k => o[k] !== undefined)
  if (given.length !== 1) throw new AdminRefusal(400, `exactly one of "urls", "prefix" or "tags" is required, got ${given.length === 0 ? 'none' : given.join(' and ')}`)
  if (o.urls !== undefined) {
    if (!Array.isArray(o.urls) || o.urls.length === 0) throw new AdminRefusal(400, '"urls" must be a non-empty array of absolute http(s) URLs or paths starting with "/"')
    const keys: string[] = []
    const paths: string[] = []
    o.urls.forEach((v: unknown, i) => {
      // A bare path names that path on every host, as a prefix does: what a single-origin sidecar means.
      if (typeof v === 'string' && v.startsWith('/') && !v.startsWith('//')) return paths.push(v)
      const u = absoluteUrl(v)
      if (u === undefined) throw new AdminRefusal(400, `"urls"[${i}]: ${JSON.stringify(v)} is neither an absolute http(s) URL nor a path starting with "/"`)
      keys.push(keyOf(u, config))
    })
    return { kind: 'urls', keys, paths, soft }
  }
  if (o.prefix !== undefined) {
    const p = o.prefix
    if (typeof p === 'string' && p.startsWith('/')) return { kind: 'prefix', prefix: p, soft }
    const u = absoluteUrl(p)
    if (u === undefined) throw new AdminRefusal(400, `"prefix" must be a path starting with "/" (any host) or an absolute http(s) URL, got ${JSON.stringify(p)}`)
    // A prefix is matched against stored keys as written: no route shapes it.
    return { kind: 'prefix', prefix: primaryKey(u.protocol.slice(0, -1), u.host, u.pathname + u.search), soft }
  }
  if (!Array.isArray(o.tags) || o.tags.length === 0 || !o.tags.every((t: unknown) => typeof t === 'string' && t !== '')) {
    throw new AdminRefusal(400, '"tags" must be a non-empty array of non-empty strings')
  }
  return { kind: 'tags', tags: o.tags as string[], soft }
}

/** A validated purge request with its softness settled: what every replica carries out. */
export function asPurge (p: PurgeRequest, soft: boolean): Purge {
  if (p.kind === 'prefix') return { kind: 'prefix', prefix: p.prefix, soft }
  if (p.kind === 'tags') return { kind: 'tags', tags: p.tags, soft }
  return { kind: 'urls', keys: p.keys, paths: p.paths, soft }
}
