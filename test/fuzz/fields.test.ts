// Property-based tests of the shared field helpers (RFC 9110 §5.6) and hop-by-hop fields (§7.6.1):
// never throws, lists split where the grammar says, quoted strings round-trip.

import t from 'tap'
import fc from 'fast-check'
import { splitList, splitParameters, unquote, isToken, joinField, singleField } from '../../src/http/fields.ts'
import { hopByHopFor, HOP_BY_HOP } from '../../src/http/hop-by-hop.ts'
import { property, anyField, token, ows, flips, mixCase } from './support.ts'

t.test('list and quoted-string helpers', async t => {
  property(t, 'splitList: any input → trimmed, non-empty members', anyField, v => splitList(v).every(m => m !== '' && m === m.trim()))
  property(t, 'splitParameters: any member → trimmed, non-empty parts', anyField.map(v => joinField(v) ?? ''), v => splitParameters(v).every(m => m !== '' && m === m.trim()))
  property(t, 'splitList: members with any OWS come back as written', fc.tuple(fc.array(token, { maxLength: 6 }), ows, ows), ([members, a, b]) =>
    splitList(members.join(`${a},${b}`)).join('\n') === members.join('\n'))
  const qdtext = fc.string({ unit: fc.constantFrom(...'ab ,;="\\\t~'), maxLength: 10 })
  property(t, 'a quoted string holding commas stays one member and unquotes to its text', qdtext, text => {
    const quoted = `"${text.replace(/(["\\])/g, '\\$1')}"`
    const members = splitList(`x=${quoted}, y`)
    return members.length === 2 && unquote(members[0]!.slice(2)) === text
  })
  property(t, 'isToken never throws', anyField.map(v => joinField(v) ?? ''), v => typeof isToken(v) === 'boolean')
  property(t, 'singleField: a repeated field has no single value', fc.array(token, { minLength: 2, maxLength: 3 }), v => singleField(v) === undefined)
})

t.test('hopByHopFor (RFC 9110 §7.6.1)', async t => {
  property(t, 'any Connection → the fixed set plus lowercased names', anyField, v => {
    const got = hopByHopFor(v)
    return [...HOP_BY_HOP].every(n => got.has(n)) && [...got].every(n => n === n.toLowerCase())
  })
  property(t, 'every field Connection names is dropped, whatever its case', fc.tuple(fc.array(token, { minLength: 1, maxLength: 4 }), flips), ([names, f]) => {
    const got = hopByHopFor(names.map(n => mixCase(n, f)).join(', '))
    // "close" is a connection option, not a field name.
    return names.filter(n => n.toLowerCase() !== 'close').every(n => got.has(n.toLowerCase()))
  })
})
