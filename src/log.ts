// Logging. The application log is pino JSON on stderr; the access log is one line per request on
// stdout, JSON or nginx "combined", through an asynchronous destination so a request never waits
// on a write, flushed every second and on exit. Both carry ISO 8601 times and are pretty-printed
// when they go to a terminal.

import pino, { type Logger } from 'pino'
import { prettyStream } from './lazy.ts'
import type { Config } from './config/schema.ts'
import type { AccessLog, AccessRecord } from './proxy/context.ts'

/** The most access-log lines a SIGKILL may lose: those of the last interval. */
export const ACCESS_FLUSH_INTERVAL = 1000

/** The application logger (stderr; human-readable when stderr is a terminal). */
export function appLogger (config: Config): Logger {
  const opts = { level: config.log.level, base: { name: config.cacheName, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }
  if (process.stderr.isTTY === true) return pino(opts, prettyStream()({ destination: 2, colorize: true, sync: true }))
  return pino(opts, pino.destination({ dest: 2, sync: true }))
}

/** A running access log: `log` takes records, `flush` writes what is buffered (call it before exit). */
export interface AccessLogger { log: AccessLog, flush: () => void }

/** The access log (stdout, buffered, optionally sampled), or undefined when disabled. */
export function accessLogger (config: Config, clock: () => number = Date.now): AccessLogger | undefined {
  if (!config.log.access || config.log.accessSample <= 0) return undefined
  const combined = config.log.format === 'combined'
  const opts = { base: undefined, timestamp: pino.stdTimeFunctions.isoTime }
  let write: AccessLog
  let flush = (): void => {}
  if (process.stdout.isTTY === true) {
    // On a terminal a person reads it: pretty and unbuffered.
    const logger = pino(opts, prettyStream()({ destination: 1, colorize: true, sync: true }))
    write = combined ? r => process.stdout.write(combinedLine(r, clock())) : r => logger.info(r)
  } else {
    const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 })
    const logger = pino(opts, dest)
    write = combined ? r => dest.write(combinedLine(r, clock())) : r => logger.info(r)
    // Without a timed flush a quiet proxy would hold its last lines until the buffer fills, and a
    // crash would lose them all (issue 9 #9).
    const timer = setInterval(() => { dest.flush() }, ACCESS_FLUSH_INTERVAL)
    timer.unref()
    flush = () => { clearInterval(timer); dest.flushSync() }
  }
  const rate = config.log.accessSample
  const log: AccessLog = rate >= 1 ? write : r => { if (Math.random() < rate) write(r) }
  return { log, flush }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/** nginx's $time_local, in UTC: "01/Dec/2026:04:10:58 +0000". */
function timeLocal (now: number): string {
  const d = new Date(now)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
}

/** A quoted field as nginx escapes it: `"`, `\` and control bytes as \xHH. */
function quoted (s: string): string {
  return s.replace(/["\\\x00-\x1f\x7f]/g, c => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
}

/**
 * One line in nginx's combined format with the Cache-Status member appended:
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$cache"`.
 * Absent or empty fields print as "-", as nginx does.
 */
export function combinedLine (r: AccessRecord, now: number): string {
  const request = `${r.method} ${r.url} ${r.protocol === '' ? '-' : r.protocol}`
  return `${r.client === '' ? '-' : r.client} - - [${timeLocal(now)}] "${quoted(request)}" ${r.status} ${r.bytes} "${quoted(r.referer ?? '-')}" "${quoted(r.userAgent ?? '-')}" "${quoted(r.cache)}"\n`
}

/**
 * At debug level, one application-log line per request with the cache decision (its Cache-Status
 * member) and the upstream timing, read from the access record.
 */
export function requestDebugLog (log: Logger): AccessLog {
  return (r: AccessRecord) => {
    if (!log.isLevelEnabled('debug')) return
    const ms = (n: number): string => `${Math.round(n * 10) / 10} ms`
    const upstream = r.upstreamMs === undefined ? 'not forwarded' : `upstream ${r.upstreamStatus === undefined ? '' : `${r.upstreamStatus} `}in ${ms(r.upstreamMs)}`
    log.debug({ id: r.id, cache: r.cache, status: r.status, ms: r.ms, upstreamMs: r.upstreamMs, upstreamStatus: r.upstreamStatus },
      `${r.method} ${r.url} → ${r.status} (${r.cache}; ${upstream}; ${ms(r.ms)})`)
  }
}
