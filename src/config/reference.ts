// The README's configuration reference, generated from the schema so the two cannot drift
// (test/docs.test.ts checks README.md contains exactly this). Run this file to print it.

import { SCHEMA, envName, type OptionSpec } from './schema.ts'
import { bytesText, durationText } from './units.ts'
import { ttlsText } from './load.ts'
import type { TtlTable } from '../cache/overrides.ts'

/** An option's default as a person would write it ("30s", "256MiB"). */
export function defaultText (s: OptionSpec): string {
  if (s.derived !== undefined) return s.derived.doc
  if (s.default === undefined) return s.required === true ? '(required)' : '(unset)'
  if (s.type === 'duration') return durationText(s.default as number)
  if (s.type === 'bytes') return bytesText(s.default as number)
  if (s.type === 'ttls') return JSON.stringify(ttlsText(s.default as TtlTable))
  if (s.type === 'fields') return JSON.stringify(s.default)
  if (Array.isArray(s.default)) return s.default.length === 0 ? '[]' : s.default.join(', ')
  return String(s.default)
}

/** Markdown table of every option: file key, flag, environment variable, type, default, meaning. */
export function configReference (): string {
  const rows = SCHEMA.map(s => {
    const type = s.type === 'enum' ? s.values!.join(' \\| ') : s.type
    return `| \`${s.key}\` | \`--${s.flag}\` | \`${envName(s.key)}\` | ${type} | \`${defaultText(s)}\` | ${s.doc.replace(/\|/g, '\\|')} |`
  })
  return ['| key | flag | environment | type | default | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n') + '\n'
}

if (import.meta.main) process.stdout.write(configReference())
