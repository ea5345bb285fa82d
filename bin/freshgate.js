#!/usr/bin/env node
// Launcher: in a checkout, the TypeScript sources, which Node 24 runs directly by type stripping
// (so a stale dist/ never shadows them); in an installed package or the image, which ship no src/,
// the compiled build (Node does not strip types under node_modules).
//
// Plain JavaScript that any Node since 14 can parse: the version check must run before anything
// imports a .ts file or undici, which fail on older Nodes with errors that do not say why.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'

const NEEDED = 24
/** Set on the re-executed child so that a wrong node@24 package cannot loop. */
const REEXEC = '_FRESHGATE_LAUNCHER_REEXEC'
/** Signals an operator sends to freshgate: passed on to the re-executed process. */
const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

if (Number(process.versions.node.split('.')[0]) < NEEDED) {
  // In a checkout the node@24 devDependency is at hand (npm scripts already run on it): use it.
  const node24 = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url))
  if (process.env[REEXEC] === undefined && existsSync(node24)) {
    const child = spawn(node24, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [REEXEC]: '1' }
    })
    for (const signal of FORWARDED) process.on(signal, () => { child.kill(signal) })
    child.on('error', err => {
      process.stderr.write(`freshgate: cannot run ${node24}: ${err.message}\n`)
      process.exit(1)
    })
    // Exit as the child did; a child killed by a signal exits 128 + n, as a shell reports it.
    child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)))
  } else {
    process.stderr.write(`freshgate needs Node >= ${NEEDED} (this is ${process.version})\n`)
    process.exit(1)
  }
} else {
  const src = new URL('../src/cli.ts', import.meta.url)
  await import(existsSync(src) ? src.href : new URL('../dist/cli.js', import.meta.url).href)
}
