// The operator's overrides of what the origin and the client say: TTLs per status code (like
// nginx's proxy_cache_valid and Varnish's beresp.ttl), client no-cache ignored (nginx), requests
// with cookies passed (Varnish's builtin). Pure: each is a deliberate, opt-in deviation from
// RFC 9111 that README "Standards" lists.

import type { CacheControl } from '../http/cache-control.ts'
import { freshnessLifetime, type PolicyOptions } from './policy.ts'

/**
 * TTLs in ms by status code: keys are three-digit status codes ("200", "404") or "any" for every
 * other status. The most specific key wins.
 */
export type TtlTable = Readonly<Record<string, number>>

/** The TTL a table gives a status, or undefined. */
export function ttlFor (table: TtlTable, status: number): number | undefined {
  return table[String(status)] ?? table.any
}

/**
 * Validates a TTL table: a mapping (or its JSON text) of status code or "any" to a duration.
 * `duration` reads one value (and throws the config error for it); `fail` throws for the table.
 */
export function parseTtlTable (raw: unknown, duration: (v: unknown, key: string) => number, fail: (what: string, v: unknown) => never, key: string): TtlTable {
  let table = raw
  if (typeof raw === 'string') {
    try { table = JSON.parse(raw) } catch { return fail(key, raw) }
  }
  if (table === null || typeof table !== 'object' || Array.isArray(table)) return fail(key, raw)
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(table)) {
    if (k !== 'any' && !(/^[1-5]\d\d$/.test(k))) return fail(`${key}.${k}`, v)
    out[k] = duration(v, `${key}.${k}`)
  }
  return out
}

/** A route's TTL rules (each a TtlTable, empty for none). */
export interface TtlRules {
  /** replaces the freshness lifetime the origin gave */
  overrideTtl: TtlTable
  /** raises a shorter freshness lifetime to this */
  minTtl: TtlTable
  /** lowers a longer freshness lifetime to this */
  maxTtl: TtlTable
}

/** Which rule changed a response's freshness lifetime; the Cache-Status `detail`. */
export type TtlDetail =
  /** cache.overrideTtl replaced it */
  | 'ttl-override'
  /** cache.minTtl raised it */
  | 'ttl-min'
  /** cache.maxTtl lowered it */
  | 'ttl-max'

/**
 * Applies the operator's TTL rules to a response's effective directives: an override replaces the
 * freshness lifetime, else a minimum raises it and a maximum lowers it. The lifetime is carried as
 * max-age (and s-maxage when the response had one, which keeps its proxy-revalidate meaning). The
 * rules change freshness only: no-store, private, no-cache and must-revalidate still apply.
 * A deviation from RFC 9111 §4.2.1 the operator asks for; README "Standards" lists it.
 */
export function applyTtlRules (
  cc: CacheControl, headers: Record<string, string | string[] | undefined>, status: number,
  rules: TtlRules, opts: PolicyOptions, targeted: boolean, received: number
): { cc: CacheControl, detail: TtlDetail | undefined } {
  const override = ttlFor(rules.overrideTtl, status)
  if (override !== undefined) return { cc: withLifetime(cc, override), detail: 'ttl-override' }
  const min = ttlFor(rules.minTtl, status)
  const max = ttlFor(rules.maxTtl, status)
  if (min === undefined && max === undefined) return { cc, detail: undefined }
  const lifetime = freshnessLifetime(status, headers, cc, opts, targeted, received)
  if (min !== undefined && lifetime < min) return { cc: withLifetime(cc, min), detail: 'ttl-min' }
  if (max !== undefined && lifetime > max) return { cc: withLifetime(cc, max), detail: 'ttl-max' }
  return { cc, detail: undefined }
}

function withLifetime (cc: CacheControl, ms: number): CacheControl {
  const s = Math.floor(ms / 1000)
  return { ...cc, maxAge: s, ...(cc.sMaxAge === undefined ? {} : { sMaxAge: s }) }
}

/**
 * The request directives the cache acts on: with `ignoreClientNoCache`, a client's no-cache (and
 * Pragma: no-cache) no longer forces revalidation, as nginx behaves. A deviation from RFC 9111
 * §5.2.1.4 the operator asks for. Other directives (max-age, no-store…) are kept.
 */
export function clientDirectives (reqCC: CacheControl, pragma: boolean, ignoreClientNoCache: boolean): { reqCC: CacheControl, pragma: boolean } {
  if (!ignoreClientNoCache || (!reqCC.noCache && !pragma)) return { reqCC, pragma }
  return { reqCC: reqCC.noCache ? { ...reqCC, noCache: false } : reqCC, pragma: false }
}
