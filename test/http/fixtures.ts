// Shared expectations for the http/ table tests, written out independently of the code under test.

import type { CacheControl } from '../../src/http/cache-control.ts'

/** A parsed Cache-Control record with every flag false, overridden by `set`. */
export function cc (set: Partial<CacheControl> = {}): CacheControl {
  return {
    noCache: false,
    noStore: false,
    private: false,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    immutable: false,
    noTransform: false,
    onlyIfCached: false,
    mustUnderstand: false,
    ...set
  }
}
