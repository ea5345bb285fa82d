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
  headers: Record<string, string | string[]>
  body: Dispatcher.DispatchOptions['body']
}

/** The error a request waiting too long for a free origin connection fails with. */
export class UpstreamBusyError extends Error {
  readonly code = 'FG_UPSTREAM_BUSY'
  constructor (ms: number) {
    super(`no origin connection became free within ${ms} ms`)
  }
}

class SinkHandler implements Dispatcher.DispatchHandler, Exchange {
  #controller: Dispatcher.DispatchController | undefined
  #aborted: Error | undefined
  /** the sink heard of a failure already (queue timeout); later events are not for it */
  #reported = false
  #queueTimer: NodeJS.Timeout | undefined
  readonly #sink: ResponseSink

  constructor (sink: ResponseSink, queueTimeout: number) {
    this.#sink = sink
    // undici queues requests without a bound in time: a request still waiting for a connection
    // after queueTimeout is answered 503 at once, and dropped when a connection frees up.
    this.#queueTimer = setTimeout(() => {
      this.#queueTimer = undefined
      this.#aborted = new UpstreamBusyError(queueTimeout)
      this.#reported = true
      this.#sink.error(this.#aborted)
    }, queueTimeout)
    this.#queueTimer.unref()
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#queueTimer !== undefined) clearTimeout(this.#queueTimer)
    this.#queueTimer = undefined
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
    const reason = statusMessage !== undefined && /^[\t\x20-\x7e]*$/.test(statusMessage) ? statusMessage : (STATUS_CODES[status] ?? '')
    this.#sink.head(status, reason, headers)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#sink.data(chunk)) controller.pause()
  }

  onResponseEnd (): void {
    this.#sink.end()
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#queueTimer !== undefined) clearTimeout(this.#queueTimer)
    this.#queueTimer = undefined
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
  #queueTimeout: number
  readonly origin: string

  constructor (config: Config, origin: string) {
    this.origin = origin
    this.#headersTimeout = config.timeouts.headers
    this.#bodyTimeout = config.timeouts.body
    this.#queueTimeout = config.upstream.queueTimeout
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
    this.#queueTimeout = config.upstream.queueTimeout
  }

  /** Starts an exchange; the sink receives the response. */
  send (req: UpstreamRequest, sink: ResponseSink): Exchange {
    const handler = new SinkHandler(sink, this.#queueTimeout)
    // dispatch throws synchronously on requests undici refuses; the caller turns that into a 502.
    this.#pool.dispatch({
      path: req.path,
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      body: req.body,
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout
    }, handler)
    return handler
  }

  async close (): Promise<void> {
    await this.#pool.close()
  }
}
