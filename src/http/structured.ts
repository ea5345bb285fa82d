// Structured Field Dictionaries (RFC 8941 §3.2, parsed as §4.2.2 says): a strict parser that
// keeps each bare item's type, since RFC 9213 tells an Integer from a Decimal (max-age=1.0 is
// wrong) where a JavaScript number cannot. Any parsing error fails the whole field.

/** A bare item with its RFC 8941 type. */
export type BareItem =
  /** sf-integer: at most 15 digits (§3.3.1) */
  | { type: 'integer', value: number }
  /** sf-decimal: at most 12 integer and 3 fractional digits (§3.3.2) */
  | { type: 'decimal', value: number }
  /** sf-string: printable ASCII, escapes removed (§3.3.3) */
  | { type: 'string', value: string }
  /** sf-token (§3.3.4) */
  | { type: 'token', value: string }
  /** sf-binary, as its base64 text (§3.3.5) */
  | { type: 'binary', value: string }
  /** sf-boolean (§3.3.6) */
  | { type: 'boolean', value: boolean }

/** A dictionary member: an item or an inner list, with its parameters. */
export type Member =
  | { kind: 'item', item: BareItem, params: Map<string, BareItem> }
  | { kind: 'inner-list', items: Array<{ item: BareItem, params: Map<string, BareItem> }>, params: Map<string, BareItem> }

/** Thrown inside the parser only; parseDictionary turns it into undefined. */
class SfError extends Error {}

const TRUE: BareItem = Object.freeze({ type: 'boolean', value: true })

// Sticky patterns, matched at the parser's position without slicing the input.
const KEY = /[a-z*][a-z0-9_\-.*]*/y
const NUMBER = /-?(\d+)(?:\.(\d*))?/y
const STRING = /"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"/y
const TOKEN = /[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/y
const BINARY = /:([A-Za-z0-9+/=]*):/y

/**
 * Parses a Structured Field Dictionary (RFC 8941 §4.2.2). Repeated field lines are joined with
 * ", " (§4.2). Returns undefined on any parsing error (§4.2: "fail parsing"), never throws.
 * A repeated key keeps its last value, in the position of its first (§4.2.2).
 * https://www.rfc-editor.org/rfc/rfc8941#section-4.2.2
 */
export function parseDictionary (value: string | string[] | undefined): Map<string, Member> | undefined {
  if (value === undefined) return undefined
  const input = Array.isArray(value) ? value.join(', ') : value
  try {
    return new Parser(input).dictionary()
  } catch (err) {
    if (err instanceof SfError) return undefined
    throw err
  }
}

class Parser {
  readonly #s: string
  #i = 0

  constructor (s: string) {
    this.#s = s
  }

  dictionary (): Map<string, Member> {
    this.#skip(' ')
    const out = new Map<string, Member>()
    while (this.#i < this.#s.length) {
      const key = this.#key()
      let member: Member
      if (this.#peek() === '=') {
        this.#i++
        member = this.#itemOrInnerList()
      } else {
        member = { kind: 'item', item: TRUE, params: this.#params() }
      }
      out.set(key, member)
      this.#skipOws()
      if (this.#i >= this.#s.length) break
      this.#expect(',')
      this.#skipOws()
      if (this.#i >= this.#s.length) throw new SfError('trailing comma')
    }
    return out
  }

  #itemOrInnerList (): Member {
    if (this.#peek() !== '(') {
      const item = this.#bareItem()
      return { kind: 'item', item, params: this.#params() }
    }
    this.#i++
    const items: Array<{ item: BareItem, params: Map<string, BareItem> }> = []
    for (;;) {
      this.#skip(' ')
      if (this.#peek() === ')') {
        this.#i++
        return { kind: 'inner-list', items, params: this.#params() }
      }
      const item = this.#bareItem()
      items.push({ item, params: this.#params() })
      const next = this.#peek()
      if (next !== ' ' && next !== ')') throw new SfError('inner list')
    }
  }

  #params (): Map<string, BareItem> {
    const out = new Map<string, BareItem>()
    while (this.#peek() === ';') {
      this.#i++
      this.#skip(' ')
      const key = this.#key()
      let value = TRUE
      if (this.#peek() === '=') {
        this.#i++
        value = this.#bareItem()
      }
      out.set(key, value)
    }
    return out
  }

  #key (): string {
    const m = this.#match(KEY)
    if (m === null) throw new SfError('key')
    return m[0]
  }

  /** Matches a sticky pattern at the current position and moves past the match. */
  #match (re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.#i
    const m = re.exec(this.#s)
    if (m !== null) this.#i += m[0].length
    return m
  }

  #bareItem (): BareItem {
    const c = this.#peek()
    if (c === undefined) throw new SfError('end of input')
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = this.#match(NUMBER)
      if (m === null) throw new SfError('number')
      if (m[2] === undefined) {
        if (m[1]!.length > 15) throw new SfError('integer too long')
        // Number("-0") is -0; an sf-integer has no negative zero.
        return { type: 'integer', value: Number(m[0]) + 0 }
      }
      if (m[1]!.length > 12 || m[2].length < 1 || m[2].length > 3) throw new SfError('decimal')
      return { type: 'decimal', value: Number(m[0]) + 0 }
    }
    if (c === '"') {
      const m = this.#match(STRING)
      if (m === null) throw new SfError('string')
      return { type: 'string', value: m[1]!.replace(/\\(["\\])/g, '$1') }
    }
    if (c === '*' || /[A-Za-z]/.test(c)) return { type: 'token', value: this.#match(TOKEN)![0] }
    if (c === ':') {
      const m = this.#match(BINARY)
      // "If base64 decoding fails, parsing fails" (§4.2.7): padding only at the end, and never a
      // lone sextet (a length of 4n+1 characters encodes no whole byte).
      if (m === null || !/^[A-Za-z0-9+/]*={0,2}$/.test(m[1]!) || m[1]!.replace(/=+$/, '').length % 4 === 1) throw new SfError('binary')
      return { type: 'binary', value: m[1]! }
    }
    if (c === '?') {
      const b = this.#s[this.#i + 1]
      if (b !== '0' && b !== '1') throw new SfError('boolean')
      this.#i += 2
      return { type: 'boolean', value: b === '1' }
    }
    throw new SfError('bare item')
  }

  #peek (): string | undefined {
    return this.#s[this.#i]
  }

  #expect (c: string): void {
    if (this.#s[this.#i] !== c) throw new SfError(`expected ${c}`)
    this.#i++
  }

  #skip (c: string): void {
    while (this.#s[this.#i] === c) this.#i++
  }

  #skipOws (): void {
    while (this.#s[this.#i] === ' ' || this.#s[this.#i] === '\t') this.#i++
  }
}
