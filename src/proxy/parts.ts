// Carrying out partial content (cache/partial.ts decides): keeping an upstream 206 as a part,
// merging it with the parts stored for the same representation (completing the entry when they
// cover it), and answering a Range request from stored parts.

import type { CacheControl } from '../http/cache-control.ts'
import { notStorableReason, currentAge } from '../cache/policy.ts'
import { storedHeaders, buildRecord, parseTags, flatHead, type Headers, type Variant } from '../cache/entry.ts'
import type { BodyWriter } from '../cache/contract.ts'
import { varyFields, secondaryKey } from '../cache/key.ts'
import { variantMatches } from '../cache/cache.ts'
import { PARTS_FIELD, partOf, partsOf, mergePart, isComplete, isPartial, covered, formatParts, type ContentRange, type Parts, type PartialPlan } from '../cache/partial.ts'
import type { ExchangeTimes } from '../cache/policy.ts'
import type { Ctx, Runtime } from './context.ts'
import { cacheStatus, logDone } from './respond.ts'

/** An upstream 206 to keep as a part. */
export interface PartResponse {
  statusMessage: string
  headers: Headers
  /** effective response directives */
  cc: CacheControl
  /** the targeted field that governed, if any */
  target: string | undefined
  times: ExchangeTimes
}

/**
 * A writer that keeps an upstream 206 as a part, or the reason it is not kept. A 206 is kept when
 * the same response as a 200 could be stored (RFC 9111 §3; §3.3 lets a cache store incomplete
 * responses) and partial.ts `partOf` accepts its Content-Range and validator.
 */
export function partWriter (rt: Runtime, ctx: Ctx, x: PartResponse): { writer: BodyWriter } | { reason: string } {
  const reason = notStorableReason({
    method: 'GET',
    status: 200,
    resHeaders: x.headers,
    resCC: x.cc,
    reqCC: ctx.reqCC,
    reqHasAuthorization: ctx.preq.headers.authorization !== undefined,
    targeted: x.target !== undefined,
    responseTime: x.times.responseTime
  }, rt.entryOptions)
  if (reason !== undefined) return { reason }
  const p = partOf(x.headers, rt.config.cache.maxEntrySize)
  if ('refused' in p) return { reason: p.refused }
  const want = p.part.end - p.part.start + 1
  const chunks: Buffer[] = []
  let n = 0
  return {
    writer: {
      // Bytes past the Content-Range are not kept; the part is then refused at the end.
      write: (chunk: Buffer): boolean => {
        n += chunk.length
        if (n <= want) chunks.push(chunk)
        return true
      },
      end: async (): Promise<void> => {
        if (n !== want) throw new Error(`206 body of ${n} bytes for a Content-Range of ${want}`)
        await storePart(rt, ctx, x, p.part, p.validator, Buffer.concat(chunks, n))
      },
      abort: (): void => { chunks.length = 0 }
    }
  }
}

/**
 * Merges a part into the stored parts of the variant the request selects and writes the result:
 * a partial variant, or, once the parts cover the representation, an ordinary 200. Rejects (so
 * nothing counts as stored) when a complete response is already stored, the parts conflict, or
 * the store refuses the entry.
 */
async function storePart (rt: Runtime, ctx: Ctx, x: PartResponse, part: ContentRange, validator: string, bytes: Buffer): Promise<void> {
  const cache = rt.cache!
  const variants = await cache.variants(ctx.key)
  const matching = variants.filter(v => variantMatches(v.record, ctx.preq.headers))
  // A complete response arrived meanwhile (a background fill): it answers every range already.
  if (matching.some(v => !isPartial(v.record))) throw new Error('a complete response is stored')
  const old = matching.find(v => isPartial(v.record))
  let stored: Parts | undefined
  if (old !== undefined) {
    const body = await cache.body(old)
    if (body !== undefined) stored = partsOf(old.record, body)
  }
  const merged = mergePart(stored, part, validator, bytes)
  if (merged.kind === 'conflict') {
    // Same validator, different bytes: the origin is inconsistent, so no part can be trusted.
    if (old !== undefined) await cache.remove(ctx.key, [old.record.id])
    throw new Error('stored parts conflict with a new part of the same validator')
  }
  const parts = merged.parts
  const complete = isComplete(parts)
  const headers = storedHeaders(x.headers, x.cc, rt.entryOptions, x.times.responseTime)
  delete headers['content-range']
  delete headers['content-length']
  // The field is ours: an origin's own is never taken for a description of the body.
  delete headers[PARTS_FIELD]
  if (complete) headers['content-length'] = String(parts.length)
  else headers[PARTS_FIELD] = formatParts(parts)
  const fields = varyFields(x.headers.vary)
  const writer = cache.put(buildRecord({
    key: ctx.key,
    status: complete ? 200 : 206,
    statusMessage: complete ? 'OK' : x.statusMessage,
    headers,
    bodySize: parts.body.length,
    cc: x.cc,
    target: x.target,
    varyFields: fields,
    varyKey: secondaryKey(fields, ctx.preq.headers),
    times: x.times,
    age: x.headers.age,
    tags: parseTags(x.headers, rt.config.tags.headers)
  }, rt.entryOptions), ctx.preq.headers, variants)
  if (writer === undefined) throw new Error('the store refused the parts')
  if (!writer.write(parts.body)) {
    writer.abort()
    throw new Error('the store refused the parts')
  }
  await writer.end()
}

/** Answers a Range request from stored parts: 206 with the covered bytes, or 416 (RFC 9110 §14.2, §15.5.17). */
export function servePart (rt: Runtime, ctx: Ctx, v: Variant, parts: Parts, plan: PartialPlan & { kind: 'serve' | 'unsatisfiable' }, now: number): void {
  const res = ctx.res
  if (res === undefined || res.destroyed) return
  const r = v.record
  const age = currentAge(r, now)
  const status = cacheStatus(rt.config.cacheName, { hit: true, ttl: r.lifetime - age, key: rt.config.debug ? ctx.key : undefined })
  const fields: Headers = {}
  for (const name in r.headers) {
    if (name !== PARTS_FIELD && name !== 'content-length' && name !== 'content-range') fields[name] = r.headers[name]
  }
  const head = flatHead(fields, rt.entryOptions.via)
  head.push('age', String(Math.floor(age / 1000)), 'cache-status', status)
  if (plan.kind === 'unsatisfiable') {
    head.push('content-range', `bytes */${plan.length}`, 'content-length', '0')
    res.writeHead(416, head)
    res.end()
    logDone(rt, ctx, 416, status, 'hit')
    return
  }
  const bytes = covered(parts, plan.start, plan.end)!
  head.push('content-range', `bytes ${plan.start}-${plan.end}/${plan.length}`, 'content-length', String(bytes.length))
  res.writeHead(206, head)
  res.end(bytes)
  ctx.bytes = bytes.length
  logDone(rt, ctx, 206, status, 'hit')
}
