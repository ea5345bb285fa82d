// HTTP-date (RFC 9110 §5.6.7) and delta-seconds (RFC 9111 §1.2.2) parsing.
// Malformed input never throws: it yields undefined and the caller decides.

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11
}

// The grammar spells day names, month names and "GMT" case-sensitively (%s"Mon"), but "recipients
// of timestamp values are encouraged to be robust in parsing timestamps" (RFC 9110 §5.6.7), and a
// date rejected over its case would turn a fresh response stale: hence the `i` flag.
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i
const RFC850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i

/**
 * Parses an HTTP-date in any of the three formats RFC 9110 §5.6.7 requires a recipient to accept.
 * Returns milliseconds since the epoch, or undefined when the value is not a valid HTTP-date.
 * https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
 */
export function parseHttpDate (value: string | undefined, now?: number): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  let m = IMF_FIXDATE.exec(v)
  if (m !== null) return build(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!)
  m = RFC850.exec(v)
  if (m !== null) {
    // "Recipients of a timestamp value in rfc850-date format, which uses a two-digit year, MUST
    // interpret a timestamp that appears to be more than 50 years in the future as representing
    // the most recent year in the past that had the same last two digits."
    const yy = Number(m[3])
    const thisYear = new Date(now ?? Date.now()).getUTCFullYear()
    let year = Math.floor(thisYear / 100) * 100 + yy
    if (year > thisYear + 50) year -= 100
    return build(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!)
  }
  m = ASCTIME.exec(v)
  if (m !== null) return build(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!)
  return undefined
}

function build (year: number, mon: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const month = MONTHS[mon.toLowerCase()]
  const h = Number(hh); const mi = Number(mm); const s = Number(ss)
  if (month === undefined || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60) return undefined
  // Not Date.UTC: it maps years 0–99 to 1900–1999, but an IMF-fixdate's year is all four
  // digits as written (RFC 9110 §5.6.7: year = 4DIGIT).
  const d = new Date(0)
  d.setUTCFullYear(year, month, day)
  d.setUTCHours(h, mi, Math.min(s, 59))
  // Reject dates such as 31 Feb that the Date setters silently roll over.
  if (d.getUTCDate() !== day) return undefined
  return d.getTime()
}

/** Formats milliseconds since the epoch as an IMF-fixdate. */
export function formatHttpDate (ms: number): string {
  return new Date(ms).toUTCString()
}

/** The largest delta-seconds value a cache need handle (RFC 9111 §1.2.2). */
export const DELTA_SECONDS_MAX = 2 ** 31

/**
 * Parses delta-seconds: 1*DIGIT, saturating at 2^31 as RFC 9111 §1.2.2 requires.
 * Anything else (signs, fractions, spaces inside) is invalid and yields undefined.
 * https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2
 */
export function parseDeltaSeconds (value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined
  const n = Number(value)
  return n > DELTA_SECONDS_MAX ? DELTA_SECONDS_MAX : n
}
