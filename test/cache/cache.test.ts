// Table tests for the Vary-aware cache (RFC 9111 §4.1) over a real MemoryStore: selection,
// replacement of the matching variant, the variant bound, invalidation and the byte bound.

import t from 'tap'
import { HttpCache, variantMatches, type VariantSet, type CacheOptions } from '../../src/cache/cache.ts'
import { MemoryStore } from '../../src/cache/store.ts'
import { buildStored, storedHeaders, freshen, type EntryOptions, type Headers, type StoredResponse } from '../../src/cache/entry.ts'
import { varyFields, secondaryKey } from '../../src/cache/key.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { formatHttpDate } from '../../src/http/dates.ts'

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0)
const KEY = 'http://example.com/a'
const OPTS: EntryOptions = { heuristicFraction: 0.1, heuristicMaxAge: 86_400_000, setCookie: 'strip', stripFields: [], via: '1.1 freshgate' }
const CACHE: CacheOptions = { maxVariants: 16, keepStale: 3_600_000, staleIfErrorGrace: 0 }

/** A stored 200 with `body`, produced by a request with `req` headers, varying on `vary`. */
function entry (body: string, req: Headers = {}, vary?: string, responseTime = T0): StoredResponse {
  const res: Headers = { date: formatHttpDate(responseTime), 'cache-control': 'max-age=60', etag: `"${body}"` }
  if (vary !== undefined) res.vary = vary
  const cc = parseCacheControl(res['cache-control'])
  const fields = varyFields(vary)
  return buildStored({
    status: 200,
    statusMessage: 'OK',
    headers: storedHeaders(res, cc, OPTS, responseTime),
    body: Buffer.from(body),
    cc,
    target: undefined,
    varyFields: fields,
    varyKey: secondaryKey(fields, req),
    times: { requestTime: responseTime, responseTime },
    age: undefined,
    tags: []
  }, OPTS)
}

function newCache (opts: Partial<CacheOptions> = {}, maxBytes = 1_000_000, maxEntryBytes = 1_000_000): { cache: HttpCache, store: MemoryStore<VariantSet> } {
  const store = new MemoryStore<VariantSet>(maxBytes, maxEntryBytes)
  return { cache: new HttpCache(store, { ...CACHE, ...opts }), store }
}

/** The body of the variant a request selects, or undefined on a miss. */
async function bodyFor (cache: HttpCache, req: Headers, key = KEY): Promise<string | undefined> {
  return (await cache.lookup(key, req)).entry?.body.toString()
}

async function bodies (cache: HttpCache, key = KEY): Promise<string[]> {
  return (await cache.variants(key)).map(v => v.body.toString())
}

t.test('variantMatches (§4.1)', async t => {
  const rows: Array<{ name: string, stored: StoredResponse, req: Headers, want: boolean }> = [
    { name: 'when the response has no Vary → should match any request', stored: entry('x'), req: { 'accept-encoding': 'br' }, want: true },
    { name: 'when the varying field is equal → should match', stored: entry('x', { 'accept-encoding': 'gzip' }, 'accept-encoding'), req: { 'accept-encoding': 'gzip' }, want: true },
    { name: 'when the varying field normalises equal → should match', stored: entry('x', { 'accept-encoding': 'gzip, br' }, 'Accept-Encoding'), req: { 'accept-encoding': 'br;q=0.5, gzip' }, want: true },
    { name: 'when the varying field differs → should not match', stored: entry('x', { 'accept-encoding': 'gzip' }, 'accept-encoding'), req: { 'accept-encoding': 'br' }, want: false },
    { name: 'when the varying field was absent and is absent → should match', stored: entry('x', {}, 'accept-language'), req: {}, want: true },
    { name: 'when the varying field was absent and is now empty → should not match', stored: entry('x', {}, 'accept-language'), req: { 'accept-language': '' }, want: false },
    { name: 'when one of two varying fields differs → should not match', stored: entry('x', { accept: 'a', 'accept-language': 'fr' }, 'accept, accept-language'), req: { accept: 'a', 'accept-language': 'de' }, want: false },
    { name: 'when Vary is * → should never match, even an identical request', stored: entry('x', { accept: 'a' }, '*'), req: { accept: 'a' }, want: false },
    { name: 'when Vary is * → should not match a request without headers either', stored: entry('x', {}, '*'), req: {}, want: false }
  ]
  for (const r of rows) t.equal(variantMatches(r.stored, r.req), r.want, r.name)
})

t.test('lookup selects the matching variant', async t => {
  const { cache } = newCache()
  await cache.put(KEY, entry('plain', {}, 'accept-encoding'), {}, T0)
  await cache.put(KEY, entry('gz', { 'accept-encoding': 'gzip' }, 'accept-encoding'), { 'accept-encoding': 'gzip' }, T0)
  await cache.put(KEY, entry('br', { 'accept-encoding': 'br' }, 'accept-encoding'), { 'accept-encoding': 'br' }, T0)
  const rows: Array<{ name: string, key?: string, req: Headers, body: string | undefined, hasVariants: boolean }> = [
    { name: 'when the request accepts gzip → should select the gzip variant', req: { 'accept-encoding': 'gzip' }, body: 'gz', hasVariants: true },
    { name: 'when the request accepts gzip with a weight → should still select the gzip variant', req: { 'accept-encoding': 'gzip;q=1' }, body: 'gz', hasVariants: true },
    { name: 'when the request accepts br → should select the br variant', req: { 'accept-encoding': 'br' }, body: 'br', hasVariants: true },
    { name: 'when the request has no Accept-Encoding → should select the variant stored without it', req: {}, body: 'plain', hasVariants: true },
    { name: 'when the request has an empty Accept-Encoding → should miss (empty is not absent)', req: { 'accept-encoding': '' }, body: undefined, hasVariants: true },
    { name: 'when no variant matches → should miss but report variants (a vary-miss)', req: { 'accept-encoding': 'deflate' }, body: undefined, hasVariants: true },
    { name: 'when the URL was never stored → should miss without variants (a uri-miss)', key: 'http://example.com/other', req: {}, body: undefined, hasVariants: false }
  ]
  for (const r of rows) {
    const got = await cache.lookup(r.key ?? KEY, r.req)
    t.same([got.entry?.body.toString(), got.hasVariants], [r.body, r.hasVariants], r.name)
  }
})

t.test('HttpCache operations', async t => {
  interface Row { name: string, run: () => Promise<unknown>, want: unknown }
  const rows: Row[] = [
    {
      name: 'when a new response arrives for one variant → should replace only that variant and put it first',
      run: async () => {
        const { cache } = newCache()
        await cache.put(KEY, entry('gz1', { 'accept-encoding': 'gzip' }, 'accept-encoding'), { 'accept-encoding': 'gzip' }, T0)
        await cache.put(KEY, entry('br1', { 'accept-encoding': 'br' }, 'accept-encoding'), { 'accept-encoding': 'br' }, T0)
        await cache.put(KEY, entry('gz2', { 'accept-encoding': 'gzip' }, 'accept-encoding'), { 'accept-encoding': 'gzip' }, T0)
        return [await bodies(cache), await bodyFor(cache, { 'accept-encoding': 'gzip' }), await bodyFor(cache, { 'accept-encoding': 'br' })]
      },
      want: [['gz2', 'br1'], 'gz2', 'br1']
    },
    {
      name: 'when a response without Vary is stored → should replace every variant the request matched',
      run: async () => {
        const { cache } = newCache()
        await cache.put(KEY, entry('old'), {}, T0)
        await cache.put(KEY, entry('new'), { accept: 'x' }, T0)
        return bodies(cache)
      },
      want: ['new']
    },
    {
      name: 'when more variants arrive than maxVariants → should keep only the newest',
      run: async () => {
        const { cache } = newCache({ maxVariants: 2 })
        for (const lang of ['fr', 'de', 'en']) await cache.put(KEY, entry(lang, { 'accept-language': lang }, 'accept-language'), { 'accept-language': lang }, T0)
        return [await bodies(cache), await bodyFor(cache, { 'accept-language': 'fr' })]
      },
      want: [['en', 'de'], undefined]
    },
    {
      name: 'when a Vary: * response is stored → should never be selected',
      run: async () => {
        const { cache } = newCache()
        await cache.put(KEY, entry('star', { accept: 'a' }, '*'), { accept: 'a' }, T0)
        const got = await cache.lookup(KEY, { accept: 'a' })
        return [got.entry, got.hasVariants]
      },
      want: [undefined, true]
    },
    {
      name: 'when a URL is invalidated → should drop every variant (§4.4)',
      run: async () => {
        const { cache } = newCache()
        await cache.put(KEY, entry('gz', { 'accept-encoding': 'gzip' }, 'accept-encoding'), { 'accept-encoding': 'gzip' }, T0)
        await cache.put(KEY, entry('br', { 'accept-encoding': 'br' }, 'accept-encoding'), { 'accept-encoding': 'br' }, T0)
        await cache.put('http://example.com/b', entry('b'), {}, T0)
        cache.invalidate(KEY)
        return [(await cache.lookup(KEY, { 'accept-encoding': 'gzip' })).hasVariants, await bodies(cache), await bodyFor(cache, {}, 'http://example.com/b')]
      },
      want: [false, [], 'b']
    },
    {
      name: 'when one variant is removed → should keep the others',
      run: async () => {
        const { cache } = newCache()
        const gz = entry('gz', { 'accept-encoding': 'gzip' }, 'accept-encoding')
        await cache.put(KEY, gz, { 'accept-encoding': 'gzip' }, T0)
        await cache.put(KEY, entry('br', { 'accept-encoding': 'br' }, 'accept-encoding'), { 'accept-encoding': 'br' }, T0)
        await cache.remove(KEY, gz, T0)
        return bodies(cache)
      },
      want: ['br']
    },
    {
      name: 'when the last variant is removed → should forget the URL',
      run: async () => {
        const { cache } = newCache()
        const only = entry('only')
        await cache.put(KEY, only, {}, T0)
        await cache.remove(KEY, only, T0)
        return (await cache.lookup(KEY, {})).hasVariants
      },
      want: false
    },
    {
      name: 'when a variant is replaced by its freshened copy → should serve the copy in the same place',
      run: async () => {
        const { cache } = newCache()
        const gz = entry('gz', { 'accept-encoding': 'gzip' }, 'accept-encoding')
        await cache.put(KEY, gz, { 'accept-encoding': 'gzip' }, T0)
        await cache.put(KEY, entry('br', { 'accept-encoding': 'br' }, 'accept-encoding'), { 'accept-encoding': 'br' }, T0)
        const update = storedHeaders({ date: formatHttpDate(T0 + 90_000), 'x-fresh': '1' }, parseCacheControl(undefined), OPTS, T0 + 90_000)
        const fresh = freshen(gz, update, undefined, parseCacheControl(undefined), undefined, { requestTime: T0 + 90_000, responseTime: T0 + 90_000 }, OPTS)
        await cache.replace(KEY, new Map([[gz, fresh]]), T0 + 90_000)
        return [await bodies(cache), (await cache.lookup(KEY, { 'accept-encoding': 'gzip' })).entry?.headers['x-fresh']]
      },
      want: [['br', 'gz'], '1']
    },
    {
      name: 'when every variant is past the time policy needs it → should not be stored',
      run: async () => {
        const { cache } = newCache({ keepStale: 0 })
        // fresh for 60 s, kept at least a further 60 s for max-stale; now is 10 minutes later
        await cache.put(KEY, entry('old', {}, undefined, T0), {}, T0 + 600_000)
        return (await cache.lookup(KEY, {})).hasVariants
      },
      want: false
    }
  ]
  for (const r of rows) t.same(await r.run(), r.want, r.name)
})

t.test('HttpCache over a byte-bounded store', async t => {
  const size = entry('aaaa').size
  interface Row { name: string, run: () => Promise<unknown>, want: unknown }
  const rows: Row[] = [
    {
      name: 'when a third URL exceeds the byte bound → should evict the least recently used URL',
      run: async () => {
        const { cache, store } = newCache({}, Math.floor(size * 2.5), size * 2)
        await cache.put('http://x/1', entry('aaaa'), {}, T0)
        await cache.put('http://x/2', entry('bbbb'), {}, T0)
        await cache.lookup('http://x/1', {})
        await cache.put('http://x/3', entry('cccc'), {}, T0)
        return [await bodyFor(cache, {}, 'http://x/1'), await bodyFor(cache, {}, 'http://x/2'), await bodyFor(cache, {}, 'http://x/3'), store.stats().evictions]
      },
      want: ['aaaa', undefined, 'cccc', 1]
    },
    {
      name: 'when a response is larger than the per-entry bound → should not be stored',
      run: async () => {
        const { cache } = newCache({}, size * 10, size - 1)
        await cache.put(KEY, entry('aaaa'), {}, T0)
        return (await cache.lookup(KEY, {})).hasVariants
      },
      want: false
    },
    {
      name: 'when a URL holds several variants → should count all of their bytes',
      run: async () => {
        const { cache, store } = newCache()
        await cache.put(KEY, entry('gz', { 'accept-encoding': 'gzip' }, 'accept-encoding'), { 'accept-encoding': 'gzip' }, T0)
        await cache.put(KEY, entry('br', { 'accept-encoding': 'br' }, 'accept-encoding'), { 'accept-encoding': 'br' }, T0)
        const sum = (await cache.variants(KEY)).reduce((n, v) => n + v.size, 0)
        return store.stats().bytes === sum && sum > 0
      },
      want: true
    }
  ]
  for (const r of rows) t.same(await r.run(), r.want, r.name)
})
