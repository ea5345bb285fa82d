// README stays true: its configuration reference is the schema's, and every error code is documented.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { configReference } from '../src/config/reference.ts'
import { ERROR_CODES } from '../src/errors.ts'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

t.test('README carries the generated configuration reference', async t => {
  const m = /<!-- config-reference:start[^>]*-->\n([\s\S]*?)<!-- config-reference:end -->/.exec(readme)
  t.ok(m, 'markers present')
  t.equal(m?.[1], configReference(), 'regenerate with: node src/config/reference.ts')
})

t.test('README documents every error code', async t => {
  for (const code of Object.keys(ERROR_CODES)) t.match(readme, new RegExp(`\\| \`${code}\` \\|`), code)
})
