// responseDirectives (proxy/effects.ts): a response's effective directives, reusing the parse of a
// Cache-Control value seen before, never in place of a targeted field (RFC 9213 §2.2).

import t from 'tap'
import { responseDirectives } from '../../src/proxy/effects.ts'
import { effectiveDirectives } from '../../src/http/targeted.ts'

const TARGETS = ['freshgate-cache-control', 'cdn-cache-control']

t.test('responseDirectives', async t => {
  const rows: Array<[string, Record<string, string | string[] | undefined>]> = [
    ['when only Cache-Control is present → should be its directives', { 'cache-control': 'max-age=60, public' }],
    ['when a targeted field is present → should be the targeted field\'s, although the same Cache-Control was seen', { 'cache-control': 'max-age=60, public', 'cdn-cache-control': 'no-store' }],
    ['when the higher-precedence targeted field is present → should be that one', { 'cache-control': 'max-age=60, public', 'cdn-cache-control': 'max-age=5', 'freshgate-cache-control': 'max-age=9' }],
    ['when Cache-Control is repeated → should join the lines', { 'cache-control': ['max-age=60', 'no-store'] }],
    ['when Cache-Control is absent → should be no directives', {}],
    ['when Cache-Control is malformed → should be what the parser makes of it', { 'cache-control': 'max-age=abc' }]
  ]
  for (const [name, headers] of rows) {
    t.same(responseDirectives(headers, TARGETS), effectiveDirectives(headers, TARGETS), name)
    t.same(responseDirectives(headers, TARGETS), effectiveDirectives(headers, TARGETS), `${name} (asked again)`)
  }
  const a = responseDirectives({ 'cache-control': 'no-store' }, TARGETS)
  t.equal(responseDirectives({ 'cache-control': 'no-store' }, TARGETS), a, 'when the same value comes again → should reuse the parse')
  t.equal(a.cc.noStore, true)
})
