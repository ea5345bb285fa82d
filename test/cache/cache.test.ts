// Table tests for the Vary-aware cache (RFC 9111 §4.1) over a real MemoryStore: selection,
// replacement of the matching variant (by secondary key and by `replaces` ids), the variant
// bound, updates and removals addressed by id, invalidation and the byte bound.

import t from 'tap'
import { entryOptions } from './fixtures.ts'
import { HttpCache, variantMatches, type CacheOptions } from '../../src/cache/cache.ts'
import { MemoryStore, heldSize, variantSize } from '../../src/store/memory-store.ts'
import { buildRecord, storedHeaders, freshen, type Headers, type StoredRecord } from '../../src/cache/entry.ts'
import { varyFields, secondaryKey } from '../../src/cache/key.ts'
import { parseCacheControl } from '../../src/http/cache-control.ts'
import { formatHttpDate } from '../../src/http/dates.ts'

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0)
const KEY = 'http://example.com/a'
const OPTS = entryOptions({ setCookie: 'strip' })
const CACHE: CacheOptions = { maxVariants: 16, maxPurgeKeys: 1000 }

/** A record to store and its body. */
interface Item { record: StoredRecord, body: string }

/** A stored 200 with `body`, produced by a request with `req` headers, varying on `vary`. */
function entry (body: string, req: Headers = {}, vary?: string, responseTime = T0, key = KEY, opts = OPTS): Item {
  const res: Headers = { date: formatHttpDate(responseTime), 'cache-control': 'max-age=60', etag: `"${body}"` }
  if (vary !== undefined) res.vary = vary
  const cc = parseCacheControl(res['cache-control'])
  const fields = varyFields(vary)
  const record = buildRecord({
    key,
    status: 200,
    statusMessage: 'OK',
    headers: storedHeaders(res, cc, opts, responseTime),
    bodySize: Buffer.byteLength(body),
    cc,
    target: undefined,
    varyFields: fields,
    varyKey: secondaryKey(fields, req),
    times: { requestTime: responseTime, responseTime },
    age: undefined,
    tags: []
  }, opts)
  return { record, body }
}

interface Made { cache: HttpCache, store: MemoryStore, clock: { t: number } }

function newCache (opts: Partial<CacheOptions> = {}, maxBytes = 1_000_000, maxEntryBytes = 1_000_000, now = T0): Made {
  const clock = { t: now }
  const o = { ...CACHE, ...opts }
  const store = new MemoryStore({ maxBytes, maxEntryBytes, maxVariants: o.maxVariants, clock: () => clock.t })
  return { cache: new HttpCache(store, o), store, clock }
}

/**
 * Stores an item the way the proxy does: it replaces what the producing request matched among the
 * current variants (`current`, default: what is stored now). False when the store refused it.
 */
async function put (cache: HttpCache, item: Item, req: Headers, current?: readonly StoredRecord[]): Promise<boolean> {
  const variants = current === undefined ? await cache.variants(item.record.key) : current.map(record => ({ record, body: undefined }))
  const w = cache.put(item.record, req, variants)
  if (w === undefined) return false
  if (!w.write(Buffer.from(item.body))) { w.abort(); return false }
  await w.end()
  return true
}

/** The body of the variant a request selects, or undefined on a miss. */
async function bodyFor (cache: HttpCache, req: Headers, key = KEY): Promise<string | undefined> {
  const v = (await cache.lookup(key, req)).entry
  return v === undefined ? undefined : (await cache.body(v))?.toString()
}

async function bodies (cache: HttpCache, key = KEY): Promise<string[]> {
  const out: string[] = []
  for (const v of await cache.variants(key)) out.push((await cache.body(v))?.toString() ?? '<gone>')
  return out
}

const GZ = { 'accept-encoding': 'gzip' }
const BR = { 'accept-encoding': 'br' }

t.test('variantMatches (§4.1)', async t => {
  const rows: Array<{ name: string, stored: Item, req: Headers, want: boolean }> = [
    { name: 'when the response has no Vary → should match any request', stored: entry('x'), req: { 'accept-encoding': 'br' }, want: true },
    { name: 'when the varying field is equal → should match', stored: entry('x', GZ, 'accept-encoding'), req: GZ, want: true },
    { name: 'when the varying field normalises equal → should match', stored: entry('x', { 'accept-encoding': 'gzip, br' }, 'Accept-Encoding'), req: { 'accept-encoding': 'br, gzip;q=0.5' }, want: true },
    { name: 'when the varying field differs → should not match', stored: entry('x', GZ, 'accept-encoding'), req: BR, want: false },
    { name: 'when the varying field was absent and is absent → should match', stored: entry('x', {}, 'accept-language'), req: {}, want: true },
    { name: 'when the varying field was absent and is now empty → should not match', stored: entry('x', {}, 'accept-language'), req: { 'accept-language': '' }, want: false },
    { name: 'when one of two varying fields differs → should not match', stored: entry('x', { accept: 'a', 'accept-language': 'fr' }, 'accept, accept-language'), req: { accept: 'a', 'accept-language': 'de' }, want: false },
    { name: 'when Vary is * → should never match, even an identical request', stored: entry('x', { accept: 'a' }, '*'), req: { accept: 'a' }, want: false },
    { name: 'when Vary is * → should not match a request without headers either', stored: entry('x', {}, '*'), req: {}, want: false }
  ]
  for (const r of rows) t.equal(variantMatches(r.stored.record, r.req), r.want, r.name)
})

t.test('lookup selects the matching variant', async t => {
  const { cache } = newCache()
  await put(cache, entry('plain', {}, 'accept-encoding'), {})
  await put(cache, entry('gz', GZ, 'accept-encoding'), GZ)
  await put(cache, entry('br', BR, 'accept-encoding'), BR)
  const rows: Array<{ name: string, key?: string, req: Headers, body: string | undefined, hasVariants: boolean }> = [
    { name: 'when the request accepts gzip → should select the gzip variant', req: GZ, body: 'gz', hasVariants: true },
    { name: 'when the request accepts gzip with a weight → should still select the gzip variant', req: { 'accept-encoding': 'gzip;q=1' }, body: 'gz', hasVariants: true },
    { name: 'when the request accepts br → should select the br variant', req: BR, body: 'br', hasVariants: true },
    { name: 'when the request has no Accept-Encoding → should select the variant stored without it', req: {}, body: 'plain', hasVariants: true },
    { name: 'when the request has an empty Accept-Encoding → should miss (empty is not absent)', req: { 'accept-encoding': '' }, body: undefined, hasVariants: true },
    { name: 'when no variant matches → should miss but report variants (a vary-miss)', req: { 'accept-encoding': 'deflate' }, body: undefined, hasVariants: true },
    { name: 'when the URL was never stored → should miss without variants (a uri-miss)', key: 'http://example.com/other', req: {}, body: undefined, hasVariants: false }
  ]
  for (const r of rows) {
    const got = await cache.lookup(r.key ?? KEY, r.req)
    t.same([await bodyFor(cache, r.req, r.key), got.variants.length > 0], [r.body, r.hasVariants], r.name)
  }
  t.notOk(cache.lookup(KEY, GZ) instanceof Promise, 'over the memory tier, lookup answers synchronously')
})

t.test('HttpCache operations', async t => {
  interface Row { name: string, run: () => Promise<unknown>, want: unknown }
  const rows: Row[] = [
    {
      name: 'when a new response arrives for one variant → should replace only that variant and put it first',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('gz1', GZ, 'accept-encoding'), GZ)
        await put(cache, entry('br1', BR, 'accept-encoding'), BR)
        await put(cache, entry('gz2', GZ, 'accept-encoding'), GZ)
        return [await bodies(cache), await bodyFor(cache, GZ), await bodyFor(cache, BR)]
      },
      want: [['gz2', 'br1'], 'gz2', 'br1']
    },
    {
      name: 'when a response without Vary is stored → should replace every variant the request matched',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('old'), {})
        await put(cache, entry('new'), { accept: 'x' })
        return bodies(cache)
      },
      want: ['new']
    },
    {
      name: 'when a response with Vary replaces one without it (another secondary key) → should replace it by the matched id',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('plain'), {})
        await put(cache, entry('gz', GZ, 'accept-encoding'), GZ)
        return [await bodies(cache), await bodyFor(cache, BR)]
      },
      want: [['gz'], undefined]
    },
    {
      name: 'when a writer did not see the matching variant (another instance wrote it meanwhile) → should still replace it by secondary key',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('gz1', GZ, 'accept-encoding'), GZ, [])
        await put(cache, entry('br1', BR, 'accept-encoding'), BR, [])
        await put(cache, entry('gz2', GZ, 'accept-encoding'), GZ, [])
        return bodies(cache)
      },
      want: ['gz2', 'br1']
    },
    {
      name: 'when a writer saw variants that are gone by commit → should replace nothing else',
      run: async () => {
        const { cache } = newCache()
        const ghost = entry('ghost').record
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        await put(cache, entry('gz', GZ, 'accept-encoding'), GZ, [ghost])
        return bodies(cache)
      },
      want: ['gz', 'br']
    },
    {
      name: 'when more variants arrive than maxVariants → should keep only the newest',
      run: async () => {
        const { cache } = newCache({ maxVariants: 2 })
        for (const lang of ['fr', 'de', 'en']) await put(cache, entry(lang, { 'accept-language': lang }, 'accept-language'), { 'accept-language': lang })
        return [await bodies(cache), await bodyFor(cache, { 'accept-language': 'fr' })]
      },
      want: [['en', 'de'], undefined]
    },
    {
      name: 'when a Vary: * response is stored → should never be selected',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('star', { accept: 'a' }, '*'), { accept: 'a' })
        const got = await cache.lookup(KEY, { accept: 'a' })
        return [got.entry, got.variants.length]
      },
      want: [undefined, 1]
    },
    {
      name: 'when a URL is invalidated → should drop every variant (§4.4) and advance its generation',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('gz', GZ, 'accept-encoding'), GZ)
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        await put(cache, entry('b', {}, undefined, T0, 'http://example.com/b'), {})
        const before = cache.generation(KEY)
        const n = await cache.invalidate(KEY)
        return [n, (await cache.lookup(KEY, GZ)).variants.length, await bodies(cache), await bodyFor(cache, {}, 'http://example.com/b'), before, cache.generation(KEY), cache.generation('http://example.com/b')]
      },
      want: [2, 0, [], 'b', 0, 1, 0]
    },
    {
      name: 'when a URL with nothing stored is invalidated → should still advance its generation (a GET in flight must not store)',
      run: async () => {
        const { cache } = newCache()
        await cache.invalidate(KEY)
        await cache.invalidate(KEY)
        return [cache.generation(KEY), await bodies(cache)]
      },
      want: [2, []]
    },
    {
      name: 'when one variant is removed by id → should keep the others',
      run: async () => {
        const { cache } = newCache()
        const gz = entry('gz', GZ, 'accept-encoding')
        await put(cache, gz, GZ)
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        const n = await cache.remove(KEY, [gz.record.id])
        return [n, await bodies(cache)]
      },
      want: [1, ['br']]
    },
    {
      name: 'when an id no longer stored is removed → should remove nothing',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        return [await cache.remove(KEY, ['gone']), await bodies(cache)]
      },
      want: [0, ['br']]
    },
    {
      name: 'when the last variant is removed → should forget the URL',
      run: async () => {
        const { cache } = newCache()
        const only = entry('only')
        await put(cache, only, {})
        await cache.remove(KEY, [only.record.id])
        return (await cache.lookup(KEY, {})).variants.length
      },
      want: 0
    },
    {
      name: 'when a variant is updated with its freshened copy → should serve the copy in the same place, with the same body',
      run: async () => {
        const { cache } = newCache()
        const gz = entry('gz', GZ, 'accept-encoding')
        await put(cache, gz, GZ)
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        const update = storedHeaders({ date: formatHttpDate(T0 + 90_000), 'x-fresh': '1' }, parseCacheControl(undefined), OPTS, T0 + 90_000)
        const fresh = freshen(gz.record, update, undefined, parseCacheControl(undefined), undefined, { requestTime: T0 + 90_000, responseTime: T0 + 90_000 }, OPTS)
        await cache.update([fresh])
        const v = (await cache.lookup(KEY, GZ)).entry
        return [await bodies(cache), v?.record.headers['x-fresh'], v?.record.id === gz.record.id, v?.record.responseTime]
      },
      want: [['br', 'gz'], '1', true, T0 + 90_000]
    },
    {
      name: 'when the freshened record is a copy (as a shared tier hands out) → should still update the variant, addressed by id',
      run: async () => {
        const { cache } = newCache()
        const gz = entry('gz', GZ, 'accept-encoding')
        await put(cache, gz, GZ)
        const copy = structuredClone((await cache.variants(KEY))[0]!.record)
        await cache.update([{ ...copy, headers: { ...copy.headers, 'x-fresh': '2' } }])
        return [(await cache.lookup(KEY, GZ)).entry?.record.headers['x-fresh'], await bodies(cache)]
      },
      want: ['2', ['gz']]
    },
    {
      name: 'when an update names a variant that is gone → should not bring it back',
      run: async () => {
        const { cache } = newCache()
        const gz = entry('gz', GZ, 'accept-encoding')
        await put(cache, gz, GZ)
        await cache.remove(KEY, [gz.record.id])
        await cache.update([gz.record])
        return (await cache.variants(KEY)).length
      },
      want: 0
    },
    {
      name: 'when a URL is soft-purged → should keep its variants, stale from now on',
      run: async () => {
        const { cache } = newCache()
        await put(cache, entry('gz', GZ, 'accept-encoding'), GZ)
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        const n = await cache.purge(KEY, true, T0 + 10_000)
        return [n, await bodies(cache), (await cache.variants(KEY)).map(v => v.record.lifetime)]
      },
      want: [2, ['br', 'gz'], [10_000, 10_000]]
    },
    {
      name: 'when every variant is past the time policy needs it → should not be stored',
      run: async () => {
        // fresh for 60 s, kept at least a further 60 s for max-stale; the store's clock is 10 minutes later
        const { cache } = newCache({}, 1_000_000, 1_000_000, T0 + 600_000)
        const stored = await put(cache, entry('old', {}, undefined, T0, KEY, { ...OPTS, keepStale: 0 }), {})
        return [stored, (await cache.lookup(KEY, {})).variants.length]
      },
      want: [true, 0]
    }
  ]
  for (const r of rows) t.same(await r.run(), r.want, r.name)
})

t.test('HttpCache over a byte-bounded store', async t => {
  const size = heldSize(entry('aaaa').record)
  interface Row { name: string, run: () => Promise<unknown>, want: unknown }
  const rows: Row[] = [
    {
      name: 'when a third URL exceeds the byte bound → should evict the least recently used URL',
      run: async () => {
        const { cache, store } = newCache({}, Math.floor(size * 2.5), size * 2)
        await put(cache, entry('aaaa', {}, undefined, T0, 'http://x/1'), {})
        await put(cache, entry('bbbb', {}, undefined, T0, 'http://x/2'), {})
        await cache.lookup('http://x/1', {})
        await put(cache, entry('cccc', {}, undefined, T0, 'http://x/3'), {})
        return [await bodyFor(cache, {}, 'http://x/1'), await bodyFor(cache, {}, 'http://x/2'), await bodyFor(cache, {}, 'http://x/3'), store.stats().evictions]
      },
      want: ['aaaa', undefined, 'cccc', 1]
    },
    {
      name: 'when a response is larger than the per-entry bound → should not be stored',
      run: async () => {
        const { cache } = newCache({}, size * 10, variantSize(entry('aaaa').record) - 1)
        const stored = await put(cache, entry('aaaa'), {})
        return [stored, (await cache.lookup(KEY, {})).variants.length]
      },
      want: [false, 0]
    },
    {
      name: 'when a URL holds several variants → should count all of their bytes',
      run: async () => {
        const { cache, store } = newCache()
        await put(cache, entry('gz', GZ, 'accept-encoding'), GZ)
        await put(cache, entry('br', BR, 'accept-encoding'), BR)
        const sum = (await cache.variants(KEY)).reduce((n, v) => n + heldSize(v.record), 0)
        return [store.stats().bytes === sum && sum > 0, store.stats().entries]
      },
      want: [true, 2]
    }
  ]
  for (const r of rows) t.same(await r.run(), r.want, r.name)
})
