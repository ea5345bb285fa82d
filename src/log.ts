// Logging: pino JSON lines. Access records go to stdout through an asynchronous destination so a
// request never waits on a write; application messages go to stderr. Both are pretty-printed
// when they go to a terminal.

import pino, { type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { Config } from './config/schema.ts'
import type { AccessLog } from './proxy/context.ts'

/** The application logger (stderr; human-readable when stderr is a terminal). */
export function appLogger (config: Config): Logger {
  const opts = { level: config.log.level, base: { name: config.cacheName, pid: process.pid } }
  if (process.stderr.isTTY === true) return pino(opts, pretty({ destination: 2, colorize: true, sync: true }))
  return pino(opts, pino.destination({ dest: 2, sync: true }))
}

/** The access log (stdout, buffered, optionally sampled), or undefined when disabled. */
export function accessLogger (config: Config): { log: AccessLog, flush: () => void } | undefined {
  if (!config.log.access || config.log.accessSample <= 0) return undefined
  const opts = { base: undefined, timestamp: pino.stdTimeFunctions.isoTime }
  // On a terminal a person reads it: pretty and unbuffered.
  if (process.stdout.isTTY === true) {
    const logger = pino(opts, pretty({ destination: 1, colorize: true, sync: true }))
    return { log: r => logger.info(r), flush: () => {} }
  }
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  const logger = pino(opts, dest)
  const rate = config.log.accessSample
  const log: AccessLog = rate >= 1 ? r => logger.info(r) : r => { if (Math.random() < rate) logger.info(r) }
  return { log, flush: () => dest.flushSync() }
}
