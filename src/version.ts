// freshgate's version, from package.json next to src/ or dist/ (the single binary's build
// replaces this module with the literal version, bin/build-binary.mjs).

import { createRequire } from 'node:module'

/** The package version, e.g. "0.1.0". */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version
