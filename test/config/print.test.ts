// What --print-config and check-config print: durations in their shortest exact unit, secrets and
// URL passwords redacted, and output that loads back to the same printed config.

import t from 'tap'
import { loadConfig, printable, redactUrl, REDACTED } from '../../src/config/load.ts'
import { SCHEMA, type Config, type OptionSpec } from '../../src/config/schema.ts'
import { bytesText, durationText, quantity, TIME_UNITS } from '../../src/config/units.ts'
import { tempFiles } from '../support.ts'

const file = tempFiles(t, 'freshgate-print-')

t.test('durations print in the largest unit that states them exactly', async t => {
  const rows: Array<[ms: number, text: string]> = [
    [86_400_000, '1d'], [172_800_000, '2d'], [3_600_000, '1h'], [90_000, '90s'], [60_000, '1m'],
    [1500, '1500ms'], [1000, '1s'], [1, '1ms'], [0, '0s'], [90_061_000, '90061s']
  ]
  for (const [ms, text] of rows) {
    t.equal(durationText(ms), text, `when ${ms} ms → should print ${text}`)
    t.equal(quantity(text, TIME_UNITS), ms, `and ${text} should read back as ${ms} ms`)
  }
})

t.test('byte sizes print in the largest 1024-based unit that states them exactly', async t => {
  const rows: Array<[bytes: number, text: string]> = [[8 * 1024 * 1024, '8MiB'], [16384, '16KiB'], [1000, '1000'], [0, '0'], [1024 ** 3, '1GiB']]
  for (const [b, text] of rows) t.equal(bytesText(b), text, `when ${b} bytes → should print ${text}`)
})

t.test('a URL password is redacted, the rest of the URL kept', async t => {
  const rows: Array<[url: string, shown: string]> = [
    ['redis://user:pass@cache.internal:6379/0', `redis://user:${REDACTED}@cache.internal:6379/0`],
    ['redis://:pass@cache.internal:6379', `redis://:${REDACTED}@cache.internal:6379`],
    ['rediss://user:p%40ss@h/x@y', `rediss://user:${REDACTED}@h/x@y`],
    ['redis://user@cache.internal', 'redis://user@cache.internal'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['not a url', 'not a url']
  ]
  for (const [url, shown] of rows) t.equal(redactUrl(url), shown, `when ${url} → should print ${shown}`)
})

t.test('printable redacts every secret option and every URL password', async t => {
  const config = loadConfig({ flags: { origin: 'http://127.0.0.1:3000', 'admin.token': 's3cret' } })
  const printed = printable(config)
  t.equal((printed.admin as Record<string, unknown>).token, REDACTED, 'admin.token')
  t.notOk(JSON.stringify(printed).includes('s3cret'), 'the token appears nowhere')
  t.ok(SCHEMA.some(s => s.key === 'admin.token' && s.secret === true), 'admin.token is marked secret in the schema')
  // A future URL-typed option (store.shared: redis://user:pass@host) is redacted by its type alone.
  const shared: OptionSpec = { key: 'store.shared', type: 'url', flag: 'shared-store', doc: 'shared store' }
  const withShared = { ...config, store: { shared: 'redis://fg:hunter2@10.0.0.5:6379' } } as unknown as Config
  t.same(printable(withShared, [shared]), { store: { shared: `redis://fg:${REDACTED}@10.0.0.5:6379` } })
})

t.test('printed durations read as the user wrote them, and the printed config loads back unchanged', async t => {
  const path = file('origin: http://127.0.0.1:3000\ncache:\n  keepStale: 1d\n  heuristicMaxAge: 90s\ntimeouts:\n  connect: 1500ms\nadmin:\n  token: abc\n')
  const printed = printable(loadConfig({ file: path }))
  t.match(printed, { cache: { keepStale: '1d', heuristicMaxAge: '90s' }, timeouts: { connect: '1500ms', headers: '30s' }, shutdownTimeout: '10s' })
  const again = printable(loadConfig({ file: file(JSON.stringify(printed), '.json') }))
  t.same(again, printed, 'print → load → print is the identity')
})
