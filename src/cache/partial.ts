// Partial content (RFC 9111 §3.3, §3.4): which 206 responses may be kept as parts, how parts of
// one representation combine, and what a Range request can be answered with from them. Pure.
// A partial variant is an ordinary StoredRecord (status 206) whose `freshgate-parts` field says
// which byte ranges its body holds, in order; so every tier (memory, Redis, disk) holds it as is.

import type { Headers, StoredRecord } from './contract.ts'
import { firstValue, singleField } from '../http/fields.ts'
import { parseETag } from '../http/conditional.ts'
import { parseHttpDate } from '../http/dates.ts'
import { evaluateRange } from '../http/range.ts'

/** The stored field listing the byte ranges a partial variant's body holds: "0-99,200-299/1000". */
export const PARTS_FIELD = 'freshgate-parts'

/** A byte range, both ends inclusive (RFC 9110 §14.1.1). */
export interface ByteRange { start: number, end: number }

/** A parsed single-part Content-Range: bytes start-end/length (RFC 9110 §14.4). */
export interface ContentRange extends ByteRange {
  /** the complete length of the representation */
  length: number
}

/** Parts of one representation: disjoint, non-adjacent ranges in order, their bytes concatenated. */
export interface Parts {
  /** the complete length of the representation */
  length: number
  /** the strong validator every part carried (see `strongValidator`) */
  validator: string
  ranges: readonly ByteRange[]
  /** the ranges' bytes, in order */
  body: Buffer
}

/** Why a 206 was not kept as a part (Cache-Status detail). */
export type PartRefusal =
  /** multipart/byteranges: several ranges in one response are not stored */
  | 'multipart'
  /** Content-Range missing, unsatisfied ("*"), malformed, or without a complete length */
  | 'content-range'
  /** Content-Length disagrees with the Content-Range */
  | 'length-mismatch'
  /** no strong validator, so parts could never be combined safely (§3.4) */
  | 'weak-validator'
  /** the complete representation is larger than the per-entry limit */
  | 'too-large'

// Up to 15 digits keeps every offset a safe integer.
const CONTENT_RANGE = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/

/** Parses a single satisfied Content-Range with a known complete length; undefined otherwise. */
export function parseContentRange (value: string | string[] | undefined): ContentRange | undefined {
  const v = singleField(value)
  if (v === undefined) return undefined
  const m = CONTENT_RANGE.exec(v.trim())
  if (m === null) return undefined
  const start = Number(m[1])
  const end = Number(m[2])
  const length = Number(m[3])
  // "A Content-Range field value is invalid if ... last-pos ... is less than its first-pos, or
  // the complete-length is less than or equal to its last-pos" (RFC 9110 §14.4).
  if (end < start || length <= end) return undefined
  return { start, end, length }
}

/** Date must be this far past Last-Modified for a cache to treat Last-Modified as strong (RFC 9110 §8.8.2.2). */
const STRONG_LM_MS = 60_000

/**
 * The strong validator of a response, as a string two responses share only when §3.4 lets them
 * combine: a strong ETag; or, with no ETag at all, a Last-Modified that RFC 9110 §8.8.2.2 lets an
 * intermediate cache treat as strong (its Date at least 60 seconds later). A weak ETag makes the
 * response unmergeable even with Last-Modified: the origin said its bytes may differ.
 * https://www.rfc-editor.org/rfc/rfc9110#section-8.8.2.2
 */
export function strongValidator (headers: Headers): string | undefined {
  const et = singleField(headers.etag)
  if (et !== undefined) {
    const tag = parseETag(et)
    return tag === undefined || tag.weak ? undefined : `etag:${tag.tag}`
  }
  const lm = firstValue(headers['last-modified'])
  const lmAt = parseHttpDate(lm)
  const dateAt = parseHttpDate(firstValue(headers.date))
  if (lmAt === undefined || dateAt === undefined) return undefined
  if (dateAt - lmAt < STRONG_LM_MS) return undefined
  return `lm:${lm!}`
}

/**
 * The part a 206 carries, or why it cannot be kept. `maxEntrySize` bounds the complete length, so
 * parts are only kept for a representation that could be stored whole.
 */
export function partOf (headers: Headers, maxEntrySize: number): { part: ContentRange, validator: string } | { refused: PartRefusal } {
  const type = firstValue(headers['content-type'])
  if (type !== undefined && /^\s*multipart\/byteranges/i.test(type)) return { refused: 'multipart' }
  const part = parseContentRange(headers['content-range'])
  if (part === undefined) return { refused: 'content-range' }
  const cl = headers['content-length']
  if (cl !== undefined && (typeof cl !== 'string' || Number(cl) !== part.end - part.start + 1)) return { refused: 'length-mismatch' }
  const validator = strongValidator(headers)
  if (validator === undefined) return { refused: 'weak-validator' }
  if (part.length > maxEntrySize) return { refused: 'too-large' }
  return { part, validator }
}

/** Formats the PARTS_FIELD value. */
export function formatParts (p: Pick<Parts, 'ranges' | 'length'>): string {
  return p.ranges.map(r => `${r.start}-${r.end}`).join(',') + '/' + p.length
}

/**
 * The parts a stored partial variant holds, or undefined when its record does not describe its
 * body (a malformed field, or a body of the wrong size): such a variant is not used.
 */
export function partsOf (record: StoredRecord, body: Buffer): Parts | undefined {
  const v = singleField(record.headers[PARTS_FIELD])
  const validator = strongValidator(record.headers)
  if (v === undefined || validator === undefined) return undefined
  const m = /^([\d,-]+)\/(\d{1,15})$/.exec(v)
  if (m === null) return undefined
  const length = Number(m[2])
  const ranges: ByteRange[] = []
  let size = 0
  for (const s of m[1]!.split(',')) {
    const r = /^(\d{1,15})-(\d{1,15})$/.exec(s)
    if (r === null) return undefined
    const start = Number(r[1])
    const end = Number(r[2])
    const prev = ranges.at(-1)
    if (end < start || end >= length || (prev !== undefined && start <= prev.end + 1)) return undefined
    ranges.push({ start, end })
    size += end - start + 1
  }
  if (size !== body.length) return undefined
  return { length, validator, ranges, body }
}

/** True when a stored record is a partial variant (parts of a representation, not a response to serve). */
export function isPartial (record: StoredRecord): boolean {
  return record.status === 206
}

/** The outcome of adding a part to what is stored. */
export type MergeResult =
  /** the parts now held; `replaced` when the old parts were dropped (another validator or length) */
  | { kind: 'merged', parts: Parts, replaced: boolean }
  /** overlapping bytes differ although the validators match: the origin is inconsistent; keep nothing */
  | { kind: 'conflict' }

/**
 * Adds a part to stored parts (RFC 9111 §3.4): combined only when both carry the same strong
 * validator and complete length; otherwise the new part replaces the old ones ("the most recent
 * response" wins). Overlapping bytes must be identical.
 * https://www.rfc-editor.org/rfc/rfc9111#section-3.4
 */
export function mergePart (stored: Parts | undefined, part: ContentRange, validator: string, bytes: Buffer): MergeResult {
  const fresh: Parts = { length: part.length, validator, ranges: [{ start: part.start, end: part.end }], body: bytes }
  if (stored === undefined) return { kind: 'merged', parts: fresh, replaced: false }
  if (stored.validator !== validator || stored.length !== part.length) return { kind: 'merged', parts: fresh, replaced: true }
  // Every stored range with its bytes, plus the new one; then coalesce in order.
  const pieces: Array<{ start: number, end: number, bytes: Buffer }> = []
  let at = 0
  for (const r of stored.ranges) {
    const n = r.end - r.start + 1
    pieces.push({ start: r.start, end: r.end, bytes: stored.body.subarray(at, at + n) })
    at += n
  }
  pieces.push({ start: part.start, end: part.end, bytes })
  pieces.sort((a, b) => a.start - b.start)
  const out: Array<{ start: number, end: number, chunks: Buffer[] }> = []
  for (const p of pieces) {
    const last = out.at(-1)
    if (last === undefined || p.start > last.end + 1) {
      out.push({ start: p.start, end: p.end, chunks: [p.bytes] })
      continue
    }
    // Overlap: the bytes both hold must agree.
    const from = p.start
    const to = Math.min(p.end, last.end)
    if (to >= from) {
      const held = Buffer.concat(last.chunks).subarray(from - last.start, to - last.start + 1)
      if (!held.equals(p.bytes.subarray(0, to - from + 1))) return { kind: 'conflict' }
    }
    if (p.end > last.end) {
      last.chunks.push(p.bytes.subarray(last.end + 1 - p.start))
      last.end = p.end
    }
  }
  return {
    kind: 'merged',
    parts: { length: part.length, validator, ranges: out.map(o => ({ start: o.start, end: o.end })), body: Buffer.concat(out.flatMap(o => o.chunks)) },
    replaced: false
  }
}

/** True when the parts hold the whole representation. */
export function isComplete (p: Pick<Parts, 'ranges' | 'length'>): boolean {
  const r = p.ranges[0]
  return p.ranges.length === 1 && r!.start === 0 && r!.end === p.length - 1
}

/** The bytes [start, end] when one stored range covers them; undefined when not held. */
export function covered (p: Parts, start: number, end: number): Buffer | undefined {
  let at = 0
  for (const r of p.ranges) {
    if (start >= r.start && end <= r.end) return p.body.subarray(at + start - r.start, at + end - r.start + 1)
    at += r.end - r.start + 1
  }
  return undefined
}

/** What a Range request can be answered with, given the stored parts. */
export type PartialPlan =
  /** answer 206 with bytes [start, end] of `length` from the parts */
  | { kind: 'serve', start: number, end: number, length: number }
  /** answer 416: the range starts past the complete length (RFC 9110 §15.5.17) */
  | { kind: 'unsatisfiable', length: number }
  /** ask the origin for the client's range alone and merge its 206 into the parts */
  | { kind: 'fetch' }
  /** forward the request as it is, storing nothing */
  | { kind: 'pass' }

/** What a Range request says about itself and about the stored parts, for planning. */
export interface PartialFacts {
  /** the Range field */
  range: string
  /** If-Range: absent, or whether it matches the parts' validator (strong comparison, RFC 9110 §13.1.5) */
  ifRange: 'absent' | 'match' | 'mismatch'
  /** If-None-Match or If-Modified-Since is present: the origin answers those */
  conditional: boolean
  /** neither Authorization nor a request no-store rules out sharing the answer */
  shareable: boolean
  /** the parts may be used without validation (policy.ts `decide`: fresh, or stale the client accepts) */
  usable: boolean
  /** the stored parts, if any */
  parts: Parts | undefined
}

/**
 * Plans a GET with Range for a URL with no complete stored response (RFC 9111 §3.3, §3.4, §4).
 * Only a single byte range is answered from parts; anything else is forwarded as it is.
 */
export function planPartial (f: PartialFacts): PartialPlan {
  if (!f.shareable || f.conditional) return PASS
  const p = f.parts
  if (p === undefined || !f.usable || f.ifRange === 'mismatch') return singleRange(f.range) ? FETCH : PASS
  const r = evaluateRange(f.range, p.length)
  if (r.kind === 'full') return PASS
  if (r.kind === 'unsatisfiable') return { kind: 'unsatisfiable', length: p.length }
  if (covered(p, r.start, r.end) === undefined) return FETCH
  return { kind: 'serve', start: r.start, end: r.end, length: p.length }
}

const PASS: PartialPlan = Object.freeze({ kind: 'pass' })
const FETCH: PartialPlan = Object.freeze({ kind: 'fetch' })

/** True when a Range field asks for exactly one byte range (the only kind whose 206 is kept). */
function singleRange (range: string): boolean {
  // Any length works for the syntax check: a large one never makes a valid range unsatisfiable.
  return evaluateRange(range, Number.MAX_SAFE_INTEGER).kind === 'partial'
}
