// The chart of a run, as a hand-written SVG (no dependencies): req/s and CPU µs per request per
// scenario (small multiples, each on its own scale), herd latency against the origin delay, and
// freshgate's RSS over the memory scenario against max-size and the budget.
// Re-render a stored run: node bench/chart.ts bench/results/<stamp>.json [OUT.svg]

import { readFileSync, writeFileSync } from 'node:fs'
import { LOAD_SCENARIOS, type LoadScenario, type Result, type Summary } from './report.ts'
import type { TargetName } from './targets.ts'

const COLOR: Record<TargetName, string> = {
  freshgate: '#d9480f',
  nodelimit: '#1971c2',
  nodepass: '#2f9e44',
  nginx: '#7048e8',
  varnish: '#0c8599',
  squid: '#868e96'
}

const W = 1100
const PANEL_H = 150
const FONT = 'font-family="system-ui, sans-serif"'

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function text (x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`
}

/** Short number: 12345 → 12.3k. */
function short (x: number): string {
  if (!Number.isFinite(x)) return '-'
  if (x >= 10_000) return `${(x / 1000).toFixed(0)}k`
  if (x >= 1000) return `${(x / 1000).toFixed(1)}k`
  if (x >= 100) return x.toFixed(0)
  return x.toFixed(1)
}

/** One small-multiple bar panel: a bar per target, scaled to the panel's own maximum. */
function barPanel (x: number, y: number, w: number, title: string, rows: readonly Summary[], value: (s: Summary) => number): string {
  const out: string[] = []
  const top = y + 18
  const base = y + PANEL_H - 22
  const max = Math.max(...rows.map(value).filter(Number.isFinite), 1e-9)
  out.push(text(x + w / 2, y + 10, title, 'text-anchor="middle" font-size="12" font-weight="600"'))
  out.push(`<line x1="${x}" y1="${base}" x2="${x + w}" y2="${base}" stroke="#999"/>`)
  const slot = w / Math.max(rows.length, 1)
  const bw = Math.min(44, slot * 0.7)
  rows.forEach((s, i) => {
    const v = value(s)
    const h = Number.isFinite(v) ? (v / max) * (base - top - 14) : 0
    const bx = x + slot * i + (slot - bw) / 2
    out.push(`<rect x="${bx.toFixed(1)}" y="${(base - h).toFixed(1)}" width="${bw.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOR[s.target]}"><title>${esc(`${s.target}: ${v}`)}</title></rect>`)
    out.push(text(bx + bw / 2, base - h - 3, short(v), 'text-anchor="middle" font-size="10"'))
    out.push(text(bx + bw / 2, base + 12, s.target, 'text-anchor="middle" font-size="9" fill="#555"'))
  })
  return out.join('\n')
}

/** Renders the whole chart. */
export function renderChart (r: Result): string {
  const parts: string[] = []
  let y = 0
  const m = r.meta
  parts.push(text(16, 24, `freshgate bench ${String(m.stamp)}`, 'font-size="16" font-weight="700"'))
  parts.push(text(16, 42, `${String(m.loadgen)} -c${String(m.connections)} ${String(m.duration)}s x${String(m.reps)} · server CPU ${String(m.serverCpu ?? '-')}, client CPU ${String(m.clientCpu ?? '-')} · node ${String(m.node)} · ${String(m.cpuModel)}`, 'font-size="11" fill="#555"'))
  let lx = 16
  for (const t of Object.keys(COLOR) as TargetName[]) {
    if (!r.summary.some(s => s.target === t)) continue
    parts.push(`<rect x="${lx}" y="52" width="12" height="12" fill="${COLOR[t]}"/>`)
    parts.push(text(lx + 16, 62, t, 'font-size="11"'))
    lx += 100
  }
  y = 74

  const scenarios = (Object.keys(LOAD_SCENARIOS) as LoadScenario[]).filter(s => r.summary.some(x => x.scenario === s))
  if (scenarios.length > 0) {
    const pw = (W - 32) / scenarios.length
    const rows: Array<[string, (s: Summary) => number]> = [
      ['req/s', s => s.rps],
      ['server CPU µs per request (lower is better)', s => s.serverUsPerReq]
    ]
    for (const [label, value] of rows) {
      parts.push(text(16, y + 14, label, 'font-size="13" font-weight="600"'))
      y += 20
      scenarios.forEach((sc, i) => {
        const title = `${sc}: ${LOAD_SCENARIOS[sc].label}`
        parts.push(barPanel(16 + pw * i + 6, y, pw - 12, title, r.summary.filter(s => s.scenario === sc), value))
      })
      y += PANEL_H
    }
  }

  const bottomH = Math.max(190, 50 + r.herd.length * 44)
  const half = (W - 48) / 2
  let drew = false
  if (r.herd.length > 0) {
    drew = true
    const x0 = 16
    const h0 = r.herd[0]!
    parts.push(text(x0, y + 14, `herd: ${h0.n} concurrent misses on one URL (origin delay ${h0.delayMs} ms)`, 'font-size="13" font-weight="600"'))
    const maxMs = Math.max(h0.delayMs * 1.5, ...r.herd.map(h => h.maxMs))
    const left = x0 + 190
    const scale = (half - 200) / maxMs
    const delayX = left + h0.delayMs * scale
    r.herd.forEach((h, i) => {
      const by = y + 30 + i * 44
      parts.push(text(x0, by + 12, `rep ${h.rep}: origin ${h.originReqs}/${h.n}`, 'font-size="11"'))
      parts.push(text(x0, by + 26, h.cachedAfter ? 'cached after' : 'NOT cached after', `font-size="10" fill="${h.cachedAfter ? '#555' : '#c00'}"`))
      const bars: Array<[string, number, number]> = [['p50', h.p50Ms, 0], ['p99', h.p99Ms, 12], ['max', h.maxMs, 24]]
      for (const [name, v, dy] of bars) {
        parts.push(`<rect x="${left}" y="${by + dy}" width="${(v * scale).toFixed(1)}" height="10" fill="${COLOR.freshgate}" opacity="${name === 'p50' ? 1 : name === 'p99' ? 0.7 : 0.4}"/>`)
        parts.push(text(left + v * scale + 4, by + dy + 9, `${name} ${v.toFixed(0)} ms`, 'font-size="9"'))
      }
    })
    const hBottom = y + 30 + r.herd.length * 44
    parts.push(`<line x1="${delayX.toFixed(1)}" y1="${y + 24}" x2="${delayX.toFixed(1)}" y2="${hBottom}" stroke="#333" stroke-dasharray="4 3"/>`)
    parts.push(text(delayX, hBottom + 12, `origin delay ${h0.delayMs} ms`, 'text-anchor="middle" font-size="9" fill="#333"'))
  }
  const mem = r.memory
  if (mem !== undefined) {
    drew = true
    const x0 = 32 + half
    parts.push(text(x0, y + 14, `memory: --max-size ${mem.maxSizeMiB}MiB, working set ${mem.workingSetMiB.toFixed(0)} MiB cycled ${mem.passes}x`, 'font-size="13" font-weight="600"'))
    const top = y + 26
    const bottom = y + bottomH - 24
    const left = x0 + 40
    const right = x0 + half - 10
    const tMax = Math.max(mem.seconds, ...mem.samples.map(s => s[0]), 1)
    const vMax = Math.max(mem.budgetMiB, mem.peakRssMiB) * 1.1
    const sx = (t: number): number => left + (t / tMax) * (right - left)
    const sy = (v: number): number => bottom - (v / vMax) * (bottom - top)
    parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#999"/><line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#999"/>`)
    for (const v of [0, Math.round(vMax / 2), Math.round(vMax)]) parts.push(text(left - 4, sy(v) + 3, `${v}`, 'text-anchor="end" font-size="9" fill="#555"'))
    parts.push(text(left, bottom + 14, '0 s', 'font-size="9" fill="#555"'))
    parts.push(text(right, bottom + 14, `${tMax.toFixed(1)} s`, 'text-anchor="end" font-size="9" fill="#555"'))
    parts.push(text(left - 4, top - 6, 'MiB', 'text-anchor="end" font-size="9" fill="#555"'))
    const lines: Array<[number, string, string]> = [[mem.maxSizeMiB, 'max-size', '#2f9e44'], [mem.budgetMiB, 'budget (max-size + 80 MiB)', '#c00']]
    for (const [v, name, color] of lines) {
      parts.push(`<line x1="${left}" y1="${sy(v).toFixed(1)}" x2="${right}" y2="${sy(v).toFixed(1)}" stroke="${color}" stroke-dasharray="5 3"/>`)
      parts.push(text(right - 4, sy(v) - 3, `${name} ${v} MiB`, `text-anchor="end" font-size="9" fill="${color}"`))
    }
    if (mem.samples.length > 1) {
      const d = mem.samples.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join(' ')
      parts.push(`<path d="${d}" fill="none" stroke="${COLOR.freshgate}" stroke-width="2"/>`)
    }
    parts.push(text((left + right) / 2, bottom + 14, `freshgate RSS (VmRSS every 250 ms); peak VmHWM ${mem.peakRssMiB.toFixed(1)} MiB: ${mem.withinBudget ? 'within budget' : 'OVER budget'}`, `text-anchor="middle" font-size="10" fill="${mem.withinBudget ? '#333' : '#c00'}"`))
  }
  if (drew) y += bottomH
  if (r.failures.length > 0) {
    parts.push(text(16, y + 14, `failed: ${r.failures.join('; ')}`, 'font-size="11" fill="#c00"'))
    y += 20
  }
  const h = y + 12
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" ${FONT}>\n` +
    `<rect width="${W}" height="${h}" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`
}

if (process.argv[1] === import.meta.filename) {
  const [input, output] = process.argv.slice(2)
  if (input === undefined) {
    process.stderr.write('usage: node bench/chart.ts RESULTS.json [OUT.svg]\n')
    process.exit(2)
  }
  const out = output ?? input.replace(/\.json$/, '.svg')
  writeFileSync(out, renderChart(JSON.parse(readFileSync(input, 'utf8')) as Result))
  process.stdout.write(`wrote ${out}\n`)
}
