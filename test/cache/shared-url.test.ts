// store.shared URLs: one server, Sentinel and Cluster forms; anything else stops start-up naming the key.

import t from 'tap'
import { parseSharedTarget, checkPrefix } from '../../src/store/shared-url.ts'
import { ConfigError } from '../../src/errors.ts'

t.test('accepted forms', async t => {
  const rows = [
    { name: 'a plain URL → one server, db 0', url: 'redis://127.0.0.1:6379', want: { mode: 'single', tls: false, nodes: [{ host: '127.0.0.1', port: 6379 }], username: undefined, password: undefined, db: 0, name: undefined } },
    { name: 'user, password and db → all three', url: 'redis://app:s%40cret@cache:6380/3', want: { mode: 'single', tls: false, nodes: [{ host: 'cache', port: 6380 }], username: 'app', password: 's@cret', db: 3, name: undefined } },
    { name: 'a user alone → a user with no password', url: 'redis://app@cache', want: { mode: 'single', tls: false, nodes: [{ host: 'cache', port: 6379 }], username: 'app', password: undefined, db: 0, name: undefined } },
    { name: 'rediss:// → TLS', url: 'rediss://:pw@cache:6379', want: { mode: 'single', tls: true, nodes: [{ host: 'cache', port: 6379 }], username: undefined, password: 'pw', db: 0, name: undefined } },
    { name: 'an IPv6 host → unbracketed', url: 'redis://[::1]:7000', want: { mode: 'single', tls: false, nodes: [{ host: '::1', port: 7000 }], username: undefined, password: undefined, db: 0, name: undefined } },
    { name: 'sentinels and a master name → sentinel mode', url: 'redis+sentinel://s1:26379,s2:26380/mymaster/2', want: { mode: 'sentinel', tls: false, nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], username: undefined, password: undefined, db: 2, name: 'mymaster' } },
    { name: 'seed nodes → cluster mode', url: 'rediss+cluster://u:p@h1:7000,h2:7001', want: { mode: 'cluster', tls: true, nodes: [{ host: 'h1', port: 7000 }, { host: 'h2', port: 7001 }], username: 'u', password: 'p', db: 0, name: undefined } }
  ]
  for (const r of rows) t.same(parseSharedTarget(r.url), r.want, r.name)
})

t.test('refused forms throw a ConfigError naming store.shared', async t => {
  const rows = [
    { name: 'an http URL', url: 'http://cache:6379' },
    { name: 'several hosts without +sentinel or +cluster', url: 'redis://h1:1,h2:2' },
    { name: 'a sentinel URL without a master name', url: 'redis+sentinel://s1:26379' },
    { name: 'a cluster URL with a db', url: 'redis+cluster://h1:7000/1' },
    { name: 'a db that is not a number', url: 'redis://h:6379/zero' },
    { name: 'a port out of range', url: 'redis://h:70000' },
    { name: 'empty', url: '' }
  ]
  for (const r of rows) {
    let err: unknown
    try { parseSharedTarget(r.url) } catch (e) { err = e }
    t.ok(err instanceof ConfigError && err.key === 'store.shared' && err.message.includes('redis+sentinel://'), r.name)
  }
})

t.test('a prefix with braces → refused, since it would move keys between Cluster slots', async t => {
  t.equal(checkPrefix('freshgate:'), 'freshgate:')
  t.throws(() => checkPrefix('a{b}:'), ConfigError)
})
