// POST /purge: what a purge asks for (by URL, prefix, path pattern or tags; soft or hard),
// validated strictly, and carrying it out against the cache. URLs are keyed by the proxy's own key
// function; a pattern runs in a worker thread with a deadline, like a Varnish ban bounded in time.

import { Worker } from 'node:worker_threads'
import type { Config } from '../config/schema.ts'
import { pathOf, type Purge } from '../cache/cache.ts'
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
  return keyFor({ scheme: u.protocol.slice(0, -1), authority: u.host.toLowerCase(), target: u.pathname + u.search }, config)
}

/** What a purge asks for, validated. */
export type PurgeRequest =
  /** `keys` from absolute URLs; `paths` from bare paths, which match that path and query on any host */
  | { kind: 'urls', keys: string[], paths: string[], soft: boolean | undefined }
  | { kind: 'prefix', prefix: string, soft: boolean | undefined }
  | { kind: 'tags', tags: string[], soft: boolean | undefined }
  /** a regular expression on the path and query of every stored URL, any host */
  | { kind: 'pattern', pattern: string, soft: boolean | undefined }

const PURGE_FIELDS = new Set(['urls', 'prefix', 'pattern', 'tags', 'soft'])

/** Longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 256

/** Longest a pattern may take to match every stored path before the purge is refused, ms. */
export const PATTERN_DEADLINE_MS = 1000

/** Most stored URLs a pattern is matched against. */
export const MAX_PATTERN_KEYS = 100_000

/**
 * Validates a purge pattern: a JavaScript regular expression of at most MAX_PATTERN_LENGTH
 * characters, without backreferences (which no engine matches in bounded time). Other slow
 * patterns are stopped by the deadline when they run.
 */
export function parsePattern (p: unknown): string {
  if (typeof p !== 'string' || p === '') throw new AdminRefusal(400, `"pattern" must be a non-empty regular expression, got ${JSON.stringify(p)}`)
  if (p.length > MAX_PATTERN_LENGTH) throw new AdminRefusal(400, `"pattern" is ${p.length} characters long; at most ${MAX_PATTERN_LENGTH} are accepted`)
  if (/\\[1-9]|\\k</.test(p)) throw new AdminRefusal(400, `"pattern" must not use backreferences (\\1, \\k<name>), got ${JSON.stringify(p)}`)
  try {
    void new RegExp(p)
  } catch (err) {
    throw new AdminRefusal(400, `"pattern" is not a valid regular expression: ${(err as Error).message}`)
  }
  return p
}

/** Validates a POST /purge body; throws a 400 Refusal naming what is wrong. */
export function parsePurge (text: string, config: Config): PurgeRequest {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new AdminRefusal(400, `body is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AdminRefusal(400, 'body must be a JSON object with one of "urls", "prefix", "pattern" or "tags"')
  }
  const o = body as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!PURGE_FIELDS.has(k)) throw new AdminRefusal(400, `unknown field ${JSON.stringify(k)}: expected "urls", "prefix", "pattern" or "tags", and optionally "soft"`)
  }
  if (o.soft !== undefined && typeof o.soft !== 'boolean') throw new AdminRefusal(400, `"soft" must be true or false, got ${JSON.stringify(o.soft)}`)
  const soft = o.soft
  const given = ['urls', 'prefix', 'pattern', 'tags'].filter(k => o[k] !== undefined)
  if (given.length !== 1) throw new AdminRefusal(400, `exactly one of "urls", "prefix", "pattern" or "tags" is required, got ${given.length === 0 ? 'none' : given.join(' and ')}`)
  if (o.pattern !== undefined) return { kind: 'pattern', pattern: parsePattern(o.pattern), soft }
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
export function asPurge (p: Exclude<PurgeRequest, { kind: 'pattern' }>, soft: boolean): Purge {
  if (p.kind === 'prefix') return { kind: 'prefix', prefix: p.prefix, soft }
  if (p.kind === 'tags') return { kind: 'tags', tags: p.tags, soft }
  return { kind: 'urls', keys: p.keys, paths: p.paths, soft }
}

/**
 * A pattern purge as a purge of the keys it matches: the paths of at most MAX_PATTERN_KEYS stored
 * keys are matched in a worker thread, so a catastrophic pattern cannot stall the proxy (1 s deadline).
 */
export async function patternPurge (pattern: string, keys: readonly string[], soft: boolean): Promise<Purge> {
  const hits = await matchWithDeadline(pattern, keys.map(pathOf), PATTERN_DEADLINE_MS)
  return { kind: 'urls', keys: hits.map(i => keys[i]!), paths: [], soft }
}

/** The matcher run in the worker: the indexes of the paths the pattern matches. */
const MATCHER = `
const { parentPort, workerData } = require('node:worker_threads')
const re = new RegExp(workerData.pattern)
const hits = []
workerData.paths.forEach((p, i) => { if (re.test(p)) hits.push(i) })
parentPort.postMessage(hits)
`

/**
 * Matches a pattern against paths in a worker thread, which is terminated at the deadline: a
 * backtracking pattern can take exponential time, and the main thread serves traffic. Refuses
 * (400) a pattern that does not finish in time; nothing is purged then.
 */
export async function matchWithDeadline (pattern: string, paths: readonly string[], deadlineMs: number): Promise<number[]> {
  if (paths.length === 0) return []
  const worker = new Worker(MATCHER, { eval: true, workerData: { pattern, paths }, resourceLimits: { maxOldGenerationSizeMb: 64 } })
  try {
    return await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AdminRefusal(400, `"pattern" did not finish matching ${paths.length} stored URLs within ${deadlineMs}ms; nothing was purged (simplify the pattern)`)), deadlineMs)
      worker.once('message', (hits: number[]) => { clearTimeout(timer); resolve(hits) })
      worker.once('error', err => { clearTimeout(timer); reject(err) })
      worker.once('exit', code => { clearTimeout(timer); reject(new Error(`pattern worker exited with code ${code}`)) })
    })
  } finally {
    await worker.terminate()
  }
}
