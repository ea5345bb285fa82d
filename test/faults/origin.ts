// An origin controlled byte by byte: a node:net server on listen(0) that reads request heads and
// lets each test write whatever bytes it likes, counting the requests it received.

import { createServer, type Server, type Socket, type AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import { Agent, request } from 'undici'

/** What a test does with one request: write bytes to the socket, stall, reset… */
export type Behaviour = (socket: Socket, n: number, head: string) => void

/** A raw origin. `n` counts requests from 1, over all connections. */
export class ByteOrigin {
  server!: Server
  url = ''
  /** request heads received, in order */
  heads: string[] = []
  readonly #sockets = new Set<Socket>()
  readonly #behave: Behaviour

  constructor (behave: Behaviour) {
    this.#behave = behave
  }

  async start (): Promise<this> {
    this.server = createServer(socket => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
      socket.on('error', () => { /* resets are part of the game */ })
      let pending = ''
      socket.on('data', d => {
        pending += d.toString('latin1')
        // GETs carry no body: every head ends at an empty line.
        for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
          const head = pending.slice(0, end)
          pending = pending.slice(end + 4)
          this.heads.push(head)
          if (!socket.destroyed) this.#behave(socket, this.heads.length, head)
        }
      })
    })
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  /** Requests received so far. */
  get requests (): number {
    return this.heads.length
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

/** A deterministic body of `size` bytes (not one repeated byte, so a shifted copy differs). */
export function bodyOf (size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff
  return b
}

/** SHA-256 of bytes, hex. */
export function sha256 (b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/** A complete, cacheable response head for a body of `length` bytes. */
export function okHead (length: number, extra = ''): string {
  return `HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: ${length}\r\n${extra}\r\n`
}

/** What one client got: a whole response, or the error that cut it. */
export type Outcome =
  | { kind: 'response', status: number, headers: Record<string, string | string[] | undefined>, body: Buffer, ms: number }
  | { kind: 'cut', message: string, ms: number }

const agent = new Agent({ keepAliveTimeout: 500 })

/** GETs `url` and reads the whole body; a cut connection is an outcome, a hang past `ms` an error. */
export async function fetchWhole (url: string, ms = 5000): Promise<Outcome> {
  const started = Date.now()
  const signal = AbortSignal.timeout(ms)
  try {
    const res = await request(url, { dispatcher: agent, signal, headersTimeout: ms, bodyTimeout: ms })
    const body = Buffer.from(await res.body.arrayBuffer())
    return { kind: 'response', status: res.statusCode, headers: res.headers, body, ms: Date.now() - started }
  } catch (err) {
    if (signal.aborted) throw new Error(`no answer and no close within ${ms} ms for ${url}`)
    return { kind: 'cut', message: (err as Error).message, ms: Date.now() - started }
  }
}
