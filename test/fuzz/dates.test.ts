// Property-based tests of HTTP-date (RFC 9110 §5.6.7) and delta-seconds (RFC 9111 §1.2.2):
// never throws, formatHttpDate round-trips, the three formats and any letter case agree.

import t from 'tap'
import fc from 'fast-check'
import { parseHttpDate, formatHttpDate, parseDeltaSeconds, DELTA_SECONDS_MAX } from '../../src/http/dates.ts'
import { property, anyField, fieldChars, flips, mixCase } from './support.ts'

/** Instants from year 1 to year 9999, the years an IMF-fixdate can write. */
const YEAR_1 = new Date(0).setUTCFullYear(1, 0, 1)
const YEAR_9999_END = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
const instant = fc.oneof(
  fc.integer({ min: YEAR_1, max: YEAR_9999_END }),
  fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) })
)
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number, w = 2): string => String(n).padStart(w, '0')

/** The rfc850-date and asctime-date forms of an instant (whole seconds). */
function otherForms (ms: number): { rfc850: string, asctime: string } {
  const d = new Date(ms)
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  const day = DAYS[d.getUTCDay()]!
  const mon = MONTHS[d.getUTCMonth()]!
  return {
    rfc850: `${day}, ${pad(d.getUTCDate())}-${mon}-${pad(d.getUTCFullYear() % 100)} ${time} GMT`,
    asctime: `${day.slice(0, 3)} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} ${pad(d.getUTCFullYear(), 4)}`
  }
}

const whole = (ms: number): number => Math.floor(ms / 1000) * 1000

t.test('parseHttpDate never throws', async t => {
  const single = anyField.map(v => Array.isArray(v) ? v.join(', ') : v)
  property(t, 'any input → undefined or a whole second', fc.tuple(single, fc.option(instant, { nil: undefined })), ([v, now]) => {
    const got = parseHttpDate(v, now)
    return got === undefined || (Number.isInteger(got) && got % 1000 === 0)
  })
  const dateLike = fc.tuple(fc.constantFrom('Sun, ', 'Sunday, ', 'Sun ', ''), fieldChars(30)).map(([a, b]) => a + b)
  property(t, 'date-like noise → undefined or a whole second', dateLike, v => {
    const got = parseHttpDate(v)
    return got === undefined || Number.isInteger(got)
  })
})

t.test('formatHttpDate and parseHttpDate round-trip', async t => {
  property(t, 'format → parse gives the instant to the second', instant, ms => parseHttpDate(formatHttpDate(ms)) === whole(ms))
  property(t, 'format is an IMF-fixdate of 29 characters', instant, ms => /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(formatHttpDate(ms)))
  property(t, 'any letter case parses the same (RFC 9110 §5.6.7 robustness)', fc.tuple(instant, flips), ([ms, f]) => parseHttpDate(mixCase(formatHttpDate(ms), f)) === whole(ms))
  property(t, 'surrounding whitespace is ignored', fc.tuple(instant, fc.constantFrom(' ', '\t', '  ')), ([ms, ws]) => parseHttpDate(ws + formatHttpDate(ms) + ws) === whole(ms))
  property(t, 'the asctime form parses to the same instant', instant, ms => parseHttpDate(otherForms(ms).asctime) === whole(ms))
  property(t, 'the rfc850 form parses to the same instant when within 50 years of now', fc.integer({ min: Date.UTC(1977, 0, 1), max: Date.UTC(2075, 11, 31) }), ms =>
    parseHttpDate(otherForms(ms).rfc850, Date.UTC(2026, 0, 1)) === whole(ms))
})

t.test('parseDeltaSeconds', async t => {
  property(t, 'any input → undefined or an integer in [0, 2^31]', anyField.map(v => Array.isArray(v) ? v[0] : v), v => {
    const got = parseDeltaSeconds(v)
    return got === undefined || (Number.isInteger(got) && got >= 0 && got <= DELTA_SECONDS_MAX)
  })
  property(t, 'digits → their value, saturated at 2^31', fc.bigInt({ min: 0n, max: 10n ** 30n }), n =>
    parseDeltaSeconds(String(n)) === (n > BigInt(DELTA_SECONDS_MAX) ? DELTA_SECONDS_MAX : Number(n)))
  property(t, 'leading zeros do not change the value', fc.tuple(fc.nat({ max: 10 }), fc.nat()), ([zeros, n]) => parseDeltaSeconds('0'.repeat(zeros) + String(n)) === Math.min(n, DELTA_SECONDS_MAX))
})
