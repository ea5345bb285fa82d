// Sizes and durations as operators write them: parsing "256MiB" / "30s" and printing a number back
// in the shortest form that reads back to exactly the same value.

/** Byte units: k/M/G are 1000-based, Ki/Mi/Gi 1024-based. */
export const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3
}
/** Time units in milliseconds; a bare number is seconds. */
export const TIME_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Reads "<number><unit>" against a unit table. Returns undefined when the text does not fit.
 * Hand-written: the popular `bytes`/`ms` packages disagree with each other on bare numbers and
 * know no KiB/MiB, and one table-driven function covers both.
 */
export function quantity (raw: string, units: Readonly<Record<string, number>>): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw)
  if (m === null) return undefined
  const unit = units[m[2]!.toLowerCase()]
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit)
}

/** A duration in ms as the largest whole unit that states it exactly: 86400000 → "1d", 90000 → "90s", 1500 → "1500ms". */
export function durationText (ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return ms === 0 ? '0s' : `${ms}ms`
}

/** A byte count as the largest whole 1024-based unit that states it exactly: 8388608 → "8MiB", 1000 → "1000". */
export function bytesText (b: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (b >= size && b % size === 0) return `${b / size}${unit}`
  }
  return String(b)
}
