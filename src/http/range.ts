// Range requests (RFC 9110 §14): parsing a single byte range against a known length.

/** The outcome of evaluating a Range header against a representation of `length` bytes. */
export type RangeResult =
  /** serve bytes [start, end] inclusive with 206 */
  | { kind: 'partial', start: number, end: number }
  /** no satisfiable range: 416 with Content-Range: bytes *\/length (§15.5.17) */
  | { kind: 'unsatisfiable' }
  /** ignore the Range and serve the whole representation (invalid, non-bytes unit, several ranges) */
  | { kind: 'full' }

const FULL: RangeResult = Object.freeze({ kind: 'full' })
const UNSATISFIABLE: RangeResult = Object.freeze({ kind: 'unsatisfiable' })

/**
 * Evaluates a Range field for a representation of `length` bytes. Only a single byte range is
 * answered with 206; several ranges are answered with the whole representation, which §14.2
 * permits ("A server MAY ignore the Range header field"). An invalid field is ignored (§14.2).
 * https://www.rfc-editor.org/rfc/rfc9110#section-14.2
 */
export function evaluateRange (range: string, length: number): RangeResult {
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(range)
  if (m === null) return FULL
  const specs = m[1]!.split(',').map(s => s.trim()).filter(s => s !== '')
  if (specs.length !== 1) return FULL
  const spec = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]!)
  if (spec === null) return FULL
  const [, first, last] = spec
  if (first === '' && last === '') return FULL
  if (first === '') {
    // suffix-range: the last N bytes (§14.1.2)
    const n = Number(last)
    if (n === 0 || length === 0) return UNSATISFIABLE
    return { kind: 'partial', start: Math.max(0, length - n), end: length - 1 }
  }
  const start = Number(first)
  const end = last === '' ? length - 1 : Math.min(Number(last), length - 1)
  if (last !== '' && Number(last) < start) return FULL
  if (start >= length) return UNSATISFIABLE
  return { kind: 'partial', start, end }
}
