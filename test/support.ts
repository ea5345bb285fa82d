// Helpers shared by tests that spawn the CLI or write config files.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The parent's environment without FRESHGATE_* variables, plus `extra`: a child sees only what a test sets. */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FRESHGATE_')) env[k] = v
  return { ...env, ...extra }
}

/** Rejects after `ms` unless `p` settles first. */
export async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A temporary directory removed at teardown, and a writer of fresh files in it. */
export function tempFiles (t: { teardown: (fn: () => unknown) => void }, prefix: string): (text: string, ext?: string) => string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let files = 0
  return (text, ext = '.yaml') => {
    const path = join(dir, `config-${++files}${ext}`)
    writeFileSync(path, text)
    return path
  }
}
