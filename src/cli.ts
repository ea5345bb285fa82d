// Command line: yargs → load config → start (one process, or a cluster of workers).
// The only place that exits the process.

import cluster from 'node:cluster'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import type { Logger } from 'pino'
import { SCHEMA, RESTART_KEYS, envName, type Config } from './config/schema.ts'
import { loadConfig, printable, type ConfigSources } from './config/load.ts'
import { defaultText } from './config/reference.ts'
import { ConfigError } from './errors.ts'
import { VERSION } from './version.ts'
import { startProxy, type Freshgate } from './proxy/server.ts'
import { createMetrics } from './admin/metrics.ts'
import { startAdmin, adminRuntimeOf, type Admin } from './admin/server.ts'
import { appLogger, accessLogger } from './log.ts'

/** Exit code for a bad flag or configuration. */
const EXIT_CONFIG = 2

function usageError (message: string): never {
  process.stderr.write(`freshgate: ${message}\nRun freshgate --help for the options.\n`)
  process.exit(EXIT_CONFIG)
}

/** What the command line asked for. */
interface Invocation {
  config: Config
  /** where the config came from, to load it again on SIGHUP */
  sources: ConfigSources
  /** print the effective config and exit */
  printConfig: boolean
  /** `check-config FILE`: validate, print, exit 0 (or 2) */
  checkOnly: boolean
}

/** Parses argv into the validated config (or exits 2), and the non-config switches. */
async function parse (): Promise<Invocation> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('freshgate')
    .usage('$0 --origin URL [options]\n\nA caching reverse proxy with RFC 9111 shared-cache semantics.\nEvery option can also be set in a config file (--config) or as FRESHGATE_<KEY> in the environment; flags win over the environment, which wins over the file.')
    .command('$0', 'run the proxy')
    .command('check-config <file>', 'validate a config file (with the environment and flags), print the effective config, exit 0 or 2', y =>
      y.positional('file', { type: 'string', describe: 'YAML or JSON config file' }))
    .option('config', { type: 'string', describe: 'YAML or JSON config file', group: 'General:', requiresArg: true })
    .option('print-config', { type: 'boolean', describe: 'Print the effective configuration (file < environment < flags) as JSON and exit', group: 'General:' })
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err) => usageError(msg ?? err?.message ?? 'invalid arguments'))
  for (const spec of SCHEMA) {
    const group = spec.key.includes('.') ? `${spec.key.split('.')[0]}:` : 'General:'
    const dflt = spec.default === undefined ? '' : ` [default: ${defaultText(spec)}]`
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
  const checkOnly = argv._[0] === 'check-config'
  const file = checkOnly ? argv.file as string : argv.config as string | undefined
  const sources: ConfigSources = { file, env: process.env, flags }
  try {
    return { config: loadConfig(sources), sources, printConfig: argv['print-config'] === true, checkOnly }
  } catch (err) {
    if (err instanceof ConfigError) usageError(`invalid configuration: ${err.message}`)
    throw err
  }
}

/** Keys whose values differ between two configs. */
function changedKeys (a: Config, b: Config): string[] {
  const get = (c: Config, key: string): unknown => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c)
  return SCHEMA.map(s => s.key).filter(k => JSON.stringify(get(a, k)) !== JSON.stringify(get(b, k)))
}

/** Runs one proxy in this process until SIGTERM/SIGINT, then drains and exits 0. */
async function runProxy (config: Config, sources: ConfigSources, log: Logger): Promise<void> {
  const access = accessLogger(config)
  let fg: Freshgate | undefined
  const metrics = createMetrics(() => fg?.store?.stats(), config.cache.maxSize)
  try {
    // Without an admin listener nobody can read the metrics: skip measuring.
    fg = await startProxy(config, { accessLog: access?.log, observer: config.admin.enabled && !cluster.isWorker ? metrics.observer : undefined })
  } catch (err) {
    log.error({ err }, 'cannot listen')
    process.exit(1)
  }
  const proxy = fg
  log.info({ url: proxy.url, origin: config.origin, maxSize: config.cache.maxSize }, `freshgate listening on ${proxy.url}, origin ${config.origin ?? '(routes only)'}`)
  let admin: Admin | undefined
  // With several workers each has its own cache; an admin listener per worker would answer for
  // one random worker, so the admin API runs only in single-process mode (README "Operations").
  if (config.admin.enabled && !cluster.isWorker) {
    try {
      admin = await startAdmin(config, adminRuntimeOf(proxy), metrics)
    } catch (err) {
      log.error({ err }, 'admin listener cannot listen')
      process.exit(1)
    }
    log.info({ url: admin.url }, `admin listening on ${admin.url}`)
  }
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
    Promise.all([proxy.close(), admin?.close()]).finally(() => {
      access?.flush()
      log.info('stopped')
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  let current = config
  process.on('SIGHUP', () => {
    let next: Config
    try {
      next = loadConfig(sources)
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload rejected: keeping the running configuration')
      return
    }
    const changed = changedKeys(current, next)
    const restart = changed.filter(k => RESTART_KEYS.has(k))
    const live = changed.filter(k => !RESTART_KEYS.has(k))
    proxy.handler.reconfigure(next).catch(err => log.error({ err }, 'closing unused upstream pools failed'))
    log.level = next.log.level
    current = next
    if (restart.length > 0) log.warn({ keys: restart }, 'reload: these settings need a restart to take effect')
    log.info({ applied: live }, `reloaded configuration (${live.length} setting(s) applied)`)
  })
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
  // Each worker reloads its own configuration.
  process.on('SIGHUP', () => {
    log.info('reloading workers')
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP')
  })
}

async function main (): Promise<void> {
  const { config, sources, printConfig, checkOnly } = await parse()
  if (printConfig || checkOnly) {
    process.stdout.write(JSON.stringify(printable(config), null, 2) + '\n')
    if (checkOnly) process.stderr.write(`freshgate: ${sources.file} is valid\n`)
    return
  }
  const log = appLogger(config)
  if (config.workers > 1 && cluster.isPrimary) {
    log.info({ workers: config.workers }, `starting ${config.workers} workers`)
    if (config.admin.enabled) log.warn('the admin listener is not started with workers > 1: each worker has its own cache (README "Operations")')
    runPrimary(config, log)
    return
  }
  await runProxy(config, sources, cluster.isWorker ? log.child({ worker: cluster.worker?.id }) : log)
}

// Not a top-level await: the single binary is a CommonJS bundle (bin/build-binary.mjs).
main().catch(err => {
  process.stderr.write(`freshgate: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
