// The routes option: every malformed route is refused with the key, the value and the expectation.

import t from 'tap'
import { loadConfig } from '../../src/config/load.ts'
import { ConfigError } from '../../src/errors.ts'

const origin = 'http://127.0.0.1:3000'

function refusal (fn: () => unknown): Error | undefined {
  try { fn() } catch (err) { return err as Error }
  return undefined
}

t.test('valid routes are normalised', async t => {
  const c = loadConfig({ flags: { origin, routes: [{ host: 'API.example.com', prefix: '/api/', origin: 'http://127.0.0.1:4000/', cache: { defaultTtl: '1m', ignoreQuery: ['utm'] } }] } })
  t.same(c.routes, [{ host: 'api.example.com', prefix: '/api/', origin: 'http://127.0.0.1:4000', cache: { enabled: true, defaultTtl: 60_000, ignoreQuery: ['utm'], sortQuery: false } }])
  t.ok(Object.isFrozen(c.routes[0]!.cache), 'frozen')
  const fromJson = loadConfig({ env: { FRESHGATE_ROUTES: '[{"prefix":"/x/"}]' }, flags: { origin } })
  t.equal(fromJson.routes[0]!.prefix, '/x/', 'JSON text from the environment')
})

t.test('the global controls may be set per route; unset ones follow the global option', async t => {
  const c = loadConfig({ flags: { origin, routes: [{ prefix: '/a/', cache: { ignoreClientNoCache: true, requestCookies: 'pass', overrideTtl: { 200: '10m' }, minTtl: { any: 5 }, maxTtl: {} } }, { prefix: '/b/' }] } })
  t.same(c.routes[0]!.cache, { enabled: true, defaultTtl: 0, ignoreQuery: false, sortQuery: false, ignoreClientNoCache: true, requestCookies: 'pass', overrideTtl: { 200: 600_000 }, minTtl: { any: 5000 }, maxTtl: {} })
  t.same(c.routes[1]!.cache, { enabled: true, defaultTtl: 0, ignoreQuery: false, sortQuery: false }, 'nothing set: the global options apply')
})

const bad: Array<[string, unknown, RegExp]> = [
  ['not a list', { a: 1 }, /^routes \(--routes\): got .*, expected a list of routes$/],
  ['an unknown route key', [{ pathprefix: '/' }], /^routes\[0\]\.pathprefix \(--routes\): got "\/", expected one of host, prefix, origin, cache, headers$/],
  ['a prefix without a slash', [{ prefix: 'api' }], /^routes\[0\]\.prefix \(--routes\): got "api", expected a path prefix starting with "\/"$/],
  ['a host with a path', [{ host: 'a.example/x' }], /^routes\[0\]\.host \(--routes\): got "a\.example\/x", expected a host name/],
  ['an origin with a path', [{ origin: 'http://a/b' }], /^routes\[0\]\.origin \(--routes\): got "http:\/\/a\/b", expected an http/],
  ['an unknown cache key', [{ cache: { ttl: 5 } }], /^routes\[0\]\.cache\.ttl \(--routes\): got 5, expected one of enabled/],
  ['a non-boolean enabled', [{ cache: { enabled: 'yes' } }], /^routes\[0\]\.cache\.enabled \(--routes\): got "yes", expected true or false$/],
  ['a bad defaultTtl', [{ cache: { defaultTtl: 'soon' } }], /^routes\[0\]\.cache\.defaultTtl \(--routes\): got "soon", expected a duration/],
  ['a bad ignoreQuery', [{ cache: { ignoreQuery: 'utm' } }], /^routes\[0\]\.cache\.ignoreQuery \(--routes\): got "utm", expected true, false or a list/],
  ['invalid JSON text', '[{', /^routes \(--routes\): got "\[\{", expected a JSON list of routes$/],
  ['a bad requestCookies', [{ cache: { requestCookies: 'strip' } }], /^routes\[0\]\.cache\.requestCookies \(--routes\): got "strip", expected "store" or "pass"$/],
  ['a non-boolean ignoreClientNoCache', [{ cache: { ignoreClientNoCache: 1 } }], /^routes\[0\]\.cache\.ignoreClientNoCache \(--routes\): got 1, expected true or false$/],
  ['a TTL table keyed by a class', [{ cache: { overrideTtl: { '2xx': '1m' } } }], /^routes\[0\]\.cache\.overrideTtl\.2xx \(--routes\): got "1m", expected a mapping of status codes/],
  ['a TTL table with a bad duration', [{ cache: { maxTtl: { 200: 'soon' } } }], /^routes\[0\]\.cache\.maxTtl\.200 \(--routes\): got "soon", expected a duration/],
  ['keyHeaders that are not field names', [{ cache: { keyHeaders: ['x device'] } }], /^routes\[0\]\.cache\.keyHeaders \(--routes\): got \["x device"\], expected a list of request field names$/],
  ['keyCookies that are not a list', [{ cache: { keyCookies: 'lang' } }], /^routes\[0\]\.cache\.keyCookies \(--routes\): got "lang", expected a list of cookie names$/],
  ['a TTL table that is a list', [{ cache: { minTtl: [1] } }], /^routes\[0\]\.cache\.minTtl \(--routes\): got \[1\], expected a mapping of status codes/]
]
for (const [name, routes, message] of bad) {
  t.test(`when routes has ${name} → should refuse it`, async t => {
    const err = refusal(() => loadConfig({ flags: { origin, routes } }))
    t.type(err, ConfigError)
    t.match(err?.message, message)
  })
}

t.test('global key fields must be names', async t => {
  t.match(refusal(() => loadConfig({ flags: { origin, 'cache.keyHeaders': 'x-ok, bad name' } }))?.message, /^cache\.keyHeaders: got "bad name", expected request field names$/)
  t.match(refusal(() => loadConfig({ flags: { origin, 'cache.keyCookies': 'a=b' } }))?.message, /^cache\.keyCookies: got "a=b", expected cookie names$/)
})

t.test('a route without origin needs a top-level origin', async t => {
  const err = refusal(() => loadConfig({ flags: { routes: [{ prefix: '/a/', origin: 'http://127.0.0.1:1' }, { prefix: '/b/' }] } }))
  t.match(err?.message, /^routes\[1\]\.origin: got undefined, expected an origin URL/)
  t.doesNotThrow(() => loadConfig({ flags: { routes: [{ prefix: '/a/', origin: 'http://127.0.0.1:1' }] } }), 'routes with origins need no top-level origin')
})
