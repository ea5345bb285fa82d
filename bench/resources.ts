// The bytes the bench serves: bodies and headers shared by the origin and the "Node limit"
// baseline, so both answer identical responses (same bytes as /work/shared/bench/lib/resources.mjs).

import { createHash } from 'node:crypto'

/** Last-Modified of every resource (a fixed past date, so If-Modified-Since validates). */
export const LAST_MODIFIED = 'Mon, 01 Jan 2024 00:00:00 GMT'

/** One servable response. */
export interface Resource {
  buf: Buffer
  etag: string
  headers: Record<string, string>
}

/** Deterministic, not trivially compressible bytes (xorshift over a-z). */
function body (size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    b[i] = 97 + (x % 26)
  }
  return b
}

function etagOf (buf: Buffer): string {
  return '"' + createHash('sha1').update(buf).digest('hex').slice(0, 16) + '"'
}

function resource (name: string, size: number, cacheControl: string): Resource {
  const buf = body(size, name.length * 7919 + size)
  const etag = etagOf(buf)
  return {
    buf,
    etag,
    headers: {
      'content-type': 'application/octet-stream',
      'content-length': String(buf.length),
      'cache-control': cacheControl,
      etag,
      'last-modified': LAST_MODIFIED
    }
  }
}

/** The fixed paths of the load scenarios. */
export const RESOURCES: Record<string, Resource> = {
  '/small': resource('small', 1024, 'public, max-age=3600'),
  '/medium': resource('medium', 100 * 1024, 'public, max-age=3600'),
  '/large': resource('large', 1024 * 1024, 'public, max-age=3600'),
  '/revalidate': resource('revalidate', 1024, 'max-age=0, must-revalidate'),
  '/nostore': resource('nostore', 1024, 'no-store')
}

/** Body of every /herd/* URL (cacheable, answered after a delay). */
export const HERD = resource('herd', 1024, 'public, max-age=3600')

/**
 * A cacheable resource of `size` bytes for /blob/<id> (memory scenario): one shared body,
 * a distinct ETag per id so each URL is its own representation.
 */
export function blob (size: number): (id: string) => Resource {
  const base = resource('blob', size, 'public, max-age=3600')
  return id => {
    const etag = `"${base.etag.slice(1, -1)}-${id}"`
    return { buf: base.buf, etag, headers: { ...base.headers, etag } }
  }
}
