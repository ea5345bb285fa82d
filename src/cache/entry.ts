// Stored variants: building a serialisable record from an upstream response (freshness computed
// once, at store time), freshening it from a 304 or HEAD, and the heads prepared for serving hits,
// kept apart from the record and memoised on the variant by tiers that hand out one object.

import type { CacheControl } from '../http/cache-control.ts'
import { hopByHopFor } from '../http/hop-by-hop.ts'
import { formatHttpDate, parseHttpDate } from '../http/dates.ts'
import { firstValue, appendMember, singleField } from '../http/fields.ts'
import { freshnessLifetime, correctedInitialAge, keepUntil, type PolicyOptions, type KeepOptions, type ExchangeTimes } from './policy.ts'
import type { Headers, StoredRecord, Variant } from './contract.ts'

export type { Headers, StoredRecord, Variant } from './contract.ts'

/** Settings that shape stored records and heads. */
export interface EntryOptions extends PolicyOptions, KeepOptions {
  /** fields removed before a response reaches clients (targeted fields meant for this cache) */
  stripFields: readonly string[]
  /** our Via entry, e.g. "1.1 freshgate" */
  via: string
}

/** Fields never copied into a stored response, beyond the hop-by-hop ones (RFC 9111 §3.1); Set-Cookie too unless `setCookie: store`. */
const NOT_STORED = new Set(['age', 'set-cookie'])

/** Fields a 304 from the origin does not overwrite in the stored response (RFC 9111 §3.2). */
const NOT_UPDATED = new Set(['content-length', 'content-encoding', 'content-range', 'transfer-encoding', 'set-cookie', 'age'])

/** Fields a 304 answer to a client carries (RFC 9110 §15.4.5). */
const FIELDS_304 = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary']
const FIELDS_304_NO_ETAG = [...FIELDS_304, 'last-modified']

/**
 * The representation fields a 304 carries (RFC 9110 §15.4.5); Last-Modified only without an ETag
 * ("might be useful if the response does not have an ETag field").
 */
export function fields304 (hasETag: boolean): readonly string[] {
  return hasETag ? FIELDS_304 : FIELDS_304_NO_ETAG
}

/**
 * Copies response headers for storage: without hop-by-hop fields (§3.1), fields named by
 * private= or no-cache= (§5.2.2.7, §5.2.2.4: stored without them rather than revalidated),
 * Set-Cookie (never served to another client, unless the operator chose `setCookie: store`), Age
 * (recomputed) and targeted fields meant for us.
 * Adds Date when the origin sent none, and replaces an invalid or repeated one, with the time of
 * receipt (RFC 9110 §6.6.1: "MAY replace that value with the time that response was received"),
 * so age and freshness count from receipt rather than making the response stale.
 * https://www.rfc-editor.org/rfc/rfc9110#section-6.6.1
 */
export function storedHeaders (src: Headers, cc: CacheControl, opts: EntryOptions, responseTime: number): Headers {
  const drop = hopByHopFor(src.connection)
  const out: Headers = {}
  for (const name in src) {
    const v = src[name]
    if (v === undefined || drop.has(name) || opts.stripFields.includes(name)) continue
    if (NOT_STORED.has(name) && !(name === 'set-cookie' && opts.setCookie === 'store')) continue
    if (cc.privateFields?.includes(name) === true || cc.noCacheFields?.includes(name) === true) continue
    out[name] = v
  }
  if (parseHttpDate(singleField(out.date)) === undefined) out.date = formatHttpDate(responseTime)
  return out
}

/** Reads surrogate keys from the configured fields: space- or comma-separated, de-duplicated. */
export function parseTags (headers: Headers, fields: readonly string[]): string[] {
  const tags = new Set<string>()
  for (const f of fields) {
    const v = headers[f]
    if (v === undefined) continue
    for (const line of Array.isArray(v) ? v : [v]) for (const tag of line.split(/[\s,]+/)) if (tag !== '') tags.add(tag)
  }
  return [...tags]
}

/** Flattens a header map into writeHead's [name, value, …] form, appending our Via. */
export function flatHead (headers: Headers, via: string, only?: readonly string[]): string[] {
  const head: string[] = []
  const names = only ?? Object.keys(headers)
  for (const name of names) {
    const v = headers[name]
    if (v === undefined || name === 'via') continue
    if (Array.isArray(v)) for (const x of v) head.push(name, x)
    else head.push(name, v)
  }
  head.push('via', appendMember(headers.via, via))
  return head
}


/** Input for building a stored record. */
export interface BuildInput {
  /** primary key */
  key: string
  status: number
  statusMessage: string
  /** headers already filtered by storedHeaders() */
  headers: Headers
  /** body length when known (Content-Length), else -1; the store sets the written length */
  bodySize: number
  cc: CacheControl
  target: string | undefined
  varyFields: readonly string[]
  varyKey: string
  times: ExchangeTimes
  /** the Age field as received (storedHeaders drops it; §4.2.3 needs it) */
  age: string | string[] | undefined
  /** surrogate keys (tags) */
  tags: readonly string[]
  /** the variant id; a new one unless freshening */
  id?: string
}

/** Builds a stored record, computing its freshness and keep-until once. */
export function buildRecord (x: BuildInput, opts: EntryOptions): StoredRecord {
  // The time of receipt stands in for a missing or invalid Date (RFC 9110 §6.6.1, RFC 9111 §4.2.1).
  const lifetime = freshnessLifetime(x.status, x.headers, x.cc, opts, x.target !== undefined, x.times.responseTime)
  const initialAge = correctedInitialAge({ date: x.headers.date, age: x.age }, x.times)
  const etag = firstValue(x.headers.etag)
  const lastModified = firstValue(x.headers['last-modified'])
  const fresh = { lifetime, initialAge, responseTime: x.times.responseTime, cc: x.cc, etag, lastModified }
  return {
    id: x.id ?? crypto.randomUUID(),
    key: x.key,
    status: x.status,
    statusMessage: x.statusMessage,
    headers: x.headers,
    varyFields: x.varyFields,
    varyKey: x.varyKey,
    target: x.target,
    cc: x.cc,
    lifetime,
    initialAge,
    responseTime: x.times.responseTime,
    keepUntil: keepUntil(fresh, opts),
    etag,
    lastModified,
    date: firstValue(x.headers.date),
    tags: x.tags,
    bodySize: x.bodySize
  }
}

/**
 * Freshens a stored record with the header fields of a 304 (or of a HEAD response): every field
 * replaces the stored one except those the stored response depends on (RFC 9111 §3.2), and
 * freshness restarts from the new exchange's times (§4.3.4). The variant keeps its id and body.
 * https://www.rfc-editor.org/rfc/rfc9111#section-3.2
 */
export function freshen (stored: StoredRecord, update: Headers, age: string | string[] | undefined, cc: CacheControl, target: string | undefined, times: ExchangeTimes, opts: EntryOptions): StoredRecord {
  const headers: Headers = { ...stored.headers }
  for (const name in update) {
    if (NOT_UPDATED.has(name) || update[name] === undefined) continue
    headers[name] = update[name]
  }
  // §4.3.4: fields the 304 omits keep their stored values, so a 304 without Cache-Control (or
  // without a targeted field, when one governed) leaves the stored directives in force.
  if (target === undefined && (stored.target !== undefined || update['cache-control'] === undefined)) {
    cc = stored.cc
    target = stored.target
  }
  return buildRecord({
    id: stored.id,
    key: stored.key,
    status: stored.status,
    statusMessage: stored.statusMessage,
    headers,
    bodySize: stored.bodySize,
    cc,
    target,
    varyFields: stored.varyFields,
    varyKey: stored.varyKey,
    times,
    age,
    tags: stored.tags
  }, opts)
}

/** A copy of a stored record that is stale from `now` on (soft purge). */
export function markStale (r: StoredRecord, now: number): StoredRecord {
  return { ...r, lifetime: Math.min(r.lifetime, r.initialAge + Math.max(0, now - r.responseTime)) }
}

/** The heads a hit is served with, prepared once per variant. */
export interface Prepared {
  /** the Via member they were built with (a reload may change it) */
  via: string
  /** flat [name, value, …] list for a 200/HEAD answer, without Age and Cache-Status */
  head: string[]
  /** the same for a 304 answer (RFC 9110 §15.4.5 fields only) */
  head304: string[]
  /** a body of at most TEXT_BODY_MAX bytes as a latin1 string (byte for byte), else undefined */
  text: string | undefined
}

/**
 * Bodies up to this size are also kept as a latin1 string: node:http writes a string body and the
 * head as one string in one write(), where a Buffer body costs a writev of the two (~8 % of a
 * 1 KiB hit's CPU; bench/README.md). The memory store counts these bodies twice.
 */
export const TEXT_BODY_MAX = 4096

/** The serving heads of a variant, built on first use and memoised on it. */
export function prepared (v: Variant, via: string): Prepared {
  const p = v.prepared as Prepared | undefined
  if (p !== undefined && p.via === via) return p
  const r = v.record
  let headers = r.headers
  // A stored body's length is known: hits go out with Content-Length, not chunked.
  if (headers['content-length'] === undefined && r.status !== 204 && r.status !== 304) headers = { ...headers, 'content-length': String(r.bodySize) }
  const body = v.body
  const next: Prepared = {
    via,
    head: flatHead(headers, via),
    head304: flatHead(headers, via, fields304(r.etag !== undefined)),
    text: body !== undefined && body.length > 0 && body.length <= TEXT_BODY_MAX ? body.toString('latin1') : undefined
  }
  v.prepared = next
  return next
}
