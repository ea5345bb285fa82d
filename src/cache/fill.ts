// The request fields of freshgate's own fetches (a background Range fill, a stale-while-revalidate
// revalidation): a fill is not the client's request, so it carries the client's fields only as far
// as the cache key needs them. Pure.

import type { Headers } from './contract.ts'

/**
 * Request fields a background fetch carries over from the client request that started it: the
 * fields named by the Vary of the URL's stored variants (so the response is stored as the variant
 * those clients select, RFC 9111 §4.1), plus Accept-Encoding, which selects the bytes a range
 * refers to. Nothing else: no conditionals, Range, Cache-Control, cookies or other fields
 * the variants do not vary on (a fill never starts for a request with Authorization, plan.ts).
 * A fetch for a URL with no stored variant so far carries Accept-Encoding only; the response it
 * stores is keyed by what was actually sent, so it never answers a request it does not match.
 */
export function fillHeaders (client: Headers, vary: ReadonlyArray<readonly string[]>): Headers {
  const out: Headers = {}
  const copy = (name: string): void => {
    // A "*" member selects nothing; names are lowercased as stored.
    if (name === '*') return
    const v = client[name]
    if (v !== undefined) out[name] = v
  }
  copy('accept-encoding')
  for (const fields of vary) for (const f of fields) copy(f)
  return out
}
