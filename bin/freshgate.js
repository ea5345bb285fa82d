#!/usr/bin/env node
// Launcher: in a checkout, the TypeScript sources, which Node 24 runs directly by type stripping
// (so a stale dist/ never shadows them); in an installed package or the image, which ship no src/,
// the compiled build (Node does not strip types under node_modules).
import { existsSync } from 'node:fs'

const src = new URL('../src/cli.ts', import.meta.url)
await import(existsSync(src) ? src.href : new URL('../dist/cli.js', import.meta.url).href)
