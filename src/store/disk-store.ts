// The disk tier: the store contract (contract.ts) over files in one directory, kept across
// restarts, bounded in bytes with LRU eviction. The in-memory index holds only what eviction,
// replacement and tags need; records and bodies are read from disk on demand.
//
// Crash safety: each variant is two files, `<stem>.body` (raw bytes) and `<stem>.rec` (a
// checksummed record that names the body's length and CRC-32), each written to a temporary name
// and renamed into place, body first. The rename of the .rec is the commit point. A file cut
// short or corrupted by a crash, a full disk or a bad block fails its length or CRC check and is
// removed, at start (record, body length) or at read (body CRC), so it is never served.
// No fsync: after a power loss some recent entries may be lost, which a cache may do; the
// checksums, not the write order on disk, are what keep a torn file from being served.
// Why not node:sqlite with WAL: its API is synchronous, so every 8 MiB body read would block the
// event loop, and one corrupt database file loses every entry; per-entry files fail one by one
// and go through libuv's thread pool.

import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, unlinkSync, writeSync } from 'node:fs'
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import type { Store, StoredRecord, Variant, BodyWriter, PutOptions, StoreStats, RemovalReason } from '../cache/contract.ts'
import { bufferedWriter } from './writer.ts'
import { sameSecondary } from './secondary.ts'

/** Settings of the disk tier. */
export interface DiskStoreOptions {
  /** the directory (store.disk.dir); created if missing; one process at a time */
  dir: string
  /** total bytes of files kept (store.disk.maxSize) */
  maxBytes: number
  /** largest single variant in bytes (body plus record) */
  maxEntryBytes: number
  /** most variants kept per primary key */
  maxVariants: number
  /** the policy clock, ms since the epoch: records' keepUntil is measured against it */
  clock: () => number
}

/** What the index keeps of one variant. */
interface Meta {
  id: string
  key: string
  /** file name stem: the files are <dir>/<stem[0..2]>/<stem>.rec and .body */
  stem: string
  varyKey: string
  varyFields: readonly string[]
  tags: readonly string[]
  keepUntil: number
  /** commit order, newest highest; survives restarts */
  seq: number
  bodySize: number
  bodyCrc: number
  /** bytes of both files */
  bytes: number
}

/** The .rec file's JSON. */
interface RecFile { record: StoredRecord, seq: number, bodyCrc: number }

const MAGIC = Buffer.from('FGD1')
/** magic, JSON length (u32 BE), CRC-32 of the JSON (u32 BE) */
const HEADER = 12

/** Encodes a .rec file: header then JSON. */
function encodeRec (rec: RecFile): Buffer {
  const json = Buffer.from(JSON.stringify(rec))
  const head = Buffer.alloc(HEADER)
  MAGIC.copy(head, 0)
  head.writeUInt32BE(json.length, 4)
  head.writeUInt32BE(crc32(json), 8)
  return Buffer.concat([head, json])
}

/** Decodes a .rec file; undefined when it is torn, corrupted or not one. */
function decodeRec (buf: Buffer): RecFile | undefined {
  if (buf.length < HEADER || !buf.subarray(0, 4).equals(MAGIC)) return undefined
  const len = buf.readUInt32BE(4)
  if (buf.length !== HEADER + len) return undefined
  const json = buf.subarray(HEADER)
  if (crc32(json) !== buf.readUInt32BE(8)) return undefined
  try {
    const rec = JSON.parse(json.toString()) as RecFile
    if (typeof rec.seq !== 'number' || typeof rec.bodyCrc !== 'number' || typeof rec.record?.id !== 'string' || typeof rec.record.key !== 'string') return undefined
    return rec
  } catch {
    return undefined
  }
}

/** The file stem of a variant: its key and id hashed, so any key and id make a safe file name. */
function stemOf (key: string, id: string): string {
  return createHash('sha256').update(key).update('\0').update(id).digest('hex').slice(0, 40)
}

/** Variants as checksummed files in one directory, with an LRU byte bound. Open with `DiskStore.open`. */
export class DiskStore implements Store {
  readonly #opts: DiskStoreOptions
  /** primary key → variants newest first; Map order is LRU order (least recent first) */
  readonly #index = new Map<string, Meta[]>()
  readonly #tags = new Map<string, Set<string>>()
  #bytes = 0
  #entries = 0
  #evictions = 0
  #seq = 0
  #closed = false
  /** commits under way: close() waits for them, so a restart keeps what was being written */
  readonly #commits = new Set<Promise<void>>()
  /** files removed at start because they were torn, corrupted, orphaned or expired */
  discarded = 0

  onRemove: ((record: StoredRecord, reason: RemovalReason) => void) | undefined

  private constructor (opts: DiskStoreOptions) {
    this.#opts = opts
  }

  /** Opens (creating) the directory, takes its lock and rebuilds the index by scanning it. */
  static async open (opts: DiskStoreOptions): Promise<DiskStore> {
    if (!(opts.maxBytes > 0)) throw new TypeError(`DiskStore maxBytes must be a positive number, got ${opts.maxBytes}`)
    if (!(opts.maxEntryBytes > 0)) throw new TypeError(`DiskStore maxEntryBytes must be a positive number, got ${opts.maxEntryBytes}`)
    if (!(opts.maxVariants >= 1)) throw new TypeError(`DiskStore maxVariants must be at least 1, got ${opts.maxVariants}`)
    mkdirSync(opts.dir, { recursive: true })
    lock(opts.dir)
    const store = new DiskStore(opts)
    await store.#scan()
    return store
  }

  #path (stem: string, ext: 'rec' | 'body'): string {
    return join(this.#opts.dir, stem.slice(0, 2), `${stem}.${ext}`)
  }

  /** Rebuilds the index: keeps every intact, unexpired variant, newest wins per secondary key. */
  async #scan (): Promise<void> {
    const now = this.#opts.clock()
    const found: Meta[] = []
    const bodies = new Set<string>()
    const subdirs = (await readdir(this.#opts.dir, { withFileTypes: true })).filter(d => d.isDirectory() && /^[0-9a-f]{2}$/.test(d.name))
    for (const sub of subdirs) {
      const dir = join(this.#opts.dir, sub.name)
      const names = await readdir(dir)
      for (const name of names) if (name.endsWith('.body')) bodies.add(name.slice(0, -5))
      // Records are read 32 at a time: the thread pool works in parallel, memory stays bounded.
      const recs = names.filter(n => n.endsWith('.rec') || n.includes('.tmp-'))
      for (let i = 0; i < recs.length; i += 32) {
        const metas = await Promise.all(recs.slice(i, i + 32).map(async name => await this.#inspect(dir, name, now)))
        for (const m of metas) if (m !== undefined) found.push(m)
      }
    }
    const live = new Set(found.map(m => m.stem))
    for (const stem of bodies) if (!live.has(stem)) await this.#discard(this.#path(stem, 'body'))
    // Oldest first, so each key's newest variant goes to the front and LRU order follows age.
    found.sort((a, b) => a.seq - b.seq)
    for (const m of found) {
      this.#seq = Math.max(this.#seq, m.seq)
      const old = this.#index.get(m.key) ?? []
      const dropped = old.filter(o => sameSecondary(o, m))
      const kept = [m, ...old.filter(o => !dropped.includes(o))]
      dropped.push(...kept.splice(this.#opts.maxVariants))
      this.#set(m.key, kept, old)
      for (const d of dropped) { this.discarded++; await this.#unlinkFiles(d) }
    }
    await this.#evict(undefined)
  }

  /** The index entry of a .rec file found at start, or undefined (and the file removed) when it is torn, orphaned, expired or temporary. */
  async #inspect (dir: string, name: string, now: number): Promise<Meta | undefined> {
    const path = join(dir, name)
    if (name.includes('.tmp-')) return await this.#discard(path)
    const stem = name.slice(0, -4)
    const buf = await readFile(path).catch(() => Buffer.alloc(0))
    const rec = decodeRec(buf)
    const size = await stat(this.#path(stem, 'body')).then(s => s.size, () => -1)
    if (rec === undefined || stemOf(rec.record.key, rec.record.id) !== stem || size !== rec.record.bodySize || rec.record.keepUntil - now <= 0) {
      return await this.#discard(path)
    }
    return this.#metaOf(rec, stem, buf.length)
  }

  async #discard (path: string): Promise<undefined> {
    this.discarded++
    await unlink(path).catch(() => undefined)
    return undefined
  }

  #metaOf (rec: RecFile, stem: string, recBytes: number): Meta {
    const r = rec.record
    return {
      id: r.id, key: r.key, stem, varyKey: r.varyKey, varyFields: r.varyFields, tags: r.tags, keepUntil: r.keepUntil, seq: rec.seq,
      bodySize: r.bodySize, bodyCrc: rec.bodyCrc, bytes: r.bodySize + recBytes
    }
  }

  /** Sets a key's variants (or drops the key when none), keeping the counts and the tag index. */
  #set (key: string, next: Meta[], previous: Meta[]): void {
    for (const p of previous) {
      if (next.includes(p)) continue
      this.#bytes -= p.bytes
      this.#entries--
    }
    for (const n of next) {
      if (previous.includes(n)) continue
      this.#bytes += n.bytes
      this.#entries++
    }
    for (const p of previous) for (const tag of p.tags) {
      if (next.some(n => n.tags.includes(tag))) continue
      const keys = this.#tags.get(tag)
      keys?.delete(key)
      if (keys?.size === 0) this.#tags.delete(tag)
    }
    for (const n of next) for (const tag of n.tags) {
      let keys = this.#tags.get(tag)
      if (keys === undefined) this.#tags.set(tag, keys = new Set())
      keys.add(key)
    }
    this.#index.delete(key)
    if (next.length > 0) this.#index.set(key, next)
  }

  async #unlinkFiles (m: Meta): Promise<void> {
    // The record first: without it the body is an orphan, removed at the next start if not now.
    await unlink(this.#path(m.stem, 'rec')).catch(() => undefined)
    await unlink(this.#path(m.stem, 'body')).catch(() => undefined)
  }

  /** Removes variants from the index and disk, reporting them. */
  async #drop (key: string, gone: Meta[], reason: RemovalReason): Promise<void> {
    if (gone.length === 0) return
    const current = this.#index.get(key) ?? []
    this.#set(key, current.filter(m => !gone.includes(m)), current)
    if (reason === 'size') this.#evictions += gone.length
    for (const m of gone) {
      await this.#unlinkFiles(m)
      this.onRemove?.(this.#stub(m), reason)
    }
  }

  /** A record standing in for a removed variant in onRemove, from what the index kept. */
  #stub (m: Meta): StoredRecord {
    return {
      id: m.id, key: m.key, status: 0, statusMessage: '', headers: {}, varyFields: m.varyFields, varyKey: m.varyKey, target: undefined,
      cc: {} as StoredRecord['cc'], lifetime: 0, initialAge: 0, responseTime: 0, keepUntil: m.keepUntil, etag: undefined,
      lastModified: undefined, date: undefined, tags: m.tags, bodySize: m.bodySize
    }
  }

  /** Evicts least recently used keys until the bytes fit the bound (sparing `keep`). */
  async #evict (keep: string | undefined): Promise<void> {
    for (const [key, variants] of this.#index) {
      if (this.#bytes <= this.#opts.maxBytes) return
      if (key === keep) continue
      await this.#drop(key, variants, 'size')
    }
  }

  /** Marks a key most recently used. */
  #touch (key: string, variants: Meta[]): void {
    this.#index.delete(key)
    this.#index.set(key, variants)
  }

  async get (key: string): Promise<Variant[]> {
    const metas = this.#index.get(key)
    if (metas === undefined) return []
    const now = this.#opts.clock()
    if (metas.every(m => m.keepUntil - now <= 0)) {
      await this.#drop(key, metas, 'ttl')
      return []
    }
    this.#touch(key, metas)
    const out: Variant[] = []
    const torn: Meta[] = []
    for (const m of metas) {
      const rec = decodeRec(await readFile(this.#path(m.stem, 'rec')).catch(() => Buffer.alloc(0)))
      if (rec === undefined || rec.record.id !== m.id) torn.push(m)
      else out.push({ record: rec.record, body: undefined })
    }
    await this.#drop(key, torn, 'delete')
    return out
  }

  async body (key: string, id: string): Promise<Buffer | undefined> {
    const m = this.#index.get(key)?.find(v => v.id === id)
    if (m === undefined) return undefined
    const body = await readFile(this.#path(m.stem, 'body')).catch(() => undefined)
    if (body !== undefined && body.length === m.bodySize && crc32(body) === m.bodyCrc) return body
    // Torn or corrupted: never served, and dropped so the next request refills it.
    await this.#drop(key, [m], 'delete')
    return undefined
  }

  put (record: StoredRecord, opts: PutOptions): BodyWriter | undefined {
    return bufferedWriter(record, Math.min(this.#opts.maxEntryBytes, this.#opts.maxBytes), async (r, body) => {
      const commit = this.#commit(r, body, opts)
      this.#commits.add(commit)
      try {
        await commit
      } finally {
        this.#commits.delete(commit)
      }
    })
  }

  /** Writes a variant's files (body, then record: the commit point), then updates the index. */
  async #commit (record: StoredRecord, body: Buffer, opts: PutOptions): Promise<void> {
    if (this.#closed) throw new Error('variant not stored: the store is closed')
    if (record.keepUntil - this.#opts.clock() <= 0) return
    const stem = stemOf(record.key, record.id)
    const rec: RecFile = { record, seq: ++this.#seq, bodyCrc: crc32(body) }
    await mkdir(join(this.#opts.dir, stem.slice(0, 2)), { recursive: true })
    await this.#writeAtomic(this.#path(stem, 'body'), body)
    const encoded = encodeRec(rec)
    await this.#writeAtomic(this.#path(stem, 'rec'), encoded)
    const m = this.#metaOf(rec, stem, encoded.length)
    const old = this.#index.get(record.key) ?? []
    const gone = old.filter(o => o.id === record.id || opts.replaces.includes(o.id) || sameSecondary(o, m))
    const kept = [m, ...old.filter(o => !gone.includes(o))]
    gone.push(...kept.splice(Math.max(1, opts.maxVariants)))
    this.#set(record.key, kept, old)
    for (const g of gone) {
      if (g.stem !== stem) await this.#unlinkFiles(g)
      this.onRemove?.(this.#stub(g), 'delete')
    }
    await this.#evict(record.key)
    if (this.#bytes > this.#opts.maxBytes) await this.#drop(record.key, [m], 'size')
  }

  /** Writes a file under a temporary name and renames it into place, so a reader sees all or nothing. */
  async #writeAtomic (path: string, data: Buffer): Promise<void> {
    const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`
    try {
      await writeFile(tmp, data)
      await rename(tmp, path)
    } catch (err) {
      await unlink(tmp).catch(() => undefined)
      throw err
    }
  }

  async update (record: StoredRecord): Promise<boolean> {
    const variants = this.#index.get(record.key)
    const m = variants?.find(v => v.id === record.id)
    if (variants === undefined || m === undefined) return false
    const next: RecFile = { record: { ...record, bodySize: m.bodySize }, seq: m.seq, bodyCrc: m.bodyCrc }
    const encoded = encodeRec(next)
    try {
      await this.#writeAtomic(this.#path(m.stem, 'rec'), encoded)
    } catch {
      return false
    }
    const current = this.#index.get(record.key) ?? []
    if (!current.includes(m)) return false
    const updated = this.#metaOf(next, m.stem, encoded.length)
    this.#set(record.key, current.map(v => v === m ? updated : v), current)
    return true
  }

  async remove (key: string, ids: readonly string[]): Promise<number> {
    const gone = (this.#index.get(key) ?? []).filter(m => ids.includes(m.id))
    await this.#drop(key, gone, 'delete')
    return gone.length
  }

  async delete (key: string): Promise<number> {
    const gone = this.#index.get(key) ?? []
    await this.#drop(key, gone, 'delete')
    return gone.length
  }

  async tagged (tag: string): Promise<string[]> {
    return [...this.#tags.get(tag) ?? []]
  }

  async keys (limit: number): Promise<string[]> {
    const out: string[] = []
    for (const k of this.#index.keys()) {
      if (out.length >= limit) break
      out.push(k)
    }
    return out
  }

  stats (): StoreStats {
    return { entries: this.#entries, bytes: this.#bytes, maxBytes: this.#opts.maxBytes, evictions: this.#evictions }
  }

  /** Releases the directory's lock; the files stay for the next start. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // The lock is released only once nothing of this process writes in the directory any more.
    await Promise.allSettled([...this.#commits])
    try { unlinkSync(join(this.#opts.dir, 'LOCK')) } catch {}
  }
}

/**
 * Takes the directory's lock file (holding this process id). Two processes on one directory
 * would evict each other's files unseen, so a live holder is refused; a dead one's lock is taken over.
 */
function lock (dir: string): void {
  const path = join(dir, 'LOCK')
  try {
    const fd = openSync(path, 'wx')
    writeSync(fd, String(process.pid))
    closeSync(fd)
    return
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  const holder = Number(readFileSync(path, 'utf8').trim())
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
    throw new Error(`disk tier directory ${dir} is in use by process ${holder}`)
  }
  writeFileSync(path, String(process.pid))
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
