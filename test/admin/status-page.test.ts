// The status page in a real browser (headless Chromium, Debian package `chromium`): it asks for the
// token, shows the numbers, they change under load, the purge box purges, and nothing breaks the
// page's Content-Security-Policy. A screenshot is saved and its path printed.

import t from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { get } from '../proxy/harness.ts'
import { setupAdmin } from './fixture.ts'

const CHROMIUM = '/usr/bin/chromium'
const TOKEN = 'page-token'
/** Longest wait for the page to show a change (it polls every 2 s). */
const SHOWN_WITHIN = 10_000

/** Resolves the text of `selector` once `test` accepts it, polling; rejects after SHOWN_WITHIN. */
async function shown (page: Page, selector: string, test: (text: string) => boolean, what: string): Promise<string> {
  const until = Date.now() + SHOWN_WITHIN
  for (;;) {
    const text = await page.textContent(selector) ?? ''
    if (test(text)) return text
    if (Date.now() > until) throw new Error(`${what}: ${selector} still shows ${JSON.stringify(text)}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

t.test('the status page shows live numbers that change under load, and purges', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)` }, async t => {
  const { origin, admin, url } = await setupAdmin(t, (req, res) => {
    if (req.url?.startsWith('/private')) {
      res.writeHead(200, { 'cache-control': 'private' })
      return res.end('mine')
    }
    res.writeHead(200, { 'cache-control': 'max-age=600', etag: '"v1"' })
    res.end('shared body')
  }, { 'admin.token': TOKEN })

  const profile = mkdtempSync(join(tmpdir(), 'freshgate-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 1000 }
  })
  t.teardown(async () => {
    await browser.close()
    rmSync(profile, { recursive: true, force: true })
  })
  const page = browser.pages()[0] ?? await browser.newPage()
  const problems: string[] = []
  // The 401s before the token is entered are the page asking for it; anything else is a problem.
  page.on('console', m => { if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push(m.text()) })
  page.on('pageerror', e => problems.push(e.message))

  await page.goto(`${admin.url}/`)
  await page.locator('#token').waitFor({ state: 'visible', timeout: SHOWN_WITHIN })
  t.pass('without a token the page asks for one')
  await page.fill('#token', TOKEN)
  await page.click('#auth button:not([type])')
  await shown(page, '#store-entries', s => /^\d+$/.test(s), 'the first figures')
  t.equal(await page.textContent('#store-entries'), '0', 'the store is empty')
  t.equal(await page.textContent('#rps'), '0.0', 'no traffic yet')
  t.equal(await page.textContent('#hit-ratio'), '–', 'no hit ratio without lookups')
  t.equal(await page.evaluate('sessionStorage.getItem("freshgate-admin-token")'), TOKEN, 'the token is kept for this tab')
  t.notOk(page.url().includes(TOKEN), 'and never put in the URL')

  // Load, bounded in count: ten URLs over and over (hits) and a few private ones (not stored).
  for (let i = 0; i < 200; i++) await get(`${url}/item/${i % 10}`)
  for (let i = 0; i < 3; i++) await get(`${url}/private/${i}`)
  t.equal(origin.count(), 13, 'ten misses and three private responses reached the origin')

  await shown(page, '#rps', s => s !== '0.0', 'the load')
  // The page may have polled in the middle of the load: wait for the whole of it (all in the last 10 s).
  await shown(page, '#lat-hits-n', s => s === '190', 'every hit')
  await shown(page, '#hit-ratio', s => /^9\d\.\d %$/.test(s), 'the final hit ratio')
  t.ok(Number(await page.textContent('#rps')) > 0, `requests per second shown: ${await page.textContent('#rps')}`)
  t.ok(Number(await page.textContent('#origin-rps')) > 0, 'origin requests per second shown')
  t.match(await page.textContent('#hit-ratio'), /^9\d\.\d %$/, '190 hits of 203 lookups')
  t.equal(await page.textContent('#store-entries'), '10')
  t.match(await page.textContent('#bytes'), /^\d+(\.\d)? (B|KiB) of 256\.0 MiB$/)
  t.match(await page.textContent('#lat-hits-n'), /^\d+$/)
  t.not(await page.textContent('#lat-hits-p50'), '–', 'hit latency shown')
  t.not(await page.textContent('#lat-misses-p99'), '–', 'miss latency shown')
  t.match(await page.textContent('#origin'), / reachable$/)
  t.match(await page.textContent('#answered'), /^hit 190 · stale 0 · revalidated 0 · miss 13 · /)
  t.equal(await page.locator('#top-keys tr').count(), 10, 'the ten keys hit')
  t.match(await page.textContent('#top-keys tr:first-child'), /\/item\/\d19/, 'each hit 19 times')
  t.equal(await page.locator('#not-stored tr').count(), 3, 'the three private responses')
  t.match(await page.textContent('#not-stored tr:first-child'), /\/private\/2.*detail=/, 'newest first, with the Cache-Status detail')

  const shot = join(tmpdir(), `freshgate-status-page-${process.pid}.png`)
  await page.screenshot({ path: shot, fullPage: true })
  t.comment(`status page screenshot: ${shot}`)

  // The purge box, with a bare path.
  await page.fill('#purge-value', '/item/3')
  await page.click('#purge-form button')
  await shown(page, '#purge-result', s => s !== '', 'the purge result')
  t.equal(await page.textContent('#purge-result'), 'purged 1')
  t.equal((await get(`${url}/item/3`)).cs, 'freshgate; fwd=uri-miss; stored', 'the purged URL is fetched again')
  t.equal(origin.count('/item/3'), 2)
  t.equal(await shown(page, '#ev-purge', s => s === '1', 'the purge eviction'), '1', 'the purge is counted as an eviction')

  t.same(problems, [], 'no script errors and no Content-Security-Policy violations')
})
