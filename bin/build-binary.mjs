// `npm run build:binary`: freshgate as one linux-x64 executable (a Node single executable
// application, https://nodejs.org/api/single-executable-applications.html) at build/freshgate.
//
//   1. esbuild bundles src/cli.ts and every runtime dependency into one CommonJS file: Node 24
//      runs only a CommonJS script from the blob ("mainFormat": "module" and --build-sea came later).
//   2. `node --experimental-sea-config` turns the bundle into a preparation blob (with V8 code cache).
//   3. The running Node binary (process.execPath: the node@24 devDependency under npm) is copied and
//      postject writes the blob into it, flipping the NODE_SEA_FUSE sentinel.
//
// The blob must come from the same Node binary it is injected into, so both steps use process.execPath.

import { build } from 'esbuild'
import postject from 'postject'
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const outDir = join(root, 'build')
const work = join(outDir, 'sea')
const bundle = join(work, 'freshgate.cjs')
const blob = join(work, 'freshgate.blob')
const seaConfig = join(work, 'sea-config.json')
const binary = join(outDir, 'freshgate')
/** Fixed by Node: the fuse postject flips so the binary looks for its blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

/**
 * Build-time substitutions in src/ that a CommonJS bundle cannot do without. Each must match
 * exactly once, so a change in src/ stops the build instead of shipping a binary that misbehaves.
 */
const PATCHES = [
  {
    file: 'src/version.ts',
    why: 'the version is read from package.json on disk at run time, which the binary does not have',
    find: /createRequire\(import\.meta\.url\)\('\.\.\/package\.json'\) as \{ version: string \}\)\.version/,
    replace: `{ version: ${JSON.stringify(version)} }).version`
  }
]

/**
 * Runs first in the bundle. yargs and yargs-parser are ES modules that read import.meta.url,
 * which a CommonJS bundle lacks; inside the executable __filename is the executable itself.
 * A cluster worker forked by the executable gets the primary's argv[1] as an extra first
 * argument (fork passes a script path, and the executable runs its blob instead of that path);
 * remove it, or yargs refuses it as an unknown argument and `--workers` crash-loops. The bundle
 * run by plain `node` has no extra argument, hence isSea().
 */
const PRELUDE = [
  // The banner comes before esbuild's own "use strict", which then no longer starts the file.
  '"use strict";',
  'var __freshgate_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
  'if (require("node:sea").isSea() && require("node:cluster").isWorker) process.argv.splice(2, 1);'
].join('\n')

function fail (message) {
  process.stderr.write(`build-binary: ${message}\n`)
  process.exit(1)
}

const patchSrc = {
  name: 'freshgate-sea-patches',
  setup (b) {
    const files = [...new Set(PATCHES.map(p => p.file))]
    for (const file of files) {
      const path = join(root, file)
      b.onLoad({ filter: new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }, () => {
        let text = readFileSync(path, 'utf8')
        for (const p of PATCHES.filter(p => p.file === file)) {
          const matches = text.match(new RegExp(p.find.source, p.find.flags + 'g'))?.length ?? 0
          if (matches !== 1) fail(`${file}: expected exactly one match of ${p.find} (${p.why}), found ${matches}`)
          text = text.replace(p.find, p.replace)
        }
        return { contents: text, loader: 'ts' }
      })
    }
  }
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`builds for linux-x64 only, this is ${process.platform}-${process.arch}`)
const major = Number(process.versions.node.split('.')[0])
if (major < 24) fail(`needs Node 24 (found ${process.version} at ${process.execPath}); run it as \`npm run build:binary\`, which uses the node@24 devDependency`)

const started = performance.now()
const step = (what, since) => process.stderr.write(`build-binary: ${what} (${((performance.now() - since) / 1000).toFixed(1)} s)\n`)
rmSync(outDir, { recursive: true, force: true })
mkdirSync(work, { recursive: true })

let t = performance.now()
const result = await build({
  entryPoints: [join(root, 'src/cli.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${major}`,
  define: { 'import.meta.url': '__freshgate_import_meta_url', 'import.meta.main': 'false' },
  banner: { js: PRELUDE },
  plugins: [patchSrc],
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true
})
const inputs = Object.keys(result.metafile.inputs)
const packages = new Set(inputs.flatMap(i => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)?.[1] ?? []))
step(`bundled ${inputs.length} files from ${packages.size} packages into ${bundle} (${(statSync(bundle).size / 1024).toFixed(0)} KiB)`, t)

t = performance.now()
writeFileSync(seaConfig, JSON.stringify({
  main: bundle,
  output: blob,
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  useSnapshot: false
}, null, 2) + '\n')
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] })
step(`wrote the SEA blob ${blob}`, t)

t = performance.now()
copyFileSync(process.execPath, binary)
chmodSync(binary, 0o755)
// LIEF (inside postject) warns about every note section of the Node binary it cannot name; the
// warning is harmless (nodejs/postject#83) and would bury real messages.
const warn = console.warn
console.warn = (...args) => { if (!/Can't find string offset for section name '\.note/.test(String(args[0]))) warn(...args) }
try {
  await postject.inject(binary, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE })
} finally {
  console.warn = warn
}
step(`injected the blob into a copy of ${process.execPath} (Node ${process.version})`, t)

const printed = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()
if (printed !== version) fail(`${binary} --version printed ${JSON.stringify(printed)}, expected ${version}`)
const mib = (statSync(binary).size / 1024 ** 2).toFixed(1)
step(`${binary}: freshgate ${version}, ${mib} MiB, total`, started)
