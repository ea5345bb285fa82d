// The status page's figures (admin/live.ts) against an injected clock: per-second slots that
// forget old rounds, top keys over two windows within a fixed bound, and the bounded list of
// responses not stored.

import t from 'tap'
import { LiveStats, HISTORY_SECONDS, MAX_TRACKED_KEYS, RECENT_NOT_STORED, TOP_KEYS, TOP_WINDOW_MS, mergeSnapshots } from '../../src/admin/live.ts'
import type { ServedFacts } from '../../src/proxy/context.ts'

const facts = (key: string, cache = 'freshgate; hit; ttl=60', seconds = 0.001): ServedFacts =>
  ({ seconds, bytes: 1, cache, key, method: 'GET', route: undefined })

const clockAt = (start: number): { now: () => number, advance: (ms: number) => void } => {
  let t = start
  return { now: () => t, advance: ms => { t += ms } }
}

const total = (a: number[]): number => a.reduce((x, y) => x + y, 0)

t.test('when requests arrive in different seconds → each second counts its own', async t => {
  const c = clockAt(1_000_000_000_000)
  const live = new LiveStats(c.now)
  live.served('hit', 200, facts('k'))
  live.served('miss', 200, facts('k', 'freshgate; fwd=uri-miss; stored'))
  live.upstream(200)
  c.advance(1000)
  live.served('pass', 200, facts('k', 'freshgate; fwd=bypass'))
  live.upstreamError('FG_UPSTREAM_REFUSED')
  const s = live.snapshot()
  t.equal(s.series.requests.length, HISTORY_SECONDS)
  t.same(s.series.requests.slice(-2), [2, 1])
  t.same(s.series.fromCache.slice(-2), [1, 0])
  t.same(s.series.lookups.slice(-2), [2, 0], 'a pass is no lookup')
  t.same(s.series.origin.slice(-2), [1, 1])
  t.same(s.series.originErrors.slice(-2), [0, 1])
  t.equal(s.until, c.now())
})

t.test('when a slot is reused a round later → the old round is forgotten', async t => {
  const c = clockAt(1_000_000_000_000)
  const live = new LiveStats(c.now)
  for (let i = 0; i < 5; i++) live.served('hit', 200, facts('k'))
  c.advance(HISTORY_SECONDS * 1000)
  live.served('hit', 200, facts('k'))
  t.equal(total(live.snapshot().series.requests), 1, 'only the new second counts')
  c.advance(HISTORY_SECONDS * 1000 + 5000)
  t.equal(total(live.snapshot().series.requests), 0, 'slots not written this round read as zero')
})

t.test('when keys are hit → the top keys are the most hit, over the current and previous window', async t => {
  const c = clockAt(TOP_WINDOW_MS * 1000)
  const live = new LiveStats(c.now)
  for (let i = 0; i < 3; i++) live.served('hit', 200, facts('a'))
  live.served('hit', 200, facts('b'))
  live.served('miss', 200, facts('c', 'freshgate; fwd=uri-miss; stored'))
  t.same(live.snapshot().topKeys, [{ key: 'a', hits: 3 }, { key: 'b', hits: 1 }], 'misses are not hits')
  c.advance(TOP_WINDOW_MS)
  live.served('stale', 200, facts('b'))
  live.served('collapsed', 200, facts('b'))
  live.served('collapsed', 200, facts('b'))
  t.same(live.snapshot().topKeys, [{ key: 'b', hits: 4 }, { key: 'a', hits: 3 }], 'the previous window still counts')
  c.advance(2 * TOP_WINDOW_MS)
  t.same(live.snapshot().topKeys, [], 'two windows on, nothing is left')
})

t.test('when more keys are hit than tracked → counts are halved and the rare keys dropped', async t => {
  const c = clockAt(TOP_WINDOW_MS * 1000)
  const live = new LiveStats(c.now)
  for (let i = 0; i < 10; i++) live.served('hit', 200, facts('hot'))
  for (let i = 0; i < MAX_TRACKED_KEYS * 3; i++) live.served('hit', 200, facts(`cold-${i}`))
  const top = live.snapshot().topKeys
  t.ok(top.length <= TOP_KEYS, `at most ${TOP_KEYS} shown`)
  t.equal(top[0]!.key, 'hot', 'the hot key survives the churn')
  t.ok(top[0]!.hits >= 1 && top[0]!.hits <= 10, 'with a halved count')
})

t.test('when responses are not stored → the latest are kept, newest first, within a bound', async t => {
  const c = clockAt(1_000_000_000_000)
  const live = new LiveStats(c.now)
  live.served('miss', 200, facts('stored', 'freshgate; fwd=uri-miss; stored'))
  live.served('hit', 200, facts('hit'))
  live.served('error', 405, facts('', ''))
  for (let i = 0; i < RECENT_NOT_STORED + 5; i++) live.served('miss', 200, facts(`p${i}`, 'freshgate; fwd=uri-miss; detail=private'))
  const n = live.snapshot().notStored
  t.equal(n.length, RECENT_NOT_STORED)
  t.equal(n[0]!.key, `p${RECENT_NOT_STORED + 4}`, 'newest first')
  t.equal(n[0]!.cacheStatus, 'freshgate; fwd=uri-miss; detail=private')
  t.notOk(n.some(x => x.key === 'stored' || x.key === 'hit' || x.key === ''), 'stored responses, hits and answers without Cache-Status are not listed')
})

t.test('when latencies are recorded → percentiles per class, in milliseconds', async t => {
  const live = new LiveStats(() => 1_000_000_000_000)
  t.same(live.snapshot().latencyMs.hits, { count: 0, p50: null, p90: null, p99: null })
  for (let i = 1; i <= 100; i++) live.served('hit', 200, facts('k', 'freshgate; hit', i / 1000))
  live.served('miss', 200, facts('k', 'freshgate; fwd=uri-miss; stored', 0.5))
  const l = live.snapshot().latencyMs
  t.same(l.hits, { count: 100, p50: 51, p90: 91, p99: 100 })
  t.same(l.misses, { count: 1, p50: 500, p90: 500, p99: 500 })
})

t.test('mergeSnapshots: the live figures of several workers as one', async t => {
  const a = new LiveStats(() => 10_000)
  const b = new LiveStats(() => 10_000)
  a.served('hit', 200, { seconds: 0.001, bytes: 1, key: 'http://x/a', method: 'GET', cache: 'freshgate; hit', route: undefined })
  b.served('hit', 200, { seconds: 0.005, bytes: 1, key: 'http://x/a', method: 'GET', cache: 'freshgate; hit', route: undefined })
  b.served('miss', 200, { seconds: 0.009, bytes: 1, key: 'http://x/b', method: 'GET', cache: 'freshgate; fwd=uri-miss; detail=no-store', route: undefined })
  const m = mergeSnapshots([a.snapshot(), b.snapshot()])!
  t.equal(m.series.requests.reduce((x, y) => x + y, 0), 3, 'when two workers served 1 and 2 requests → should count 3')
  t.same(m.topKeys[0], { key: 'http://x/a', hits: 2 }, 'when both hit one key → should sum its hits')
  t.equal(m.latencyMs.hits.count, 2, 'when both have hit samples → should count them all')
  t.equal(m.latencyMs.hits.p99, 5, 'when percentiles differ → should report the highest')
  t.equal(mergeSnapshots([]), undefined, 'when there is no worker → should be undefined')
})
