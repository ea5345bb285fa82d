// Client request bodies: read whole up to a buffer size before the origin request is opened, so
// a slow sender holds no origin connection (like nginx's client_body_buffer_size); larger bodies
// stream on after the buffered part. A body size limit and an idle timeout bound both.

import type { Readable } from 'node:stream'
import { FreshgateError } from '../errors.ts'

/** Limits on a request body. */
export interface BodyLimits {
  /** bytes read whole before going upstream */
  buffer: number
  /** largest body accepted; 0: no limit */
  max: number
  /** longest pause between body chunks, ms */
  idleMs: number
}

/** A request body ready to send: whole, or a stream continuing after its buffered head. */
export type ReadyBody = Buffer | AsyncIterable<Buffer>

/**
 * Reads a request body as far as the buffer allows. Rejects with FG_REQUEST_BODY_TOO_LARGE
 * (Content-Length or bytes over `max`) or FG_REQUEST_BODY_TIMEOUT (idle longer than `idleMs`);
 * the caller then answers and closes the connection, so the rest of the body is never read.
 */
export async function readRequestBody (stream: Readable, declared: number | undefined, limits: BodyLimits): Promise<ReadyBody> {
  if (limits.max > 0 && declared !== undefined && declared > limits.max) throw new FreshgateError('FG_REQUEST_BODY_TOO_LARGE')
  const chunks: Buffer[] = []
  let n = 0
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  for (;;) {
    const next = await idle(it.next(), limits.idleMs)
    if (next.done === true) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n)
    n += next.value.length
    if (limits.max > 0 && n > limits.max) throw new FreshgateError('FG_REQUEST_BODY_TOO_LARGE')
    chunks.push(next.value)
    if (n > limits.buffer) return rest(chunks, it, n, limits)
  }
}

/** The buffered head, then the rest of the stream under the same limits. */
async function * rest (head: Buffer[], it: AsyncIterator<Buffer>, n: number, limits: BodyLimits): AsyncIterable<Buffer> {
  yield * head
  for (;;) {
    const next = await idle(it.next(), limits.idleMs)
    if (next.done === true) return
    n += next.value.length
    if (limits.max > 0 && n > limits.max) throw new FreshgateError('FG_REQUEST_BODY_TOO_LARGE')
    yield next.value
  }
}

/** Waits for the next chunk at most `ms`; the caller answers 408 and closes the connection. */
async function idle<T> (p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new FreshgateError('FG_REQUEST_BODY_TIMEOUT')), ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}
