// Compression of identity responses for clients that accept br, zstd or gzip: which responses
// qualify, the coding chosen from Accept-Encoding (cache/key.ts, so the Vary key is that choice),
// the coded head (Content-Encoding, Vary, a per-coding ETag), streams for responses passed on the
// fly, and the coded body of a stored response made once and stored beside it as its own variant.

import { createBrotliCompress, createGzip, createZstdCompress, brotliCompress, gzip, zstdCompress, constants, type BrotliOptions, type ZlibOptions, type ZstdOptions } from 'node:zlib'
import { promisify } from 'node:util'
import type { Transform } from 'node:stream'
import { splitList, firstValue } from '../http/fields.ts'
import type { CacheControl } from '../http/cache-control.ts'
import { chosenCoding, secondaryKey } from '../cache/key.ts'
import type { Headers, StoredRecord, Variant } from '../cache/contract.ts'
import type { HttpCache } from '../cache/cache.ts'

/** A coding freshgate produces. */
export type Coding =
  /** Brotli (RFC 7932) */
  | 'br'
  /** Zstandard (RFC 8878) */
  | 'zstd'
  /** gzip (RFC 1952) */
  | 'gzip'

/** Bodies smaller than this are sent as they are: the coding overhead outweighs the saving. */
export const MIN_SIZE = 1024

/**
 * Media types worth compressing (text formats), besides every text/* except event streams,
 * whose events must not wait in a compressor's buffer, and every +json and +xml type.
 */
const COMPRESSIBLE = new Set([
  'application/json',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/xml',
  'application/wasm',
  'application/graphql',
  'application/x-ndjson',
  'application/vnd.ms-fontobject',
  'image/svg+xml',
  'image/x-icon',
  'image/bmp',
  'font/ttf',
  'font/otf'
])

/** Content-Type values seen, and whether they are compressible: a site serves a handful. */
const typeVerdicts = new Map<string, boolean>()
/** Bound on typeVerdicts: values past it are judged every time. */
const MAX_TYPE_VERDICTS = 256

/** True for a Content-Type worth compressing (parameters ignored, case-insensitive). */
export function compressibleType (contentType: string | string[] | undefined): boolean {
  const v = firstValue(contentType)
  if (v === undefined) return false
  const seen = typeVerdicts.get(v)
  if (seen !== undefined) return seen
  const type = v.split(';')[0]!.trim().toLowerCase()
  const verdict = type !== 'text/event-stream' && (type.startsWith('text/') || type.endsWith('+json') || type.endsWith('+xml') || COMPRESSIBLE.has(type))
  if (typeVerdicts.size < MAX_TYPE_VERDICTS) typeVerdicts.set(v, verdict)
  return verdict
}

/**
 * True when freshgate may compress a response: a 200 the origin sent without a Content-Encoding
 * (or as identity) and without Content-Range, of a compressible type, of at least MIN_SIZE bytes
 * when its size is known, and with no `no-transform` from the origin or the client
 * (RFC 9111 §5.2.2.6, §5.2.1.6).
 * https://www.rfc-editor.org/rfc/rfc9110#section-8.4
 */
export function compressible (status: number, headers: Headers, size: number | undefined, resCC: CacheControl, reqCC: CacheControl): boolean {
  if (status !== 200) return false
  if (resCC.noTransform || reqCC.noTransform) return false
  const ce = splitList(headers['content-encoding'])
  if (ce.length > 0 && !(ce.length === 1 && ce[0]!.toLowerCase() === 'identity')) return false
  if (headers['content-range'] !== undefined) return false
  if (size !== undefined && size < MIN_SIZE) return false
  return compressibleType(headers['content-type'])
}

/** The coding for a request's Accept-Encoding, or undefined for identity (also when it is absent). */
export function codingFor (acceptEncoding: string | string[] | undefined): Coding | undefined {
  if (acceptEncoding === undefined) return undefined
  const c = chosenCoding(Array.isArray(acceptEncoding) ? acceptEncoding.join(', ') : acceptEncoding)
  return c === 'br' || c === 'zstd' || c === 'gzip' ? c : undefined
}

/** The ETag of a coded body: the identity one with the coding appended inside the quotes (`"abc"` → `"abc-br"`). */
export function codedETag (etag: string, coding: Coding): string {
  const m = /^(W\/)?"(.*)"$/.exec(etag.trim())
  return m === null ? etag : `${m[1] ?? ''}"${m[2]}-${coding}"`
}

/** Vary with Accept-Encoding appended unless it is there (or Vary is "*"). */
export function withVary (vary: string | string[] | undefined): string {
  const names = splitList(vary).map(n => n.toLowerCase())
  if (names.includes('accept-encoding') || names.includes('*')) return splitList(vary).join(', ')
  return [...splitList(vary), 'Accept-Encoding'].join(', ')
}

/** Headers of a coded response: Content-Encoding, Vary, the coded ETag and the coded length (undefined: streamed). */
export function codedHeaders (headers: Headers, coding: Coding, length: number | undefined): Headers {
  const out: Headers = { ...headers, 'content-encoding': coding, vary: withVary(headers.vary) }
  const etag = firstValue(headers.etag)
  if (etag !== undefined) out.etag = codedETag(etag, coding)
  if (length === undefined) delete out['content-length']
  else out['content-length'] = String(length)
  return out
}

/** Counts compressions (tests check that a stored coded body is reused, not made again per hit). */
export const compressions = { streams: 0, bodies: 0 }

/** Quick settings for bodies compressed on the fly; stored bodies are compressed once, harder. */
const STREAM_BR: BrotliOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }
const STORED_BR: BrotliOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }
const GZIP: ZlibOptions = { level: 6 }
const ZSTD: ZstdOptions = { params: { [constants.ZSTD_c_compressionLevel]: 3 } }

/** A compressing stream for a response passed on the fly. */
export function encoder (coding: Coding): Transform {
  compressions.streams++
  if (coding === 'br') return createBrotliCompress(STREAM_BR)
  if (coding === 'zstd') return createZstdCompress(ZSTD)
  return createGzip(GZIP)
}

const brAsync = promisify<Buffer, BrotliOptions, Buffer>(brotliCompress)
const gzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gzip)
const zstdAsync = promisify<Buffer, ZstdOptions, Buffer>(zstdCompress)

/** Compresses a stored body (on the thread pool, off the event loop). */
async function compressBody (body: Buffer, coding: Coding): Promise<Buffer> {
  compressions.bodies++
  if (coding === 'br') return await brAsync(body, STORED_BR)
  if (coding === 'zstd') return await zstdAsync(body, ZSTD)
  return await gzipAsync(body, GZIP)
}

/**
 * The identity variant id a coded variant was made from ("<id>.br" → "<id>"), or undefined for a
 * variant freshgate did not code. Asked on every hit: no regular expression.
 */
export function identityIdOf (id: string): string | undefined {
  const dot = id.lastIndexOf('.')
  if (dot <= 0) return undefined
  const coding = id.slice(dot + 1)
  return coding === 'br' || coding === 'zstd' || coding === 'gzip' ? id.slice(0, dot) : undefined
}

/** Coded variants being made, so concurrent hits compress a body once. */
const making = new Map<string, Promise<Variant>>()

/**
 * The coded variant of a stored identity response for a request, made once and stored beside it
 * as its own variant (id "<id>.<coding>", varying on Accept-Encoding, stale when the identity one
 * is), so later requests select it directly. Resolves to the coded variant even when the store
 * declines it.
 */
export async function codedVariant (cache: HttpCache, v: Variant, coding: Coding, requestHeaders: Headers, maxVariants: number): Promise<Variant> {
  const r = v.record
  const id = `${r.id}.${coding}`
  const slot = `${r.key}\n${id}`
  const running = making.get(slot)
  if (running !== undefined) return await running
  const made = (async (): Promise<Variant> => {
    const identity = v.body ?? await cache.body(v)
    if (identity === undefined) throw new Error(`stored body of ${r.key} is gone`)
    const body = await compressBody(identity, coding)
    const varyFields = [...new Set([...r.varyFields, 'accept-encoding'])].sort()
    const record: StoredRecord = {
      ...r,
      id,
      headers: codedHeaders(r.headers, coding, body.length),
      varyFields,
      varyKey: secondaryKey(varyFields, requestHeaders),
      etag: r.etag === undefined ? undefined : codedETag(r.etag, coding),
      bodySize: body.length
    }
    // Stored only beside an identity variant still there: a purge or invalidation while compressing
    // must not leave the coded copy behind.
    const still = (await cache.variants(r.key)).some(w => w.record.id === r.id)
    if (!still) return { record, body }
    const writer = cache.store.put(record, { replaces: [id], maxVariants })
    if (writer !== undefined && writer.write(body)) await writer.end()
    else writer?.abort()
    return { record, body }
  })()
  making.set(slot, made)
  try {
    return await made
  } finally {
    making.delete(slot)
  }
}
