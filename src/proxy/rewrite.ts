// The operator's header rewriting (config/headers.ts) carried out: on the fields of a request sent
// to the origin, and on the head of every response written to a client — forwarded, served from
// the cache, or freshgate's own — by wrapping that response's writeHead once.

import type { ServerResponse } from 'node:http'
import { noRules, type FieldRules, type HeaderRules } from '../config/headers.ts'

/** The rules that apply to a request: the global ones, then its route's. Empty when none. */
export function rulesFor (global: HeaderRules, route: HeaderRules | undefined, d: 'request' | 'response'): FieldRules[] {
  const out: FieldRules[] = []
  if (!noRules(global[d])) out.push(global[d])
  if (route !== undefined && !noRules(route[d])) out.push(route[d])
  return out
}

/** Applies rules to a flat [name, value, …] head (lowercase names), returning a new one. */
export function rewriteHead (head: readonly string[], rules: readonly FieldRules[]): string[] {
  let out = [...head]
  for (const r of rules) {
    const drop = new Set([...r.remove, ...Object.keys(r.set)])
    const next: string[] = []
    for (let i = 0; i < out.length; i += 2) {
      if (!drop.has(out[i]!.toLowerCase())) next.push(out[i]!, out[i + 1]!)
    }
    for (const name in r.set) next.push(name, r.set[name]!)
    for (const name in r.add) next.push(name, r.add[name]!)
    out = next
  }
  return out
}

type HeadArg = string[] | Record<string, string | number | string[] | undefined>

/** A head given to writeHead as a map or a flat list, as a flat list with lowercase names. */
function flat (h: HeadArg | undefined): string[] {
  if (h === undefined) return []
  if (Array.isArray(h)) return h.map((x, i) => i % 2 === 0 ? x.toLowerCase() : x)
  const out: string[] = []
  for (const name in h) {
    const v = h[name]
    if (v === undefined) continue
    if (Array.isArray(v)) for (const x of v) out.push(name.toLowerCase(), x)
    else out.push(name.toLowerCase(), String(v))
  }
  return out
}

/**
 * Makes every head written to `res` go through the response rules. Every writer calls
 * res.writeHead with the whole head (a map or a flat list), so one wrapper covers them all.
 */
export function rewriteResponses (res: ServerResponse, rules: readonly FieldRules[]): void {
  if (rules.length === 0) return
  const writeHead = res.writeHead.bind(res) as (status: number, message: string | undefined, head: string[]) => ServerResponse
  res.writeHead = ((status: number, a?: string | HeadArg, b?: HeadArg): ServerResponse => {
    const message = typeof a === 'string' ? a : undefined
    const head = typeof a === 'string' || a === undefined ? b : a
    return writeHead(status, message, rewriteHead(flat(head), rules))
  }) as ServerResponse['writeHead']
}
