// One upstream exchange as a byte pipe: sends the request, hands the head to its owner, then
// streams the body to the client and/or a store writer, with backpressure towards the client only
// when nothing is being stored. It decides nothing: its owner (forward.ts) plans, it reports.

import type { Writable } from 'node:stream'
import type { BodyWriter, Headers } from '../cache/contract.ts'
import { upstreamCode, type ErrorCode } from '../errors.ts'
import type { ResponseSink, Exchange as Running, Upstream, UpstreamRequest } from './upstream.ts'
import type { LiveBody } from './collapse.ts'

/**
 * Bytes buffered for slow clients, across all exchanges (like nginx's proxy_buffers): below both
 * bounds, a slow client does not pause the origin, so its connection is released as soon as the
 * response has arrived; past either bound the origin is paused until the client drains.
 */
export class BufferBudget {
  /** bytes held in client socket buffers beyond what they drained, counted at our writes */
  used = 0
  readonly perResponse: number
  readonly total: number
  /** @param carry a budget whose bytes in use this one takes over (a reload) */
  constructor (perResponse: number, total: number, carry?: BufferBudget) {
    this.perResponse = perResponse
    this.total = total
    if (carry !== undefined) return carry.perResponse === perResponse ? carry : Object.assign(carry, { perResponse })
  }
}

/** Where a response body goes, as the owner decided at the head. */
export interface BodyRoute {
  /** the client whose head was already written (or a compressor piped to it); body chunks are written to it */
  client: Writable | undefined
  /** the store writer body chunks are copied into */
  writer: BodyWriter | undefined
  /** collapsed waiters following the body as it arrives */
  live?: LiveBody | undefined
}

/** What an exchange reports to its owner, in order: interim*, head, then done | failed (storeStopped any time). */
export interface ExchangeEvents {
  /** an interim (1xx) response arrived before the final head */
  interim (status: number, headers: Headers): void
  /**
   * the response head arrived; returns where the body goes, 'drain' to read and drop it (keeping
   * the origin connection), or undefined to abort the exchange
   */
  head (status: number, statusMessage: string, headers: Headers): BodyRoute | 'drain' | undefined
  /** the store writer refused more bytes (past the entry limit): the body still streams to the client */
  storeStopped (): void
  /** the body arrived whole and was handed on; `stored` tells whether the store committed it */
  done (stored: boolean): void
  /** the exchange failed, before or after the head */
  failed (code: ErrorCode, err: Error): void
}

/** Streams one upstream response. */
export class Exchange implements ResponseSink {
  readonly #events: ExchangeEvents
  readonly #budget: BufferBudget
  /** bytes this exchange counts in the budget */
  #counted = 0
  #waitingDrain = false
  /** a 'close' listener on the client gives back what is counted */
  #watchingClose = false
  #running: Running | undefined
  #route: BodyRoute | undefined
  #discard = false
  #finished = false
  /** body bytes received */
  bytes = 0

  constructor (events: ExchangeEvents, budget: BufferBudget) {
    this.#events = events
    this.#budget = budget
  }

  /** Sends the request; a synchronous refusal by undici (e.g. an invalid header value) fails the exchange. */
  start (upstream: Upstream, req: UpstreamRequest): this {
    try {
      this.#running = upstream.send(req, this)
    } catch (err) {
      this.error(err as Error)
    }
    return this
  }

  /** Stops streaming to the client (it went away); the exchange goes on only while it is being stored, unless `keep`. */
  detachClient (keep: boolean): void {
    if (this.#route !== undefined) this.#route.client = undefined
    // Paused for a client that is gone: its 'drain' never comes, so resume for the store and waiters.
    if (this.#waitingDrain) {
      this.#waitingDrain = false
      this.#release()
      this.#running?.resume()
    }
    if (!keep && this.#route?.writer === undefined && this.#route?.live === undefined) this.abort(new Error('client closed the connection'))
  }

  /** True while a store writer still takes the body. */
  get storing (): boolean {
    return this.#route?.writer !== undefined
  }

  abort (reason: Error): void {
    this.#discard = true
    this.#running?.abort(reason)
  }

  interim (status: number, headers: Headers): void {
    if (!this.#discard) this.#events.interim(status, headers)
  }

  head (status: number, statusMessage: string, headers: Headers): void {
    const route = this.#events.head(status, statusMessage, headers)
    if (route === 'drain') {
      this.#discard = true
      return
    }
    if (route === undefined || (route.client === undefined && route.writer === undefined)) return this.abort(new Error('response body not needed'))
    this.#route = route
  }

  /** Gives back what this exchange counted: the client drained, finished or went away. */
  #release (): void {
    this.#budget.used -= this.#counted
    this.#counted = 0
  }

  data (chunk: Buffer): boolean {
    const route = this.#route
    if (this.#discard || route === undefined) return true
    this.bytes += chunk.length
    route.live?.push(chunk)
    if (route.writer !== undefined && !route.writer.write(chunk)) {
      route.writer.abort()
      route.writer = undefined
      this.#events.storeStopped()
      if (route.client === undefined && route.live === undefined) { this.abort(new Error('not storable and no client')); return true }
    }
    const res = route.client
    if (res === undefined) return true
    if (res.write(chunk)) return true
    // The client is slower than the origin: keep taking the body while it fits the budget, and
    // give back what is counted when the client goes away (listened for only from here on).
    const budget = this.#budget
    if (this.#counted === 0 && !this.#watchingClose) {
      this.#watchingClose = true
      res.once('close', () => this.#release())
    }
    budget.used += res.writableLength - this.#counted
    this.#counted = res.writableLength
    if (!this.#waitingDrain) {
      this.#waitingDrain = true
      res.once('drain', () => {
        this.#waitingDrain = false
        this.#release()
        this.#running?.resume()
      })
    }
    return res.writableLength <= budget.perResponse && budget.used <= budget.total
  }

  end (): void {
    if (this.#discard || this.#finished) return
    this.#finished = true
    const route = this.#route
    // The store commits before the client sees the end (the memory tier synchronously), so a
    // request the client sends right after finds what this one stored.
    const writer = route?.writer
    const committed = writer?.end()
    route?.client?.end()
    route?.live?.end()
    if (committed === undefined) return this.#events.done(false)
    committed.then(() => this.#events.done(true), () => this.#events.done(false))
  }

  error (err: Error): void {
    // Failures after the owner dropped the body (our own abort, or a drained body) concern no one.
    if (this.#finished || this.#discard) return
    this.#finished = true
    this.#route?.live?.fail()
    this.#route?.writer?.abort()
    if (this.#route !== undefined) this.#route.writer = undefined
    this.#events.failed(upstreamCode(err), err)
  }
}
