// The body writer every tier uses: it gathers the body in memory, bounded by the entry limit, and
// hands it over whole once it has fully arrived (memory keeps it; Redis and disk write it in one step).

import type { BodyWriter, StoredRecord } from '../cache/contract.ts'

/** Bytes a variant counts against the bound: its body, its fields and a fixed overhead. */
export function variantSize (record: StoredRecord): number {
  let n = record.bodySize + 256
  for (const name in record.headers) {
    const v = record.headers[name]
    if (v === undefined) continue
    if (Array.isArray(v)) for (const x of v) n += name.length + x.length + 4
    else n += name.length + v.length + 4
  }
  return n
}

/**
 * A writer that buffers at most `limit` bytes (record included) and calls `commit` with the whole
 * body at `end()`; undefined when the record alone, or its announced body, exceeds the limit.
 * The body `commit` gets is the writer's own allocation, spanning a whole ArrayBuffer: never a
 * caller's chunk (which the caller may still be writing to a socket) nor a slice of Node's shared
 * Buffer pool (which would keep 8 KiB alive per small body), so a tier may release it (memory-store.ts).
 */
export function bufferedWriter (record: StoredRecord, limit: number, commit: (record: StoredRecord, body: Buffer) => Promise<void>): BodyWriter | undefined {
  const base = variantSize({ ...record, bodySize: 0 })
  if (base + Math.max(0, record.bodySize) > limit) return undefined
  // A known length (Content-Length) gets one allocation; otherwise chunks are copied once at the end.
  const known = record.bodySize >= 0 ? Buffer.allocUnsafeSlow(record.bodySize) : undefined
  const chunks: Buffer[] = []
  let written = 0
  let state: 'open' | 'done' | 'failed' = 'open'
  return {
    write: (chunk: Buffer): boolean => {
      if (state !== 'open') return false
      if (base + written + chunk.length > limit || (known !== undefined && written + chunk.length > known.length)) {
        fail()
        return false
      }
      if (known !== undefined) chunk.copy(known, written)
      else chunks.push(chunk)
      written += chunk.length
      return true
    },
    end: async (): Promise<void> => {
      if (state !== 'open') throw new Error('variant not stored: body exceeded its bound')
      // Only a whole body is committed: fewer bytes than Content-Length announced is a torn response.
      if (record.bodySize >= 0 && written !== record.bodySize) {
        fail()
        throw new Error(`variant not stored: ${written} of ${record.bodySize} body bytes`)
      }
      state = 'done'
      const body = known ?? join(chunks, written)
      // Emptied at once: a list promoted to V8's old generation keeps its chunks alive until the next full collection.
      chunks.length = 0
      await commit({ ...record, bodySize: written }, body)
    },
    abort: (): void => {
      if (state === 'open') fail()
    }
  }

  /**
   * Drops what was gathered. The preallocated body goes back at once (detached: no one else ever
   * held it), so an origin that announces large bodies and cuts them short does not leave
   * Content-Length bytes per response waiting for V8's next full collection.
   */
  function fail (): void {
    state = 'failed'
    chunks.length = 0
    ;(known?.buffer as ArrayBuffer | undefined)?.transfer(0)
  }
}

/** The chunks copied into one new allocation of `n` bytes. */
function join (chunks: readonly Buffer[], n: number): Buffer {
  const out = Buffer.allocUnsafeSlow(n)
  let at = 0
  for (const c of chunks) at += c.copy(out, at)
  return out
}
