// Command line: yargs → load config → start (one process, or a cluster of workers).
// The only place that exits the process.

import cluster from 'node:cluster'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import type { Logger } from 'pino'
import { SCHEMA, envName, type Config } from './config/schema.ts'
import { loadConfig } from './config/load.ts'
import { ConfigError } from './errors.ts'
import { startProxy } from './proxy/server.ts'
import { appLogger, accessLogger } from './log.ts'

/** Exit code for a bad flag or configuration. */
const EXIT_CONFIG = 2

function usageError (message: string): never {
  process.stderr.write(`freshgate: ${message}\nRun freshgate --help for the options.\n`)
  process.exit(EXIT_CONFIG)
}

/** Parses argv into the validated config (or exits 2), and the non-config switches. */
async function parse (): Promise<{ config: Config, printConfig: boolean }> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('freshgate')
    .usage('$0 --origin URL [options]\n\nA caching reverse proxy with RFC 9111 shared-cache semantics.\nEvery option can also be set in a config file (--config) or as FRESHGATE_<KEY> in the environment; flags win over the environment, which wins over the file.')
    .option('config', { type: 'string', describe: 'YAML or JSON config file', group: 'General:', requiresArg: true })
    .option('print-config', { type: 'boolean', describe: 'Print the effective configuration as JSON and exit', group: 'General:' })
    .strict()
    .version()
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err) => usageError(msg ?? err?.message ?? 'invalid arguments'))
  for (const spec of SCHEMA) {
    const group = spec.key.includes('.') ? `${spec.key.split('.')[0]}:` : 'General:'
    const dflt = spec.default === undefined ? '' : ` [default: ${JSON.stringify(spec.default)}${spec.type === 'duration' ? ' ms' : ''}]`
    cli = cli.option(spec.flag, {
      type: 'string',
      describe: `${spec.doc}${dflt} (${spec.key}, ${envName(spec.key)})`,
      group,
      requiresArg: spec.type !== 'boolean'
    })
  }
  const argv = await cli.parseAsync()
  const flags: Record<string, unknown> = {}
  for (const spec of SCHEMA) {
    const v = argv[spec.flag]
    // A bare boolean flag (--debug) arrives as an empty string.
    if (v !== undefined) flags[spec.key] = spec.type === 'boolean' && v === '' ? true : v
  }
  try {
    const config = loadConfig({ file: argv.config as string | undefined, env: process.env, flags })
    return { config, printConfig: argv['print-config'] === true }
  } catch (err) {
    if (err instanceof ConfigError) usageError(`invalid configuration: ${err.message}`)
    throw err
  }
}

/** Runs one proxy in this process until SIGTERM/SIGINT, then drains and exits 0. */
async function runProxy (config: Config, log: Logger): Promise<void> {
  const access = accessLogger(config)
  let fg
  try {
    fg = await startProxy(config, { accessLog: access?.log })
  } catch (err) {
    log.error({ err }, 'cannot listen')
    process.exit(1)
  }
  log.info({ url: fg.url, origin: config.origin, maxSize: config.cache.maxSize }, `freshgate listening on ${fg.url}, origin ${config.origin}`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining: no new connections, waiting for in-flight requests')
    const timer = setTimeout(() => {
      log.warn({ timeoutMs: config.shutdownTimeout }, 'drain timeout: exiting with requests in flight')
      access?.flush()
      process.exit(0)
    }, config.shutdownTimeout)
    timer.unref()
    fg.close().finally(() => {
      access?.flush()
      log.info('stopped')
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

/** The cluster primary: forks the workers, replaces crashed ones, relays shutdown. */
function runPrimary (config: Config, log: Logger): void {
  let stopping = false
  const fork = (): void => { cluster.fork() }
  for (let i = 0; i < config.workers; i++) fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('all workers stopped')
        process.exit(0)
      }
      return
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting a new one')
    setTimeout(fork, 500).unref()
  })
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal, workers: config.workers }, 'stopping workers')
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
    setTimeout(() => process.exit(0), config.shutdownTimeout + 1000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

async function main (): Promise<void> {
  const { config, printConfig } = await parse()
  if (printConfig) {
    process.stdout.write(JSON.stringify(config, null, 2) + '\n')
    return
  }
  const log = appLogger(config)
  if (config.workers > 1 && cluster.isPrimary) {
    log.info({ workers: config.workers }, `starting ${config.workers} workers`)
    runPrimary(config, log)
    return
  }
  await runProxy(config, cluster.isWorker ? log.child({ worker: cluster.worker?.id }) : log)
}

await main()
