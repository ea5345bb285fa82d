// Shared setup for the property-based fuzz tests: the run count (10^4 in `npm test`, FUZZ_RUNS in
// `npm run fuzz`), an optional fixed seed, and the alphabets that header values are drawn from.

import fc from 'fast-check'
import type { Test } from 'tap'

/** Runs per property: FUZZ_RUNS, else 10^4. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000)

/** A fixed seed to replay a failure (FUZZ_SEED); random otherwise, and reported on failure. */
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)

/**
 * Checks `predicate` on RUNS values of `arb`; a predicate fails by returning false or throwing.
 * Reports one tap assertion named after the property, with fast-check's counterexample and seed.
 */
export function property<T> (t: Test, name: string, arb: fc.Arbitrary<T>, predicate: (value: T) => boolean | void): void {
  const details = fc.check(fc.property(arb, predicate), { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) })
  if (details.failed) {
    t.fail(name, { diagnostic: true, counterexample: JSON.stringify(details.counterexample), seed: details.seed, error: String(details.errorInstance) })
  } else {
    t.pass(name)
  }
}

/** Characters that matter to field parsers: separators, quotes, escapes, OWS, digits, letters, controls, non-ASCII. */
const FIELD_CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ' ', ' ', '\t', ',', ',', ';', '=', '"', '\\', '-', '.', '*', '/', ':', '?', '(', ')', '_', '+', '!', '#', '@', '%',
  '\u0000', '\r', '\n', '\u007f', '\u00e9', '\u2028', '\ud83d\ude00'
]

/** Arbitrary short strings made of FIELD_CHARS. */
export const fieldChars = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...FIELD_CHARS), maxLength })

/** Any field value a parser may be handed: structured-looking noise, arbitrary Unicode, or several lines. */
export const anyField: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
  fieldChars(),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.array(fieldChars(20), { maxLength: 3 }),
  fc.constant(undefined)
)

/** Optional whitespace as senders write it. */
export const ows: fc.Arbitrary<string> = fc.constantFrom('', '', ' ', '  ', '\t', ' \t')

/** A token (RFC 9110 §5.6.2). */
export const token: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 1, maxLength: 12 })

/** Randomly changes the case of each ASCII letter. */
export function mixCase (s: string, flips: readonly boolean[]): string {
  let out = ''
  for (let i = 0; i < s.length; i++) out += flips[i % Math.max(1, flips.length)] === true ? s[i]!.toUpperCase() : s[i]!.toLowerCase()
  return out
}

/** Flip patterns for mixCase. */
export const flips: fc.Arbitrary<boolean[]> = fc.array(fc.boolean(), { minLength: 1, maxLength: 16 })
