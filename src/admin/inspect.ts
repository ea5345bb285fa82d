// What the admin API shows of the cache: one URL's stored variants (everything but the body).

import type { StoredRecord } from '../cache/contract.ts'
import { currentAge } from '../cache/policy.ts'
import { varyValues } from '../cache/key.ts'
import { variantSize } from '../store/writer.ts'

/** What /cache/entry shows of one stored variant: everything but the body. */
export function describeVariant (r: StoredRecord, now: number): Record<string, unknown> {
  const age = currentAge(r, now)
  return {
    status: r.status,
    headers: r.headers,
    // whole seconds, as in Age and Cache-Status ttl; ttl is negative once stale
    age: Math.floor(age / 1000),
    ttl: Math.floor((r.lifetime - age) / 1000),
    storedAt: new Date(r.responseTime).toISOString(),
    id: r.id,
    keepUntil: new Date(r.keepUntil).toISOString(),
    size: variantSize(r),
    bodyBytes: r.bodySize,
    varyFields: r.varyFields,
    varyValues: varyValues(r.varyKey),
    tags: r.tags,
    etag: r.etag ?? null,
    lastModified: r.lastModified ?? null
  }
}
