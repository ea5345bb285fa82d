// Table tests for HTTP-date (RFC 9110 §5.6.7) and delta-seconds (RFC 9111 §1.2.2).

import t from 'tap'
import { parseHttpDate, formatHttpDate, parseDeltaSeconds, DELTA_SECONDS_MAX } from '../../src/http/dates.ts'

/** The RFC's own example instant: Sun, 06 Nov 1994 08:49:37 GMT. */
const EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37)
/** The clock the rfc850 two-digit-year rule is evaluated against. */
const NOW_2026 = Date.UTC(2026, 2, 1)
const NOW_2080 = Date.UTC(2080, 5, 1)

function yearOf (ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : new Date(ms).getUTCFullYear()
}

t.test('parseHttpDate: the three formats', async t => {
  const rows: Array<{ name: string, value: string | undefined, want: number | undefined }> = [
    { name: 'when the value is an IMF-fixdate → should return its instant', value: 'Sun, 06 Nov 1994 08:49:37 GMT', want: EXAMPLE },
    { name: 'when the value is an rfc850-date → should return its instant', value: 'Sunday, 06-Nov-94 08:49:37 GMT', want: EXAMPLE },
    { name: 'when the value is an asctime-date with a one-digit day → should return its instant', value: 'Sun Nov  6 08:49:37 1994', want: EXAMPLE },
    { name: 'when the value is an asctime-date with a two-digit day → should return its instant', value: 'Wed Nov 16 08:49:37 1994', want: Date.UTC(1994, 10, 16, 8, 49, 37) },
    { name: 'when the value has surrounding whitespace → should ignore it', value: '  Sun, 06 Nov 1994 08:49:37 GMT\t', want: EXAMPLE },
    { name: 'when the date is 29 February of a leap year → should accept it', value: 'Thu, 29 Feb 2024 00:00:00 GMT', want: Date.UTC(2024, 1, 29) },
    { name: 'when the time is midnight at the epoch → should return 0', value: 'Thu, 01 Jan 1970 00:00:00 GMT', want: 0 },
    { name: 'when the second is a leap second (60) → should clamp it to :59', value: 'Sat, 31 Dec 2016 23:59:60 GMT', want: Date.UTC(2016, 11, 31, 23, 59, 59) },
    { name: 'when the four-digit year is below 100 → should keep the year, not map it to 19xx', value: 'Mon, 01 Jan 0001 00:00:00 GMT', want: new Date(0).setUTCFullYear(1, 0, 1) },
    { name: 'when the year is 9999 → should accept it', value: 'Fri, 31 Dec 9999 23:59:59 GMT', want: Date.UTC(9999, 11, 31, 23, 59, 59) },
    { name: 'when an IMF-fixdate is all lower case → should accept it (RFC 9110 §5.6.7 robustness)', value: 'sun, 06 nov 1994 08:49:37 gmt', want: EXAMPLE },
    { name: 'when an IMF-fixdate is all upper case → should accept it', value: 'SUN, 06 NOV 1994 08:49:37 GMT', want: EXAMPLE },
    { name: 'when an IMF-fixdate mixes case → should accept it', value: 'sUn, 06 nOv 1994 08:49:37 Gmt', want: EXAMPLE },
    { name: 'when an rfc850-date is in lower case → should accept it', value: 'sunday, 06-nov-94 08:49:37 gmt', want: EXAMPLE },
    { name: 'when an asctime-date is in upper case → should accept it', value: 'SUN NOV  6 08:49:37 1994', want: EXAMPLE }
  ]
  for (const r of rows) t.equal(parseHttpDate(r.value, NOW_2026), r.want, r.name)
})

t.test('parseHttpDate: invalid dates yield undefined', async t => {
  const rows: Array<{ name: string, value: string | undefined }> = [
    { name: 'when the field is absent → should be undefined', value: undefined },
    { name: 'when the value is empty → should be undefined', value: '' },
    { name: 'when the value is "0" → should be undefined', value: '0' },
    { name: 'when the value is -1 → should be undefined', value: '-1' },
    { name: 'when the value is ISO 8601 → should be undefined', value: '1994-11-06T08:49:37Z' },
    { name: 'when the zone is UTC rather than GMT → should be undefined', value: 'Sun, 06 Nov 1994 08:49:37 UTC' },
    { name: 'when the zone is missing → should be undefined', value: 'Sun, 06 Nov 1994 08:49:37' },
    { name: 'when the day name is missing → should be undefined', value: '06 Nov 1994 08:49:37 GMT' },
    { name: 'when the IMF-fixdate day has one digit → should be undefined', value: 'Sun, 6 Nov 1994 08:49:37 GMT' },
    { name: 'when the IMF-fixdate year has two digits → should be undefined', value: 'Sun, 06 Nov 94 08:49:37 GMT' },
    { name: 'when the month name is unknown → should be undefined', value: 'Sun, 06 Foo 1994 08:49:37 GMT' },
    { name: 'when the day is 00 → should be undefined', value: 'Sun, 00 Nov 1994 08:49:37 GMT' },
    { name: 'when the day is 32 → should be undefined', value: 'Sun, 32 Nov 1994 08:49:37 GMT' },
    { name: 'when the date is 31 February → should be undefined, not roll over to March', value: 'Sat, 31 Feb 2024 00:00:00 GMT' },
    { name: 'when the date is 29 February of a common year → should be undefined', value: 'Mon, 29 Feb 1993 00:00:00 GMT' },
    { name: 'when the date is 31 April → should be undefined', value: 'Thu, 31 Apr 2024 00:00:00 GMT' },
    { name: 'when the hour is 24 → should be undefined', value: 'Sun, 06 Nov 1994 24:00:00 GMT' },
    { name: 'when the minute is 60 → should be undefined', value: 'Sun, 06 Nov 1994 08:60:00 GMT' },
    { name: 'when the second is 61 → should be undefined', value: 'Sun, 06 Nov 1994 08:49:61 GMT' },
    { name: 'when the rfc850-date uses a short day name → should be undefined', value: 'Sun, 06-Nov-94 08:49:37 GMT' },
    { name: 'when the rfc850-date has a four-digit year → should be undefined', value: 'Sunday, 06-Nov-1994 08:49:37 GMT' },
    { name: 'when the asctime-date carries GMT → should be undefined', value: 'Sun Nov  6 08:49:37 1994 GMT' },
    { name: 'when the asctime-date has an invalid day → should be undefined', value: 'Sun Nov 31 08:49:37 1994' }
  ]
  for (const r of rows) t.equal(parseHttpDate(r.value, NOW_2026), undefined, r.name)
})

t.test('parseHttpDate: the rfc850 two-digit year rule (RFC 9110 §5.6.7)', async t => {
  const rows: Array<{ name: string, value: string, now: number, want: number }> = [
    { name: 'when the two-digit year is this year → should be this year', value: 'Sunday, 01-Mar-26 00:00:00 GMT', now: NOW_2026, want: 2026 },
    { name: 'when the two-digit year is in the recent past → should be this century', value: 'Saturday, 01-Jan-00 00:00:00 GMT', now: NOW_2026, want: 2000 },
    { name: 'when the two-digit year is exactly 50 years ahead → should stay in the future', value: 'Sunday, 01-Jan-76 00:00:00 GMT', now: NOW_2026, want: 2076 },
    { name: 'when the two-digit year is 51 years ahead → should be the most recent past year with those digits', value: 'Saturday, 01-Jan-77 00:00:00 GMT', now: NOW_2026, want: 1977 },
    { name: 'when the two-digit year is 99 → should be last century', value: 'Friday, 01-Jan-99 00:00:00 GMT', now: NOW_2026, want: 1999 },
    { name: 'when the clock is in 2080 and the year reads 31 → should be 2031, since 2131 is more than 50 years ahead', value: 'Monday, 01-Jan-31 00:00:00 GMT', now: NOW_2080, want: 2031 },
    { name: 'when the clock is in 2080 and the year reads 79 → should be 2079', value: 'Monday, 01-Jan-79 00:00:00 GMT', now: NOW_2080, want: 2079 }
  ]
  for (const r of rows) t.equal(yearOf(parseHttpDate(r.value, r.now)), r.want, r.name)
})

t.test('formatHttpDate', async t => {
  const rows: Array<{ name: string, ms: number, want: string }> = [
    { name: 'when formatting the RFC example instant → should write an IMF-fixdate', ms: EXAMPLE, want: 'Sun, 06 Nov 1994 08:49:37 GMT' },
    { name: 'when the instant has milliseconds → should drop them', ms: EXAMPLE + 999, want: 'Sun, 06 Nov 1994 08:49:37 GMT' },
    { name: 'when the day has one digit → should pad it to two', ms: Date.UTC(2024, 0, 1), want: 'Mon, 01 Jan 2024 00:00:00 GMT' }
  ]
  for (const r of rows) {
    t.equal(formatHttpDate(r.ms), r.want, r.name)
    t.equal(parseHttpDate(formatHttpDate(r.ms)), Math.floor(r.ms / 1000) * 1000, `${r.name} (and should parse back)`)
  }
})

t.test('parseDeltaSeconds', async t => {
  const rows: Array<{ name: string, value: string | undefined, want: number | undefined }> = [
    { name: 'when the value is 0 → should be 0', value: '0', want: 0 },
    { name: 'when the value is a plain integer → should return it', value: '60', want: 60 },
    { name: 'when the value has leading zeros → should ignore them', value: '007', want: 7 },
    { name: 'when the value is 2^31 − 1 → should return it', value: '2147483647', want: 2147483647 },
    { name: 'when the value is exactly 2^31 → should return 2^31', value: '2147483648', want: DELTA_SECONDS_MAX },
    { name: 'when the value is just above 2^31 → should saturate at 2^31', value: '2147483649', want: DELTA_SECONDS_MAX },
    { name: 'when the value has 30 digits → should saturate at 2^31', value: '9'.repeat(30), want: DELTA_SECONDS_MAX },
    { name: 'when the field is absent → should be undefined', value: undefined, want: undefined },
    { name: 'when the value is empty → should be undefined', value: '', want: undefined },
    { name: 'when the value is negative → should be undefined', value: '-1', want: undefined },
    { name: 'when the value has a plus sign → should be undefined', value: '+1', want: undefined },
    { name: 'when the value is a fraction → should be undefined', value: '1.5', want: undefined },
    { name: 'when the value has a leading space → should be undefined', value: ' 5', want: undefined },
    { name: 'when the value has a trailing space → should be undefined', value: '5 ', want: undefined },
    { name: 'when the value has a space inside → should be undefined', value: '1 2', want: undefined },
    { name: 'when the value uses an exponent → should be undefined', value: '1e3', want: undefined },
    { name: 'when the value is hexadecimal → should be undefined', value: '0x10', want: undefined },
    { name: 'when the value uses non-ASCII digits → should be undefined', value: '\uff15', want: undefined }
  ]
  for (const r of rows) t.equal(parseDeltaSeconds(r.value), r.want, r.name)
})
