// Partial content end to end (RFC 9111 §3.3, §3.4): 206 parts stored, ranges served from them,
// parts merged and completed into a stored 200, uncovered ranges fetched as ranges, hostile 206s
// refused — against a real origin that honours Range and counts the bytes it served.

import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setup, get, type Origin } from './harness.ts'

const BODY = 'abcdefghijklmnopqrstuvwxyz'

/** What the origin serves; tests change it between requests. */
interface Rep { body: string, etag: string, extra?: Record<string, string> }

/** An origin that answers a single byte range with 206 (a whole GET with 200), counting body bytes. */
function rangeOrigin (rep: Rep, served: { bytes: number }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const head = { 'cache-control': 'max-age=60', etag: rep.etag, 'content-type': 'text/plain', ...rep.extra }
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '')
    if (m === null) {
      res.writeHead(200, head)
      served.bytes += rep.body.length
      res.end(rep.body)
      return
    }
    const len = rep.body.length
    const start = m[1] === '' ? len - Number(m[2]) : Number(m[1])
    const end = m[1] === '' || m[2] === '' ? len - 1 : Math.min(Number(m[2]), len - 1)
    const slice = rep.body.slice(start, end + 1)
    res.writeHead(206, { ...head, 'content-range': `bytes ${start}-${end}/${len}`, 'content-length': String(slice.length) })
    served.bytes += slice.length
    res.end(slice)
  }
}

const NO_FILL = { 'cache.rangeFill': false }

async function ranged (url: string, range: string, extra: Record<string, string> = {}) {
  return await get(url, { headers: { range, ...extra } })
}

/** Lets a part's store write (it completes after the response is sent) land. */
const settle = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 30)) }

function rangesSeen (origin: Origin): Array<string | undefined> {
  return origin.seen.map(s => s.headers.range)
}

t.test('a 206 with a strong ETag is stored; later ranges it covers are answered from it', async t => {
  const served = { bytes: 0 }
  const { origin, proxy } = await setup(t, rangeOrigin({ body: BODY, etag: '"v1"' }, served), NO_FILL)
  const miss = await ranged(`${proxy.url}/p`, 'bytes=0-9', { 'if-none-match': '"zzz"', cookie: 'c=1' })
  t.equal(miss.status, 206)
  t.equal(miss.body, 'abcdefghij')
  t.equal(origin.count(), 1)
  // A conditional Range request goes as it is; a plain one fetches its range and stores it.
  t.equal(origin.seen[0]!.headers['if-none-match'], '"zzz"', 'a conditional Range request is forwarded as it is')
  const first = await ranged(`${proxy.url}/p`, 'bytes=0-9', { cookie: 'c=1', 'if-modified-since': 'x' })
  t.equal(first.status, 206)
  const plain = await ranged(`${proxy.url}/p`, 'bytes=0-9')
  t.match(plain.cs, /fwd=uri-miss; stored/, 'a plain Range miss stores its 206')
  t.equal(origin.seen[2]!.headers.range, 'bytes=0-9', 'only the client Range goes upstream')
  await settle()
  const cases: Array<[string, number, string, string]> = [
    ['bytes=2-5', 206, 'cdef', 'bytes 2-5/26'],
    ['bytes=0-9', 206, 'abcdefghij', 'bytes 0-9/26'],
    ['bytes=26-', 416, '', 'bytes */26']
  ]
  for (const [range, status, body, cr] of cases) {
    const r = await ranged(`${proxy.url}/p`, range)
    t.equal(r.status, status, `${range} → ${status} from the parts`)
    t.equal(r.body, body)
    t.equal(r.headers['content-range'], cr)
    t.equal(r.headers['content-length'], String(body.length))
    t.match(r.cs, /; hit/)
    t.equal(r.headers['freshgate-parts'], undefined, 'the internal field never reaches the client')
  }
  t.equal(origin.count(), 3, 'no request reached the origin for covered ranges')
  t.equal(served.bytes, 30)
  const whole = await get(`${proxy.url}/p`)
  t.equal(whole.status, 200, 'a full GET is not answered from parts')
  t.equal(whole.body, BODY)
  t.equal(origin.count(), 4)
})

t.test('uncovered ranges are fetched as ranges and merged; covering parts complete the entry', async t => {
  const served = { bytes: 0 }
  const { origin, proxy } = await setup(t, rangeOrigin({ body: BODY, etag: '"v1"' }, served), NO_FILL)
  await ranged(`${proxy.url}/c`, 'bytes=0-9')
  await settle()
  const across = await ranged(`${proxy.url}/c`, 'bytes=5-14')
  t.equal(across.status, 206)
  t.equal(across.body, 'fghijklmno')
  t.match(across.cs, /fwd=partial; stored/, 'a range across the stored part goes upstream')
  t.same(rangesSeen(origin), ['bytes=0-9', 'bytes=5-14'], 'as the client range alone')
  await settle()
  const inside = await ranged(`${proxy.url}/c`, 'bytes=3-12')
  t.equal(inside.body, 'defghijklm', 'the merged parts answer a range spanning both')
  t.equal(origin.count(), 2)
  await ranged(`${proxy.url}/c`, 'bytes=15-')
  await settle()
  t.equal(origin.count(), 3)
  const whole = await get(`${proxy.url}/c`)
  t.equal(whole.status, 200, 'the covered representation is an ordinary stored 200')
  t.equal(whole.body, BODY)
  t.equal(whole.headers['content-length'], String(BODY.length))
  t.equal(whole.headers['content-range'], undefined)
  t.match(whole.cs, /; hit/)
  const r = await ranged(`${proxy.url}/c`, 'bytes=-3')
  t.equal(r.body, 'xyz')
  t.equal(r.headers['content-range'], 'bytes 23-25/26')
  t.equal(origin.count(), 3, 'the completed entry answered without the origin')
  t.equal(served.bytes, 10 + 10 + 11, 'the origin served each byte range once')
})

t.test('If-Range is honoured against the parts', async t => {
  const { origin, proxy } = await setup(t, rangeOrigin({ body: BODY, etag: '"v1"' }, { bytes: 0 }), NO_FILL)
  await ranged(`${proxy.url}/i`, 'bytes=0-9')
  await settle()
  const match = await ranged(`${proxy.url}/i`, 'bytes=1-2', { 'if-range': '"v1"' })
  t.equal(match.body, 'bc')
  t.equal(origin.count(), 1, 'a matching If-Range is answered from the parts')
  const other = await ranged(`${proxy.url}/i`, 'bytes=1-2', { 'if-range': '"v0"' })
  t.equal(origin.count(), 2, 'a different If-Range goes to the origin')
  t.equal(origin.seen[1]!.headers['if-range'], '"v0"', 'with the If-Range, which decides what comes back')
  t.equal(other.status, 206, 'this origin ignores If-Range')
})

t.test('a 206 for another validator drops the old parts', async t => {
  const rep: Rep = { body: BODY, etag: '"v1"' }
  const { origin, proxy } = await setup(t, rangeOrigin(rep, { bytes: 0 }), NO_FILL)
  await ranged(`${proxy.url}/v`, 'bytes=0-9')
  await settle()
  rep.etag = '"v2"'
  rep.body = BODY.toUpperCase()
  const r = await ranged(`${proxy.url}/v`, 'bytes=10-19')
  t.equal(r.body, 'KLMNOPQRST')
  await settle()
  const again = await ranged(`${proxy.url}/v`, 'bytes=0-9')
  t.equal(again.body, 'ABCDEFGHIJ', 'the old part was not served with the new one')
  t.equal(origin.count(), 3)
  t.equal((await ranged(`${proxy.url}/v`, 'bytes=12-13')).body, 'MN', 'the new part is kept')
  t.equal(origin.count(), 3)
})

t.test('overlapping parts whose bytes differ under the same validator discard every part', async t => {
  const rep: Rep = { body: BODY, etag: '"v1"' }
  const { origin, proxy } = await setup(t, rangeOrigin(rep, { bytes: 0 }), NO_FILL)
  await ranged(`${proxy.url}/x`, 'bytes=0-9')
  await settle()
  rep.body = 'abcdeXXXXXklmnopqrstuvwxyz'
  const r = await ranged(`${proxy.url}/x`, 'bytes=5-14')
  t.equal(r.body, 'XXXXXklmno', 'the client still gets what the origin sent')
  await settle()
  await ranged(`${proxy.url}/x`, 'bytes=0-1')
  t.equal(origin.count(), 3, 'the first part was discarded')
  t.equal(proxy.fg.store!.stats().entries, 1, 'only the part fetched since is held')
})

t.test('hostile or unmergeable 206 responses are passed on and not stored', async t => {
  const cases: Array<[string, (res: ServerResponse) => void, RegExp]> = [
    ['Content-Range disagrees with Content-Length', res => {
      res.writeHead(206, { etag: '"a"', 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/26', 'content-length': '3' })
      res.end('abc')
    }, /detail=length-mismatch/],
    ['Content-Range disagrees with the chunked body', res => {
      res.writeHead(206, { etag: '"a"', 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/26' })
      res.write('abc')
      res.end('defgh')
    }, /; stored/],
    ['a body shorter than the Content-Range', res => {
      res.writeHead(206, { etag: '"a"', 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/26' })
      res.end('ab')
    }, /; stored/],
    ['multipart/byteranges', res => {
      res.writeHead(206, { etag: '"a"', 'cache-control': 'max-age=60', 'content-type': 'multipart/byteranges; boundary=B', 'content-length': '2' })
      res.end('--')
    }, /detail=multipart/],
    ['a huge complete length', res => {
      res.writeHead(206, { etag: '"a"', 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/999999999999999', 'content-length': '5' })
      res.end('abcde')
    }, /detail=too-large/],
    ['a weak ETag', res => {
      res.writeHead(206, { etag: 'W/"a"', 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/26', 'content-length': '5' })
      res.end('abcde')
    }, /detail=weak-validator/],
    ['no-store', res => {
      res.writeHead(206, { etag: '"a"', 'cache-control': 'no-store', 'content-range': 'bytes 0-4/26', 'content-length': '5' })
      res.end('abcde')
    }, /detail=no-store/]
  ]
  for (const [name, answer, status] of cases) {
    const { origin, proxy } = await setup(t, (_req, res) => answer(res), NO_FILL)
    const r = await ranged(`${proxy.url}/h`, 'bytes=0-4').catch(() => undefined)
    // A body that disagrees is only found at its end, after the head announced storing.
    if (r !== undefined) t.match(r.cs, status, `${name}: Cache-Status says ${status.source}`)
    await settle()
    t.equal(proxy.fg.store!.stats().entries, 0, `${name}: nothing stored`)
    await ranged(`${proxy.url}/h`, 'bytes=0-1').catch(() => undefined)
    t.equal(origin.count(), 2, `${name}: the next range goes to the origin`)
  }
})

t.test('Last-Modified is a strong validator when Date is at least 60 s later (RFC 9110 §8.8.2.2)', async t => {
  const { origin, proxy, clock } = await setup(t, (req, res, _b, clock) => {
    const lm = new Date(clock.t - 3_600_000).toUTCString()
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!
    const slice = BODY.slice(Number(m[1]), Number(m[2]) + 1)
    res.writeHead(206, { 'last-modified': lm, date: new Date(clock.t).toUTCString(), 'cache-control': 'max-age=60', 'content-range': `bytes ${m[1]}-${m[2]}/26`, 'content-length': String(slice.length) })
    res.end(slice)
  }, NO_FILL)
  void clock
  await ranged(`${proxy.url}/lm`, 'bytes=0-3')
  await settle()
  t.equal((await ranged(`${proxy.url}/lm`, 'bytes=1-2')).body, 'bc')
  t.equal(origin.count(), 1, 'served from the part')
})

t.test('parts are bounded: per entry by cache.maxEntrySize, and they count against the store bound', async t => {
  const big = 'x'.repeat(2000)
  const { origin, proxy } = await setup(t, rangeOrigin({ body: big, etag: '"b"' }, { bytes: 0 }), { ...NO_FILL, 'cache.maxSize': 1_000_000, 'cache.maxEntrySize': 1000 })
  const r = await ranged(`${proxy.url}/big`, 'bytes=0-9')
  t.match(r.cs, /detail=too-large/, 'a representation past the entry limit keeps no parts')
  await settle()
  t.equal(proxy.fg.store!.stats().entries, 0)
  const { proxy: p2 } = await setup(t, rangeOrigin({ body: BODY, etag: '"b"' }, { bytes: 0 }), NO_FILL)
  await ranged(`${p2.url}/s`, 'bytes=0-9')
  await settle()
  const stats = p2.fg.store!.stats()
  t.equal(stats.entries, 1, 'the parts are one stored variant')
  t.ok(stats.bytes >= 10, 'whose bytes count against the store bound')
  void origin
})

t.test('a background fill carries only what the key needs', async t => {
  const { origin, proxy } = await setup(t, rangeOrigin({ body: BODY, etag: '"f"', extra: { vary: 'accept-language' } }, { bytes: 0 }), { compress: false })
  await get(`${proxy.url}/f`, { headers: { 'accept-language': 'de', cookie: 'c=1' } })
  await get(`${proxy.url}/g`, { headers: { range: 'bytes=0-1', 'accept-language': 'de', 'accept-encoding': 'gzip', cookie: 'session=1', 'user-agent': 'ua', 'cache-control': 'no-cache' } })
  await settle()
  const fill = origin.seen.find(s => s.url === '/g' && s.headers.range === undefined)
  t.ok(fill !== undefined, 'the whole response was fetched in the background')
  t.equal(fill!.headers.cookie, undefined, 'without the client cookie')
  t.equal(fill!.headers['user-agent'], undefined, 'without its other fields')
  t.equal(fill!.headers['cache-control'], undefined, 'without its directives')
  t.equal(fill!.headers['accept-encoding'], 'gzip', 'with Accept-Encoding, which selects the bytes')
  t.equal(fill!.headers['accept-language'], undefined, 'no variant of /g was stored, so no Vary field is known')
  const de = await get(`${proxy.url}/g`, { headers: { 'accept-encoding': 'gzip', 'accept-language': 'de' } })
  t.equal(de.body, BODY)
  t.equal(origin.seen.filter(s => s.url === '/g').length, 3, 'the fill is not stored as the client\'s variant (it did not send Accept-Language)')
  const none = await get(`${proxy.url}/g`, { headers: { 'accept-encoding': 'gzip' } })
  t.match(none.cs, /; hit/, 'but as the variant of what it sent')
})

t.test('an origin that ignores Range: its 200 to a fetched range is stored as the whole response', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(200, { etag: '"w"', 'cache-control': 'max-age=60' })
    res.end(BODY)
  }, NO_FILL)
  const r = await ranged(`${proxy.url}/w`, 'bytes=0-1')
  t.equal(r.status, 200)
  t.equal(r.body, BODY)
  t.match(r.cs, /; stored/)
  await settle()
  const part = await ranged(`${proxy.url}/w`, 'bytes=0-1')
  t.equal(part.status, 206, 'later ranges are answered from it')
  t.equal(part.body, 'ab')
  t.equal((await get(`${proxy.url}/w`)).body, BODY)
  t.equal(origin.count(), 1)
})

t.test('a 416 to a fetched range is passed on and not stored', async t => {
  const { origin, proxy } = await setup(t, (_req, res) => {
    res.writeHead(416, { 'content-range': 'bytes */26', 'cache-control': 'max-age=60' })
    res.end()
  }, NO_FILL)
  t.equal((await ranged(`${proxy.url}/u`, 'bytes=30-')).status, 416)
  await settle()
  t.equal((await ranged(`${proxy.url}/u`, 'bytes=30-')).status, 416)
  t.equal(origin.count(), 2)
  t.equal(proxy.fg.store!.stats().entries, 0)
})

t.test('requests the parts may not answer go to the origin as they are', async t => {
  const { origin, proxy } = await setup(t, rangeOrigin({ body: BODY, etag: '"m"' }, { bytes: 0 }), { ...NO_FILL, routes: [{ prefix: '/live/', cache: { enabled: false } }] })
  await ranged(`${proxy.url}/m`, 'bytes=0-9')
  await settle()
  await ranged(`${proxy.url}/m`, 'bytes=0-1', { 'if-match': '"m"' })
  t.equal(origin.count(), 2, 'If-Match is evaluated by the origin only (§4.3.2)')
  t.equal(origin.seen[1]!.headers['if-match'], '"m"', 'and reaches it')
  await ranged(`${proxy.url}/m`, 'bytes=0-1', { authorization: 'Basic eDp5' })
  t.equal(origin.count(), 3, 'a request with Authorization is not answered from parts')
  await ranged(`${proxy.url}/live/m`, 'bytes=0-1')
  await settle()
  await ranged(`${proxy.url}/live/m`, 'bytes=0-1')
  t.equal(origin.count(), 5, 'a route with the cache disabled keeps no parts')
  t.equal(proxy.fg.store!.stats().entries, 1)
})

t.test('a stale-while-revalidate revalidation is freshgate\'s own request too', async t => {
  const { origin, proxy, clock } = await setup(t, (_req, res) => {
    res.writeHead(200, { etag: '"s"', 'cache-control': 'max-age=1, stale-while-revalidate=300' })
    res.end(BODY)
  })
  await get(`${proxy.url}/swr`)
  clock.advance(5)
  const stale = await get(`${proxy.url}/swr`, { headers: { cookie: 'session=1', 'if-none-match': '"zzz"', 'accept-encoding': 'br' } })
  t.match(stale.cs, /stale-while-revalidate/)
  await settle()
  t.equal(origin.count(), 2, 'one background revalidation')
  const bg = origin.seen[1]!
  t.equal(bg.headers.cookie, undefined, 'without the client cookie')
  t.equal(bg.headers['if-none-match'], '"s"', 'with the cache\'s own validator, not the client\'s')
  t.equal(bg.headers['accept-encoding'], 'br')
})
