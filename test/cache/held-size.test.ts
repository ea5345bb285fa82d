// The memory tier counts a small body twice: once served it is also held as a latin1 string
// (cache/entry.ts TEXT_BODY_MAX), and cache.maxSize bounds what the process holds.

import t from 'tap'
import { heldSize, variantSize } from '../../src/store/memory-store.ts'
import { TEXT_BODY_MAX, type StoredRecord } from '../../src/cache/entry.ts'

const record = (bodySize: number): StoredRecord => ({ bodySize, headers: { 'content-type': 'text/plain' } }) as unknown as StoredRecord

const rows: Array<[string, number, number]> = [
  ['an empty body adds nothing', 0, 0],
  ['a 1 KiB body is counted twice', 1024, 1024],
  ['a body of TEXT_BODY_MAX bytes is counted twice', TEXT_BODY_MAX, TEXT_BODY_MAX],
  ['a larger body is counted once', TEXT_BODY_MAX + 1, 0]
]
for (const [name, size, extra] of rows) t.equal(heldSize(record(size)) - variantSize(record(size)), extra, name)
