// The body writer of tiers that commit a variant in one step (Redis, disk): it gathers the body
// in memory, bounded by the entry limit, and hands it over whole once it has fully arrived.

import type { BodyWriter, StoredRecord } from '../cache/contract.ts'
import { variantSize } from './memory-store.ts'

/**
 * A writer that buffers at most `limit` bytes (record included) and calls `commit` with the whole
 * body at `end()`; undefined when the record alone, or its announced body, exceeds the limit.
 */
export function bufferedWriter (record: StoredRecord, limit: number, commit: (record: StoredRecord, body: Buffer) => Promise<void>): BodyWriter | undefined {
  const base = variantSize({ ...record, bodySize: 0 })
  if (base + Math.max(0, record.bodySize) > limit) return undefined
  const chunks: Buffer[] = []
  let written = 0
  let state: 'open' | 'done' | 'failed' = 'open'
  return {
    write: (chunk: Buffer): boolean => {
      if (state !== 'open') return false
      if (base + written + chunk.length > limit || (record.bodySize >= 0 && written + chunk.length > record.bodySize)) {
        state = 'failed'
        chunks.length = 0
        return false
      }
      chunks.push(chunk)
      written += chunk.length
      return true
    },
    end: async (): Promise<void> => {
      if (state !== 'open') throw new Error('variant not stored: body exceeded its bound')
      state = 'done'
      // Only a whole body is committed: fewer bytes than Content-Length announced is a torn response.
      if (record.bodySize >= 0 && written !== record.bodySize) throw new Error(`variant not stored: ${written} of ${record.bodySize} body bytes`)
      await commit({ ...record, bodySize: written }, Buffer.concat(chunks, written))
    },
    abort: (): void => {
      state = 'failed'
      chunks.length = 0
    }
  }
}
