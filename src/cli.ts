// Command line: yargs → load config → start (one process, or a cluster of workers).
// The only place that exits the process.

import cluster from 'node:cluster'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import type { Logger } from 'pino'
import { SCHEMA, RESTART_KEYS, envName, type Config, type OptionSpec } from './config/schema.ts'
import { loadConfig, printable, type ConfigSources } from './config/load.ts'
import { defaultText } from './config/reference.ts'
import { originsOf, unreachableOrigins } from './config/reachable.ts'
import { ConfigError } from './errors.ts'
import { checkStoreConfig } from './store/tiers.ts'
import { VERSION } from './version.ts'
import { startProxy, type Freshgate } from './proxy/server.ts'
import { createMetrics } from './admin/metrics.ts'
import { startAdmin, adminRuntimeOf, type Admin } from './admin/server.ts'
import { WorkerHub, WorkerLink, primaryMetrics, primaryRuntime } from './admin/cluster.ts'
import type { Purge } from './cache/cache.ts'
import { appLogger, accessLogger, requestDebugLog } from './log.ts'
import type { AccessLog } from './proxy/context.ts'
import { demoInstructions, startDemoOrigin } from './demo/origin.ts'

/** Exit code for a bad flag or configuration. */
const EXIT_CONFIG = 2
/** Exit code when the process cannot start (a port in use). */
const EXIT_START = 1

function usageError (message: string): never {
  process.stderr.write(`freshgate: ${message}\nRun freshgate --help for the options.\n`)
  process.exit(EXIT_CONFIG)
}

/** What the command line asked for. */
interface Invocation {
  /** where the config comes from, to load it again on SIGHUP */
  sources: ConfigSources
  /** print the effective config and exit */
  printConfig: boolean
  /** `check-config FILE`: validate, print, exit 0 (or 2) */
  checkOnly: boolean
  /** `demo`: start the bundled demo origin and use it as the origin */
  demo: boolean
}

/** The type an option takes, as --help shows it. */
function typeText (spec: OptionSpec): string {
  switch (spec.type) {
    case 'enum': return spec.values!.join('|')
    case 'count': return 'integer|auto'
    case 'routes': return 'JSON'
    case 'ttls': return 'JSON'
    case 'fields': return 'JSON'
    default: return spec.type
  }
}

/** Parses argv into the config sources (or exits 2) and the non-config switches. */
async function parse (): Promise<Invocation> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('freshgate')
    .usage('$0 --origin URL [options]\n\nA caching reverse proxy with RFC 9111 shared-cache semantics.\nEvery option can also be set in a config file (--config) or as FRESHGATE_<KEY> in the environment; flags win over the environment, which wins over the file.')
    .command('$0', 'run the proxy')
    .command('check-config <file>', 'validate a config file (with the environment and flags), print the effective config, exit 0 or 2', y =>
      y.positional('file', { type: 'string', describe: 'YAML or JSON config file' }))
    .command('demo', 'start a small bundled origin with freshgate in front of it, and print curl lines to try')
    .option('config', { type: 'string', describe: 'YAML or JSON config file', group: 'General:', requiresArg: true })
    .option('print-config', { type: 'boolean', describe: 'Print the effective configuration (file < environment < flags) as JSON and exit', group: 'General:' })
    // Values reach the schema's own parser as text: yargs types would turn "eighty" into NaN and
    // "yes" into a positional. The real type is in each description instead.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err) => usageError(msg ?? err?.message ?? 'invalid arguments'))
  for (const spec of SCHEMA) {
    const group = spec.key.includes('.') ? `${spec.key.split('.')[0]}:` : 'General:'
    cli = cli.option(spec.flag, {
      describe: `${spec.doc} [${typeText(spec)}] [default: ${defaultText(spec)}] [env: ${envName(spec.key)}] [file: ${spec.key}]`,
      group,
      requiresArg: spec.type !== 'boolean'
    })
  }
  const argv = await cli.parseAsync()
  const flags: Record<string, unknown> = {}
  for (const spec of SCHEMA) {
    const v = argv[spec.flag]
    if (v !== undefined) flags[spec.key] = v
  }
  const checkOnly = argv._[0] === 'check-config'
  const demo = argv._[0] === 'demo'
  if (demo && flags.origin !== undefined) usageError('demo brings its own origin: drop --origin')
  const file = checkOnly ? argv.file as string : argv.config as string | undefined
  return { sources: { file, env: process.env, flags }, printConfig: argv['print-config'] === true, checkOnly, demo }
}

/** Loads the config, or exits 2 with the message. */
function load (sources: ConfigSources): Config {
  try {
    const config = loadConfig(sources)
    // Before any worker starts: a bad store.* value stops start-up once, naming the key.
    checkStoreConfig(config)
    if (config.workers > 1 && config.store.disk.dir !== undefined) {
      throw new ConfigError('store.disk.dir', config.store.disk.dir, 'unset when workers > 1 (one process per disk directory; use store.shared to share across workers)')
    }
    return config
  } catch (err) {
    if (err instanceof ConfigError) usageError(`invalid configuration: ${err.message}`)
    throw err
  }
}

/** Exits 1 with one line saying why a listener could not start (`EADDRINUSE` is the common one). */
function cannotListen (err: unknown, host: string, port: number): never {
  const code = (err as NodeJS.ErrnoException).code
  const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  process.stderr.write(code === 'EADDRINUSE'
    ? `freshgate: ${where} is already in use\n`
    : `freshgate: cannot listen on ${where}: ${code ?? (err as Error).message}\n`)
  process.exit(EXIT_START)
}

/** Keys whose values differ between two configs. */
function changedKeys (a: Config, b: Config): string[] {
  const get = (c: Config, key: string): unknown => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c)
  return SCHEMA.map(s => s.key).filter(k => JSON.stringify(get(a, k)) !== JSON.stringify(get(b, k)))
}

/** Logs one warning per origin that does not accept a connection; start-up goes on (/readyz says not ready). */
async function warnUnreachable (config: Config, log: Logger): Promise<void> {
  for (const { origin, cause } of await unreachableOrigins(originsOf(config), config.admin.readyTimeout)) {
    log.warn({ origin, cause }, `origin ${origin} is not reachable: ${cause}`)
  }
}

/** Runs one proxy in this process until SIGTERM/SIGINT, then drains and exits 0. */
async function runProxy (config: Config, sources: ConfigSources, log: Logger, started?: (proxy: Freshgate, admin: Admin | undefined) => void): Promise<void> {
  const access = accessLogger(config)
  // Per-request debug lines only when debug is on at start: otherwise no record is built per request.
  const debug = log.isLevelEnabled('debug') ? requestDebugLog(log) : undefined
  const accessLog: AccessLog | undefined = debug === undefined ? access?.log : access === undefined ? debug : r => { access.log(r); debug(r) }
  // Whatever ends the process (drain, drain timeout, a fatal error), the buffered lines go out first.
  process.on('exit', () => access?.flush())
  let fg: Freshgate | undefined
  const second = config.store.shared !== undefined ? { tier: 'shared' as const, source: () => fg?.shared } : config.store.disk.dir !== undefined ? { tier: 'disk' as const, source: () => undefined } : undefined
  const metrics = createMetrics(() => fg?.store?.stats(), config.cache.maxSize, second)
  // A worker reports to the primary, which runs the admin listener; without a shared tier its purges go to the other workers over IPC.
  const link = cluster.isWorker ? new WorkerLink() : undefined
  const announce = link === undefined || config.store.shared !== undefined ? undefined : async (p: Purge) => { await link.announce(p) }
  try {
    // Without an admin listener nobody can read the metrics: skip measuring.
    fg = await startProxy(config, { accessLog, log, announce, observer: config.admin.enabled ? metrics.observer : undefined })
  } catch (err) {
    if (err instanceof ConfigError) usageError(`invalid configuration: ${err.message}`)
    cannotListen(err, config.host, config.port)
  }
  const proxy = fg
  log.info({ url: proxy.url, origin: config.origin, maxSize: config.cache.maxSize }, `freshgate listening on ${proxy.url}, origin ${config.origin ?? '(routes only)'}`)
  link?.serve(proxy, metrics)
  let admin: Admin | undefined
  // With workers the admin listener runs in the primary (runPrimary), which asks the workers.
  if (config.admin.enabled && !cluster.isWorker) {
    try {
      admin = await startAdmin(config, adminRuntimeOf(proxy), metrics)
    } catch (err) {
      cannotListen(err, config.admin.host, config.admin.port)
    }
    log.info({ url: admin.url }, `admin listening on ${admin.url}`)
  }
  // With workers, the primary warns once for all of them.
  if (!cluster.isWorker) void warnUnreachable(config, log)
  started?.(proxy, admin)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'draining: no new connections, waiting for in-flight requests')
    const timer = setTimeout(() => {
      log.warn({ timeoutMs: config.shutdownTimeout }, 'drain timeout: exiting with requests in flight')
      process.exit(0)
    }, config.shutdownTimeout)
    timer.unref()
    // The admin listener stays open until exit, so /readyz answers 503 "draining" meanwhile.
    admin?.drain()
    proxy.close().finally(() => {
      log.info('stopped')
      process.exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  let current = config
  const reload = async (): Promise<void> => {
    let next: Config
    try {
      next = loadConfig(sources)
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload rejected: keeping the running configuration')
      return
    }
    // A file caught half-written can still parse ("origin: http://127.0"): switch to a new origin
    // only once it accepts a connection (issue 9 #8).
    const known = new Set(originsOf(current))
    for (const { origin, cause } of await unreachableOrigins(originsOf(next).filter(o => !known.has(o)), next.admin.readyTimeout)) {
      log.error({ origin, cause }, `reload rejected: origin ${origin} is not reachable: ${cause}; keeping the running configuration`)
      return
    }
    const changed = changedKeys(current, next)
    const restart = changed.filter(k => RESTART_KEYS.has(k))
    const live = changed.filter(k => !RESTART_KEYS.has(k))
    proxy.handler.reconfigure(next).catch(err => log.error({ err }, 'closing unused upstream pools failed'))
    // The certificate files are re-read on every SIGHUP (renewed in place): new connections get
    // the new certificate, open ones keep theirs; a bad file keeps the one in use.
    try {
      proxy.reloadTls()
    } catch (err) {
      log.error({ err: (err as Error).message }, 'TLS reload rejected: keeping the certificate in use')
    }
    log.level = next.log.level
    current = next
    if (restart.length > 0) log.warn({ keys: restart }, 'reload: these settings need a restart to take effect')
    log.info({ applied: live }, `reloaded configuration (${live.length} setting(s) applied)`)
  }
  // One reload at a time, in the order the signals came.
  let reloading = Promise.resolve()
  process.on('SIGHUP', () => { reloading = reloading.then(reload) })
}

/** The cluster primary: forks the workers, replaces crashed ones, relays shutdown, runs the admin listener. */
async function runPrimary (config: Config, sources: ConfigSources, log: Logger): Promise<void> {
  let stopping = false
  let admin: Admin | undefined
  // Relays purges between workers whether or not the admin listener runs.
  const hub = new WorkerHub()
  // The admin API reads the config on each request: a SIGHUP reload (token, purge.soft) applies here too.
  let current = config
  if (config.admin.enabled) {
    const metrics = primaryMetrics(createMetrics(() => undefined, config.cache.maxSize), hub)
    try {
      admin = await startAdmin(config, primaryRuntime(() => current, hub), metrics)
    } catch (err) {
      if (err instanceof ConfigError) usageError(`invalid configuration: ${err.message}`)
      cannotListen(err, config.admin.host, config.admin.port)
    }
    log.info({ url: admin.url, workers: config.workers }, `admin listening on ${admin.url} (for all ${config.workers} workers)`)
  }
  const fork = (): void => { cluster.fork() }
  for (let i = 0; i < config.workers; i++) fork()
  // Workers that reached their listening socket: one that exits before it does failed to start
  // (the port in use, a store that cannot open), and a new one would fail the same way.
  const started = new Set<number>()
  cluster.on('listening', worker => { started.add(worker.id) })
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('all workers stopped')
        process.exit()
      }
      return
    }
    if (!started.has(worker.id)) {
      log.error({ worker: worker.id, workerPid: worker.process.pid, code, signal }, 'a worker exited before it started listening; stopping')
      process.exitCode = code !== null && code !== 0 ? code : EXIT_START
      stop('start-up failure')
      return
    }
    started.delete(worker.id)
    // `pid` is the primary's own, on every line.
    log.error({ worker: worker.id, workerPid: worker.process.pid, code, signal }, 'worker exited; starting a new one')
    setTimeout(fork, 500).unref()
  })
  // Exits with process.exitCode (0 unless a start-up failure set it) once every worker is gone.
  function stop (signal: string): void {
    if (stopping) return
    stopping = true
    log.info({ signal, workers: config.workers }, 'stopping workers')
    admin?.drain()
    const workers = Object.values(cluster.workers ?? {})
    if (workers.length === 0) process.exit()
    for (const w of workers) w?.process.kill('SIGTERM')
    setTimeout(() => process.exit(), config.shutdownTimeout + 1000).unref()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // Each worker reloads its own configuration.
  process.on('SIGHUP', () => {
    log.info('reloading workers')
    try {
      current = loadConfig(sources)
    } catch (err) {
      log.error({ err: (err as Error).message }, 'reload rejected in the primary: its admin listener keeps the running configuration')
    }
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP')
  })
}

/** `freshgate demo`: the bundled origin on a free loopback port, freshgate in front, curl lines on stdout. */
async function runDemo (sources: ConfigSources): Promise<void> {
  const origin = await startDemoOrigin()
  const demoSources = { ...sources, flags: { ...sources.flags, origin: origin.url } }
  const config = load(demoSources)
  if (config.workers > 1) usageError('demo runs one process: drop --workers')
  await runProxy(config, demoSources, appLogger(config), (proxy, admin) => {
    process.stdout.write(demoInstructions(proxy.url, admin?.url))
  })
}

async function main (): Promise<void> {
  const { sources, printConfig, checkOnly, demo } = await parse()
  if (demo) return await runDemo(sources)
  const config = load(sources)
  if (printConfig || checkOnly) {
    process.stdout.write(JSON.stringify(printable(config), null, 2) + '\n')
    if (checkOnly) process.stderr.write(`freshgate: ${sources.file} is valid\n`)
    return
  }
  const log = appLogger(config)
  if (config.workers > 1 && cluster.isPrimary) {
    log.info({ workers: config.workers }, `starting ${config.workers} workers`)
    await runPrimary(config, sources, log)
    void warnUnreachable(config, log)
    return
  }
  await runProxy(config, sources, cluster.isWorker ? log.child({ worker: cluster.worker?.id }) : log)
}

// Not a top-level await: the single binary is a CommonJS bundle (bin/build-binary.mjs).
main().catch(err => {
  process.stderr.write(`freshgate: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
