// Logging: pino JSON lines. Access records go to stdout through an asynchronous destination so a
// request never waits on a write; application messages go to stderr.

import pino, { type Logger } from 'pino'
import type { Config } from './config/schema.ts'
import type { AccessLog } from './proxy/handler.ts'

/** The application logger (stderr). */
export function appLogger (config: Config): Logger {
  return pino({ level: config.log.level, base: { name: config.cacheName } }, pino.destination({ dest: 2, sync: true }))
}

/** The access log (stdout, buffered), or undefined when disabled. */
export function accessLogger (config: Config): { log: AccessLog, flush: () => void } | undefined {
  if (!config.log.access) return undefined
  const dest = pino.destination({ dest: 1, sync: false, minLength: 4096 })
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, dest)
  return { log: r => logger.info(r), flush: () => dest.flushSync() }
}
