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
/** Set once the settings below are applied, so that the re-executed process does not apply them again. */
const V8_FLAGS = '_FRESHGATE_LAUNCHER_V8_FLAGS'
/** Semi-space size (MiB) of V8's young generation; V8's default is 16. */
const SEMI_SPACE_MIB = 2
/**
 * glibc malloc settings, each applied unless the environment already sets it. The mmap threshold
 * fixed at glibc's initial 128 KiB: glibc raises it to the largest mmapped block freed (up to
 * 32 MiB), after which stored bodies are carved from the heap arena among short-lived buffers,
 * fragment it and do not go back to the system when freed. Fixed, a body of 128 KiB or more is
 * mmapped and returned on release, while upstream read buffers (64 KiB) stay in the arena and are
 * reused (a 64 KiB threshold mmaps those too: ~300 µs more CPU per 256 KiB miss, in page faults).
 */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' }
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
  // V8's young generation is 2 x 16 MiB by default. Upstream body chunks are small heap objects
  // holding large off-heap buffers: they die young, and their memory comes back only when the
  // scavenger runs. Smaller semi-spaces scavenge sooner, which keeps a miss storm's peak RSS down
  // (bench memory scenario, --max-size 32MiB: see README "Performance"). Applied, with the malloc
  // settings above, by replacing this process with one started with them (process.execve, Node
  // >= 23.11): same pid, no parent left waiting, nothing applied twice. An explicit
  // --max-semi-space-size (NODE_OPTIONS or node flags) wins, as does a MALLOC_* variable already set.
  // NODE_OPTIONS may quote its arguments ("--max-semi-space-size=8"), as some tools rewrite it.
  const flagged = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some(a => a.replace(/^"/, '').startsWith('--max-semi-space-size'))
  const flags = flagged ? [] : [`--max-semi-space-size=${SEMI_SPACE_MIB}`]
  const env = Object.fromEntries(Object.entries(MALLOC_ENV).filter(([name]) => process.env[name] === undefined))
  if ((flags.length > 0 || Object.keys(env).length > 0) && process.env[V8_FLAGS] === undefined && typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { ...process.env, ...env, [V8_FLAGS]: '1' })
  }
  const src = new URL('../src/cli.ts', import.meta.url)
  await import(existsSync(src) ? src.href : new URL('../dist/cli.js', import.meta.url).href)
}
