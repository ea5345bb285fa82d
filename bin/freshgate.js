#!/usr/bin/env node
// Launcher: the compiled build when present (installed packages), else the
// TypeScript sources, which Node 24 runs directly by type stripping (a checkout).
import { existsSync } from 'node:fs'

const dist = new URL('../dist/cli.js', import.meta.url)
await import(existsSync(dist) ? dist.href : new URL('../src/cli.ts', import.meta.url).href)
