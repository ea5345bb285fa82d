// Table tests for the hop-by-hop field set (RFC 9110 §7.6.1).

import t from 'tap'
import { HOP_BY_HOP, hopByHopFor } from '../../src/http/hop-by-hop.ts'

const FIXED = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate']

t.test('HOP_BY_HOP', async t => {
  const rows: Array<{ name: string, field: string, want: boolean }> = [
    ...FIXED.map(f => ({ name: `when the field is ${f} → should be hop-by-hop`, field: f, want: true })),
    { name: 'when the field is content-length → should not be hop-by-hop', field: 'content-length', want: false },
    { name: 'when the field is cache-control → should not be hop-by-hop', field: 'cache-control', want: false },
    { name: 'when the field is set-cookie → should not be hop-by-hop', field: 'set-cookie', want: false },
    { name: 'when the field is authorization → should not be hop-by-hop (only Proxy-Authorization is)', field: 'authorization', want: false }
  ]
  for (const r of rows) t.equal(HOP_BY_HOP.has(r.field), r.want, r.name)
})

t.test('hopByHopFor', async t => {
  const rows: Array<{ name: string, connection: string | string[] | undefined, adds: string[], fixedSet: boolean }> = [
    { name: 'when Connection is absent → should return the fixed set itself', connection: undefined, adds: [], fixedSet: true },
    { name: 'when Connection is empty → should return the fixed set itself', connection: '', adds: [], fixedSet: true },
    { name: 'when Connection is close → should return the fixed set itself', connection: 'close', adds: [], fixedSet: true },
    { name: 'when Connection names only close and keep-alive in any case → should return the fixed set itself', connection: 'Close, Keep-Alive', adds: [], fixedSet: true },
    { name: 'when Connection names a field → should add it', connection: 'x-foo', adds: ['x-foo'], fixedSet: false },
    { name: 'when Connection names fields in mixed case → should add them lowercased', connection: 'keep-alive, X-Trace, X-B ', adds: ['x-trace', 'x-b'], fixedSet: false },
    { name: 'when Connection arrives on several lines → should add the fields of every line', connection: ['x-a', 'close, x-b'], adds: ['x-a', 'x-b'], fixedSet: false }
  ]
  for (const r of rows) {
    const set = hopByHopFor(r.connection)
    t.equal(set === HOP_BY_HOP, r.fixedSet, `${r.name} (identity)`)
    t.same([...set].sort(), [...FIXED, ...r.adds].sort(), `${r.name} (members)`)
  }
  t.notOk(HOP_BY_HOP.has('x-foo'), 'when a Connection header named a field → should not change the fixed set')
})
