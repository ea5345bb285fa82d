// Dependencies loaded when first used rather than at start-up: each costs several MiB of resident
// memory (bench/startup.ts) that a proxy which never uses it should not pay.

import { createRequire } from 'node:module'

/**
 * `require` for the ES-module build (src/ by type stripping, dist/). The single-binary bundle
 * (bin/build-binary.mjs) is CommonJS: there the global `require` exists and esbuild bundles the
 * literal `require('…')` calls of the callers, so each caller names its package literally.
 */
export const esmRequire = createRequire(import.meta.url)

/** The YAML parser, loaded with the first YAML config file. */
export function yamlParser (): typeof import('yaml') {
  return typeof require === 'function' ? require('yaml') as typeof import('yaml') : esmRequire('yaml') as typeof import('yaml')
}

/** pino-pretty's stream factory, loaded when a log goes to a terminal. */
export function prettyStream (): typeof import('pino-pretty') {
  return typeof require === 'function' ? require('pino-pretty') as typeof import('pino-pretty') : esmRequire('pino-pretty') as typeof import('pino-pretty')
}
