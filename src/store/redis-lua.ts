// The Lua scripts of the Redis tier (redis-store.ts). Each touches one key, the entry hash of one
// primary key, so it runs atomically on one node, Cluster included. Hash fields per variant id:
//   r:<id> record JSON   b:<id> body bytes   m:<id> {f: varyFields, v: varyKey, u: keepUntil}   s:<id> order
// and `n`, the order counter. A variant is visible once its `s:` field exists.

/** Shared helpers: the variant ids of the hash, newest first; the latest keepUntil of the ids left. */
const COMMON = `
local key = KEYS[1]
local function ids ()
  local out, order = {}, {}
  local fields = redis.call('HKEYS', key)
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 2) == 's:' then
      local id = string.sub(f, 3)
      out[#out + 1] = id
      order[id] = tonumber(redis.call('HGET', key, f))
    end
  end
  table.sort(out, function (a, b) return order[a] > order[b] end)
  return out
end
local function meta (id) return cjson.decode(redis.call('HGET', key, 'm:' .. id)) end
local function drop (id, gone)
  gone[#gone + 1] = id
  gone[#gone + 1] = redis.call('HGET', key, 'r:' .. id) or ''
  redis.call('HDEL', key, 'r:' .. id, 'b:' .. id, 'm:' .. id, 's:' .. id)
end
-- Redis TTL = the latest keepUntil of the variants left; none left, or all past it: the key goes.
local function expire (now, gone)
  local left = ids()
  local untilMs = 0
  for _, id in ipairs(left) do
    local u = meta(id).u
    if u > untilMs then untilMs = u end
  end
  if #left == 0 or untilMs - now <= 0 then
    for _, id in ipairs(left) do drop(id, gone) end
    redis.call('DEL', key)
  else
    redis.call('PEXPIRE', key, math.ceil(untilMs - now))
  end
end
`

/**
 * Commits a variant: ARGV id, record JSON, body, meta JSON, now, maxVariants, replaces JSON.
 * Removes the ids it replaces, any variant with the same secondary key, and the oldest beyond
 * maxVariants; returns the removed variants as a flat list [id, record JSON, …].
 */
export const PUT = COMMON + `
local id, now, maxv = ARGV[1], tonumber(ARGV[5]), tonumber(ARGV[6])
local m = cjson.decode(ARGV[4])
local replaces = {}
for _, r in ipairs(cjson.decode(ARGV[7])) do replaces[r] = true end
local function same (a)
  if a.v ~= m.v or #a.f ~= #m.f then return false end
  for i = 1, #a.f do if a.f[i] ~= m.f[i] then return false end end
  return true
end
local gone, kept = {}, 0
for _, old in ipairs(ids()) do
  if old == id or replaces[old] or same(meta(old)) then drop(old, gone)
  elseif kept >= maxv - 1 then drop(old, gone)
  else kept = kept + 1 end
end
local order = redis.call('HINCRBY', key, 'n', 1)
redis.call('HSET', key, 'r:' .. id, ARGV[2], 'b:' .. id, ARGV[3], 'm:' .. id, ARGV[4], 's:' .. id, order)
expire(now, gone)
return gone
`

/**
 * Replaces the record and meta of an existing variant, keeping its body: ARGV id, record JSON,
 * meta JSON, now. Returns false when the id is gone, else [old record JSON, removed…].
 */
export const UPDATE = COMMON + `
local id, now = ARGV[1], tonumber(ARGV[4])
if redis.call('HEXISTS', key, 's:' .. id) == 0 then return false end
local old = redis.call('HGET', key, 'r:' .. id)
redis.call('HSET', key, 'r:' .. id, ARGV[2], 'm:' .. id, ARGV[3])
local gone = {}
expire(now, gone)
local out = { old }
for _, x in ipairs(gone) do out[#out + 1] = x end
return out
`

/** Removes variants by id (ARGV now, then ids), or all of them when no id is given; returns [id, record JSON, …]. */
export const REMOVE = COMMON + `
local now = tonumber(ARGV[1])
local gone = {}
if #ARGV == 1 then
  for _, id in ipairs(ids()) do drop(id, gone) end
  redis.call('DEL', key)
  return gone
end
for i = 2, #ARGV do
  if redis.call('HEXISTS', key, 's:' .. ARGV[i]) == 1 then drop(ARGV[i], gone) end
end
expire(now, gone)
return gone
`

/** Adds members to a tag set and extends its TTL to ARGV[1] ms if that is later than its own: ARGV ttl, members… */
export const TAG = `
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`

/** Deletes a lock only if it still holds this caller's token: ARGV token. */
export const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
