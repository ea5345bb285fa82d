// The upstream client: one undici Pool with keep-alive to the origin, and a streaming exchange
// that hands the response to a sink chunk by chunk, with backpressure, never buffering for us.

import { STATUS_CODES } from '../node-http.ts'
import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import { ConfigError } from '../errors.ts'
import type { Dispatcher, Pool as UndiciPool } from 'undici'
// Only undici's Pool, not its index: `import 'undici'` loads fetch, WebSocket, the cache and the
// rest, +13 MiB of resident memory at start-up, where the Pool alone costs +1.5 MiB
// (bench/startup.ts). Same class: the types come from 'undici' (src/types/undici-pool.d.ts).
import Pool from 'undici/lib/dispatcher/pool.js'
import type { Config } from '../config/schema.ts'
import type { Headers } from '../cache/entry.ts'

/** Receives one upstream response. Methods are called in order: interim*, head, data*, end | error. */
export interface ResponseSink {
  /** An interim (1xx) response before the final one (RFC 9110 §15.2); 101 is never delivered. */
  interim (status: number, headers: Headers): void
  /** The final response head. */
  head (status: number, statusMessage: string, headers: Headers): void
  /** A body chunk. Return false to pause the upstream until `resume()` is called. */
  data (chunk: Buffer): boolean
  /** The body ended. */
  end (): void
  /** The exchange failed (before or after the head). */
  error (err: Error): void
}

/** Controls a running exchange. */
export interface Exchange {
  /** Resumes a paused body. */
  resume (): void
  /** Aborts the exchange; the sink's error() is called. */
  abort (reason: Error): void
}

/** What to send upstream. */
export interface UpstreamRequest {
  method: string
  path: string
  /** name, value, name, value… */
  headers: string[]
  body: Dispatcher.DispatchOptions['body']
}

/** The error a request waiting too long for a free origin connection fails with. */
export class UpstreamBusyError extends Error {
  readonly code = 'FG_UPSTREAM_BUSY'
  constructor (ms: number) {
    super(`no origin connection became free within ${ms} ms`)
  }
}

/**
 * Requests waiting for an origin connection, oldest first, under one timer: undici queues requests
 * without a bound in time, so one still waiting after `ms` is answered 503 at once, and dropped
 * when a connection frees up. All share one timeout, so they are due in the order they came (a
 * reload with another timeout starts a new watch). A request leaves the list when it starts, so
 * the list holds only those still waiting.
 */
class QueueWatch {
  readonly ms: number
  #first: SinkHandler | undefined
  #last: SinkHandler | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (ms: number) {
    this.ms = ms
  }

  add (h: SinkHandler, now: number): void {
    h.due = now + this.ms
    h.watch = this
    h.prev = this.#last
    if (this.#last === undefined) this.#first = h
    else this.#last.next = h
    this.#last = h
    if (this.#timer === undefined) this.#arm(now)
  }

  remove (h: SinkHandler): void {
    if (h.prev === undefined) this.#first = h.next
    else h.prev.next = h.next
    if (h.next === undefined) this.#last = h.prev
    else h.next.prev = h.prev
    h.prev = h.next = h.watch = undefined
  }

  #arm (now: number): void {
    if (this.#first === undefined) return
    this.#timer = setTimeout(this.#fire, Math.max(0, this.#first.due - now))
    this.#timer.unref()
  }

  #fire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    for (let h = this.#first; h !== undefined && h.due <= now; h = this.#first) {
      this.remove(h)
      h.expire(this.ms)
    }
    this.#arm(now)
  }
}

class SinkHandler implements Dispatcher.DispatchHandler, Exchange {
  #controller: Dispatcher.DispatchController | undefined
  #aborted: Error | undefined
  /** the sink heard of a failure already (queue timeout); later events are not for it */
  #reported = false
  /** the watch it waits in for an origin connection, with its neighbours there and when it is due (performance.now()) */
  watch: QueueWatch | undefined
  prev: SinkHandler | undefined
  next: SinkHandler | undefined
  due = 0
  /** it left undici's queue: started on an origin connection, or failed */
  dequeued = false
  readonly #sink: ResponseSink

  constructor (sink: ResponseSink) {
    this.#sink = sink
  }

  /** Waited too long for a connection: the sink hears of it now, undici's later events are ignored. */
  expire (ms: number): void {
    this.#aborted = new UpstreamBusyError(ms)
    this.#reported = true
    this.#sink.error(this.#aborted)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    this.dequeued = true
    this.watch?.remove(this)
    if (this.#aborted !== undefined) controller.abort(this.#aborted)
  }

  onResponseStart (controller: Dispatcher.DispatchController, status: number, headers: Headers, statusMessage?: string): void {
    if (this.#reported) return
    // undici delivers 1xx heads here (a 100 too, with patches/undici+8.12.4.patch); 101 means an
    // upgrade this exchange never asked for.
    if (status < 200) {
      if (status !== 101) this.#sink.interim(status, headers)
      return
    }
    this.#controller = controller
    // RFC 9112 allows obs-text in the reason phrase; Node refuses to write it. Keep only a
    // visible-ASCII reason, else the standard one.
    const standard = STATUS_CODES[status] ?? ''
    const reason = statusMessage === standard || (statusMessage !== undefined && /^[\t\x20-\x7e]*$/.test(statusMessage)) ? statusMessage : standard
    this.#sink.head(status, reason, headers)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#sink.data(chunk)) controller.pause()
  }

  onResponseEnd (): void {
    this.#sink.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.dequeued = true
    this.watch?.remove(this)
    if (this.#reported) return
    this.#reported = true
    this.#sink.error(err)
  }

  resume (): void {
    this.#controller?.resume()
  }

  abort (reason: Error): void {
    this.#aborted = reason
    this.#controller?.abort(reason)
  }
}

/** Reads the upstream.ca file: Node's own CAs plus these (a bad path stops start-up naming the key). */
function readCa (path: string): string[] {
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ConfigError('upstream.ca', path, `a readable PEM file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('upstream.ca', path, 'a PEM file with at least one certificate')
  return [...rootCertificates, pem]
}

/** The pooled connection to one origin. */
export class Upstream {
  readonly #pool: UndiciPool
  #headersTimeout: number
  #bodyTimeout: number
  #queue: QueueWatch
  readonly origin: string

  constructor (config: Config, origin: string) {
    this.origin = origin
    this.#headersTimeout = config.timeouts.headers
    this.#bodyTimeout = config.timeouts.body
    this.#queue = new QueueWatch(config.upstream.queueTimeout)
    this.#pool = new Pool(origin, {
      connections: config.upstream.connections,
      pipelining: config.upstream.pipelining,
      keepAliveTimeout: config.upstream.keepAliveTimeout,
      connectTimeout: config.timeouts.connect,
      headersTimeout: config.timeouts.headers,
      bodyTimeout: config.timeouts.body,
      maxHeaderSize: config.maxHeaderSize,
      allowH2: config.upstream.allowH2,
      ...(config.upstream.ca === undefined ? {} : { connect: { ca: readCa(config.upstream.ca) } })
    })
  }

  /** Applies the settings that can change on reload (per-request timeouts). */
  configure (config: Config): void {
    this.#headersTimeout = config.timeouts.headers
    this.#bodyTimeout = config.timeouts.body
    if (config.upstream.queueTimeout !== this.#queue.ms) this.#queue = new QueueWatch(config.upstream.queueTimeout)
  }

  /** Starts an exchange; the sink receives the response. */
  send (req: UpstreamRequest, sink: ResponseSink): Exchange {
    const handler = new SinkHandler(sink)
    // dispatch throws synchronously on requests undici refuses; the caller turns that into a 502.
    this.#pool.dispatch({
      path: req.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body,
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout
    }, handler)
    // Started at once on a free connection: nothing to watch.
    if (!handler.dequeued) this.#queue.add(handler, performance.now())
    return handler
  }

  async close (): Promise<void> {
    await this.#pool.close()
  }
}
