// Command line: yargs → load config → start. The only place that exits the process.

import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { SCHEMA, envName } from './config/schema.ts'
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

async function main (): Promise<void> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('freshgate')
    .usage('$0 --origin URL [options]\n\nA caching reverse proxy with RFC 9111 shared-cache semantics.\nEvery option can also be set in a config file (--config) or as FRESHGATE_<KEY> in the environment; flags win over the environment, which wins over the file.')
    .option('config', { type: 'string', describe: 'YAML or JSON config file', group: 'General:' })
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
  let config
  try {
    config = loadConfig({ file: argv.config as string | undefined, env: process.env, flags })
  } catch (err) {
    if (err instanceof ConfigError) usageError(`invalid configuration: ${err.message}`)
    throw err
  }
  if (argv['print-config'] === true) {
    process.stdout.write(JSON.stringify(config, null, 2) + '\n')
    return
  }
  const log = appLogger(config)
  const access = accessLogger(config)
  let fg
  try {
    fg = await startProxy(config, { accessLog: access?.log })
  } catch (err) {
    log.error({ err }, 'cannot listen')
    process.exit(1)
  }
  log.info({ url: fg.url, origin: config.origin, maxSize: config.cache.maxSize }, `freshgate listening on ${fg.url}, origin ${config.origin}`)
  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => process.exit(0), 10_000)
    timer.unref()
    fg.close().finally(() => {
      access?.flush()
      process.exit(0)
    })
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
}

await main()
