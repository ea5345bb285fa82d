// What a forwarded response implies beyond its own answer: the directives it is stored with, the
// invalidation an unsafe method's success causes (RFC 9111 §4.4), and HEAD freshening (§4.3.5).

import { effectiveDirectives, type EffectiveDirectives } from '../http/targeted.ts'
import { withDefaultTtl } from '../cache/policy.ts'
import { applyTtlRules } from '../cache/overrides.ts'
import { storedHeaders, freshen, type Headers } from '../cache/entry.ts'
import { keyFor } from '../cache/key.ts'
import { isPartial } from '../cache/partial.ts'
import type { Ctx, Runtime } from './context.ts'

/** The effective directives and the TTL rules' outcome for a response. */
export interface Directives {
  eff: EffectiveDirectives
  ttl: ReturnType<typeof applyTtlRules>
}

/**
 * The directives a response is stored and freshened with: the targeted field or Cache-Control,
 * then the route's default TTL and the operator's TTL rules (cache/overrides.ts).
 */
export function directivesFor (rt: Runtime, ctx: Ctx, headers: Headers, status: number, now: number): Directives {
  const route = ctx.route.route
  const eff = responseDirectives(headers, rt.config.cache.targets)
  const targeted = eff.target !== undefined
  const ttl = applyTtlRules(withDefaultTtl(eff.cc, headers, route.cache.defaultTtl, targeted), headers, status,
    ctx.route.settings, rt.entryOptions, targeted, now)
  return { eff, ttl }
}

/** Parsed Cache-Control values of responses without a targeted field, by value; bounded. */
const parsed = new Map<string, EffectiveDirectives>()
const MAX_PARSED = 256

/**
 * A response's effective directives (http/targeted.ts). An origin sends the same few
 * Cache-Control values over and over: a response without a targeted field reuses the parse of
 * its value (parsed directives are never modified).
 */
export function responseDirectives (headers: Headers, targets: readonly string[]): EffectiveDirectives {
  const value = headers['cache-control']
  if (typeof value !== 'string') return effectiveDirectives(headers, targets)
  for (const t of targets) if (headers[t] !== undefined) return effectiveDirectives(headers, targets)
  let eff = parsed.get(value)
  if (eff === undefined) {
    eff = effectiveDirectives(headers, targets)
    if (parsed.size >= MAX_PARSED) parsed.clear()
    parsed.set(value, eff)
  }
  return eff
}

/**
 * RFC 9111 §4.4: a non-error response to an unsafe method invalidates the target URI and the URIs
 * in Location and Content-Location "only ... if the host part is the same as in the target URI".
 */
export function invalidateTarget (rt: Runtime, ctx: Ctx, headers: Headers): void {
  const cache = rt.cache!
  void cache.invalidate(ctx.key)
  const base = `${ctx.preq.scheme}://${ctx.preq.authority}${ctx.preq.target}`
  for (const field of ['location', 'content-location']) {
    const v = headers[field]
    if (typeof v !== 'string') continue
    let u: URL
    try { u = new URL(v, base) } catch { continue }
    if (u.protocol === `${ctx.preq.scheme}:` && u.host.toLowerCase() === ctx.preq.authority) {
      void cache.invalidate(keyFor({ scheme: ctx.preq.scheme, authority: u.host.toLowerCase(), target: u.pathname + u.search }, rt.config))
    }
  }
}

/**
 * HEAD freshening (RFC 9111 §4.3.5): a HEAD response updates the stored GET it matches, or
 * invalidates it when its validators or Content-Length show the representation changed.
 */
export async function freshenFromHead (rt: Runtime, ctx: Ctx, h: Headers, requestTime: number, now: number): Promise<void> {
  let found = rt.cache!.lookup(ctx.key, ctx.preq.headers)
  if (found instanceof Promise) found = await found
  const entry = found.entry?.record
  // Parts are not a response a HEAD describes; they keep their own validator checks (parts.ts).
  if (entry === undefined || isPartial(entry)) return
  const changed = (name: string, stored: string | string[] | undefined): boolean => h[name] !== undefined && h[name] !== stored
  if (changed('etag', entry.etag) || changed('last-modified', entry.lastModified) || changed('content-length', entry.headers['content-length'] ?? String(entry.bodySize))) {
    await rt.cache!.remove(ctx.key, [entry.id])
    return
  }
  // The same directives a GET response gets, so a HEAD does not undo the operator's TTLs.
  const { eff: { target }, ttl: { cc } } = directivesFor(rt, ctx, h, 200, now)
  const update = storedHeaders(h, cc, rt.entryOptions, now)
  await rt.cache!.update([freshen(entry, update, h.age, cc, target, { requestTime, responseTime: now }, rt.entryOptions)])
}
