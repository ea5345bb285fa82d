// Request collapsing: one upstream exchange per cache key at a time; concurrent requests for the
// key wait for its outcome (bounded), then re-read the cache or go upstream on their own.
// Keys found uncacheable skip collapsing for a while (hit-for-miss), so bursts are not serialised;
// those with nothing stored also skip the lookup (hit-for-pass).

import type { ErrorCode } from '../errors.ts'

/** How a leader's exchange ended, as waiters see it. */
export type Outcome =
  /** a response was stored or freshened: look the cache up again */
  | { kind: 'stored' }
  /** the response is not storable, or storing stopped: go upstream alone */
  | { kind: 'released' }
  /** the origin could not be reached: answer with this error (or stale-if-error) */
  | { kind: 'failed', code: ErrorCode }
  /** the origin answered with an error status (not storable): the waiters get the same answer */
  | { kind: 'response', response: SharedResponse }

/** A leader's small uncacheable error response, kept whole to answer its waiters. */
export interface SharedResponse {
  status: number
  statusMessage: string
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** when it arrived, ms since the epoch */
  at: number
}

/** Receives a live body: what has arrived so far at once, then each chunk as it arrives. */
export interface LiveSubscriber {
  data (chunk: Buffer): void
  end (): void
  fail (): void
}

/**
 * A leader's response body while it arrives, so collapsed waiters stream it as the leader's client
 * does instead of waiting for the stored result. Chunks are kept (they are the same Buffers the
 * store writer keeps) up to `maxReplay` bytes; past that no one new may join.
 */
export class LiveBody {
  readonly status: number
  readonly statusMessage: string
  readonly headers: Record<string, string | string[] | undefined>
  /** Vary of the response and the secondary key of the request that produced it */
  readonly varyFields: readonly string[]
  readonly varyKey: string
  /** when the head arrived, ms since the epoch */
  readonly at: number
  /** freshness left when it arrived, ms (Cache-Status ttl) */
  readonly ttl: number
  readonly #chunks: Buffer[] = []
  #bytes = 0
  readonly #maxReplay: number
  #state: 'open' | 'ended' | 'failed' = 'open'
  readonly #subscribers = new Set<LiveSubscriber>()

  constructor (head: { status: number, statusMessage: string, headers: Record<string, string | string[] | undefined>, varyFields: readonly string[], varyKey: string, at: number, ttl: number }, maxReplay: number) {
    this.status = head.status
    this.statusMessage = head.statusMessage
    this.headers = head.headers
    this.varyFields = head.varyFields
    this.varyKey = head.varyKey
    this.at = head.at
    this.ttl = head.ttl
    this.#maxReplay = maxReplay
  }

  push (chunk: Buffer): void {
    if (this.#state !== 'open') return
    this.#bytes += chunk.length
    if (this.#bytes <= this.#maxReplay) this.#chunks.push(chunk)
    else this.#chunks.length = 0
    for (const s of this.#subscribers) s.data(chunk)
  }

  end (): void {
    if (this.#state !== 'open') return
    this.#state = 'ended'
    // Nobody subscribes to a body that is no longer open: the replay chunks go now, not with this
    // object (a LiveBody promoted to V8's old generation would keep them until a full collection).
    this.#chunks.length = 0
    for (const s of this.#subscribers) s.end()
    this.#subscribers.clear()
  }

  fail (): void {
    if (this.#state !== 'open') return
    this.#state = 'failed'
    this.#chunks.length = 0
    for (const s of this.#subscribers) s.fail()
    this.#subscribers.clear()
  }

  /** Replays what arrived and follows the rest; false when it can no longer be replayed whole or is already whole. */
  subscribe (s: LiveSubscriber): boolean {
    // A body already whole is in the store (or was refused by it): look it up there instead.
    if (this.#bytes > this.#maxReplay || this.#state !== 'open') return false
    for (const c of this.#chunks) s.data(c)
    this.#subscribers.add(s)
    return true
  }

  unsubscribe (s: LiveSubscriber): void {
    this.#subscribers.delete(s)
  }
}

/** One exchange in flight. */
export class Flight {
  #resolve!: (o: Outcome) => void
  readonly promise: Promise<Outcome>
  #done = false
  #goLive!: (l: LiveBody) => void
  /** resolves when the leader starts streaming a response it stores (never, otherwise) */
  readonly live: Promise<LiveBody>

  constructor () {
    this.promise = new Promise(resolve => { this.#resolve = resolve })
    this.live = new Promise(resolve => { this.#goLive = resolve })
  }

  /** The leader's response is being stored and streamed: waiters may follow it. */
  goLive (l: LiveBody): void {
    if (!this.#done) this.#goLive(l)
  }

  settle (o: Outcome): void {
    if (this.#done) return
    this.#done = true
    this.#resolve(o)
  }
}

/** The shared outcome objects (outcomes are immutable). */
export const RELEASED: Outcome = Object.freeze({ kind: 'released' })
export const STORED: Outcome = Object.freeze({ kind: 'stored' })

/** A key found uncacheable: until when, and whether nothing was stored for it (hit-for-pass). */
interface Uncacheable {
  until: number
  pass: boolean
}

/** The in-flight registry and the hit-for-miss and hit-for-pass memory. */
export class Collapser {
  readonly #flights = new Map<string, Flight>()
  readonly #uncacheable = new Map<string, Uncacheable>()
  readonly #hitForMissMs: number
  readonly #waitMs: number
  /** bound on remembered uncacheable keys */
  static readonly MAX_UNCACHEABLE = 10_000

  constructor (waitMs: number, hitForMissMs: number) {
    this.#waitMs = waitMs
    this.#hitForMissMs = hitForMissMs
  }

  /** The flight for `key` if one is running and the key is not marked uncacheable at `now`. */
  joinable (key: string, now: number): Flight | undefined {
    const f = this.#flights.get(key)
    if (f === undefined) return undefined
    const u = this.#uncacheable.get(key)
    if (u !== undefined && u.until > now) return undefined
    return f
  }

  /**
   * True when `key` is marked hit-for-pass at `now`: its last response was not storable and
   * nothing was stored for it, so a request neither looks it up nor collapses (Varnish's
   * hit-for-pass). Its response is still planned, and a storable one is stored and clears the mark.
   */
  passes (key: string, now: number): boolean {
    const u = this.#uncacheable.get(key)
    return u !== undefined && u.pass && u.until > now
  }

  /** Keys marked hit-for-miss or hit-for-pass (expired marks included until they are next seen). */
  get marked (): number {
    return this.#uncacheable.size
  }

  /** Starts a flight for `key`, unless the key is marked uncacheable (then returns undefined). */
  lead (key: string, now: number): Flight | undefined {
    const u = this.#uncacheable.get(key)
    if (u !== undefined) {
      if (u.until > now) return undefined
      this.#uncacheable.delete(key)
    }
    if (this.#flights.has(key)) return undefined
    const f = new Flight()
    this.#flights.set(key, f)
    return f
  }

  /** Ends a flight: settles it and forgets it. */
  finish (key: string, f: Flight, o: Outcome): void {
    if (this.#flights.get(key) === f) this.#flights.delete(key)
    f.settle(o)
  }

  /**
   * Remembers that `key` produced an uncacheable response (hit-for-miss), for the hit-for-miss
   * time; `pass` when nothing is stored for the key either (hit-for-pass, see `passes`).
   */
  markUncacheable (key: string, now: number, pass = false): void {
    if (this.#hitForMissMs <= 0) return
    // Oldest first: a key marked again moves to the end.
    this.#uncacheable.delete(key)
    if (this.#uncacheable.size >= Collapser.MAX_UNCACHEABLE) {
      const oldest = this.#uncacheable.keys().next().value
      if (oldest !== undefined) this.#uncacheable.delete(oldest)
    }
    this.#uncacheable.set(key, { until: now + this.#hitForMissMs, pass })
  }

  /** Forgets hit-for-miss and hit-for-pass for `key` (a later response for it is being stored). */
  markCacheable (key: string): void {
    this.#uncacheable.delete(key)
  }

  /**
   * Waits for a flight's outcome, at most the configured wait; a waiter that times out or whose
   * client goes away is released without disturbing the flight or the other waiters.
   */
  async wait (f: Flight, gone: AbortSignal | undefined): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    try {
      return await Promise.race([
        f.promise,
        new Promise<Outcome>(resolve => {
          timer = setTimeout(resolve, this.#waitMs, RELEASED)
          if (gone !== undefined) {
            onAbort = () => resolve(RELEASED)
            gone.addEventListener('abort', onAbort, { once: true })
          }
        })
      ])
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) gone?.removeEventListener('abort', onAbort)
    }
  }
}

/** Largest error response kept whole to answer a leader's waiters. */
const SHARE_MAX = 64 * 1024

/**
 * A body writer that keeps a leader's small error response whole and hands it to `done` for its
 * waiters; past SHARE_MAX bytes it stops (the waiters are then released to ask on their own).
 */
export function sharingWriter (head: Omit<SharedResponse, 'body'>, done: (r: SharedResponse) => void): { write (chunk: Buffer): boolean, end (): Promise<void>, abort (): void } {
  const chunks: Buffer[] = []
  let n = 0
  return {
    write (chunk: Buffer): boolean {
      n += chunk.length
      if (n > SHARE_MAX) return false
      chunks.push(chunk)
      return true
    },
    async end (): Promise<void> {
      done({ ...head, body: Buffer.concat(chunks, n) })
    },
    abort (): void { chunks.length = 0 }
  }
}
