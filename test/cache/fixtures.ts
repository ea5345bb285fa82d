// Shared by the cache table tests: one fixed instant, dates relative to it, and entry options.

import type { EntryOptions } from '../../src/cache/entry.ts'
import { formatHttpDate } from '../../src/http/dates.ts'

/** The instant every table test measures from. */
export const T0 = Date.UTC(2024, 0, 15, 12, 0, 0)
/** One second, in ms. */
export const S = 1000

/** An HTTP date `ms` after T0. */
export function at (ms: number): string {
  return formatHttpDate(T0 + ms)
}

/** Entry options as the proxy builds them, with the given differences. */
export function entryOptions (over: Partial<EntryOptions> = {}): EntryOptions {
  return { heuristicFraction: 0.1, heuristicMaxAge: 86_400_000, setCookie: 'unless-public', keepStale: 3_600_000, staleIfErrorGrace: 0, stripFields: [], via: '1.1 freshgate', ...over }
}
