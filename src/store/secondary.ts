// When two stored variants answer the same requests (RFC 9111 §4.1): the tiers replace one with the other.

/** True when two variants vary on the same fields with the same values (same secondary key). */
export function sameSecondary (a: { varyKey: string, varyFields: readonly string[] }, b: { varyKey: string, varyFields: readonly string[] }): boolean {
  return a.varyKey === b.varyKey && a.varyFields.length === b.varyFields.length && a.varyFields.every((f, i) => f === b.varyFields[i])
}
