-- lib.lua: helpers shared by every dispatch script. scripts.ts prepends this file to each one
-- (so each runs as one self-contained script); it touches no keys by itself.

-- Runs `cmd key ...list` in batches: unpack() is limited to a few thousand values. Batches hold an
-- even count, so lists of score/member or field/value pairs stay paired. Returns the replies of
-- multi-reply commands (HMGET, ZRANGE) concatenated.
local function chunked(cmd, key, list)
  local out = {}
  for i = 1, #list, 1000 do
    local part = redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
    if type(part) == 'table' then
      for _, v in ipairs(part) do out[#out + 1] = v end
    end
  end
  return out
end

-- Appends values to the list kept under `name` in `lists`.
local function push(lists, name, a, b)
  local list = lists[name]
  if not list then list = {}; lists[name] = list end
  list[#list + 1] = a
  if b ~= nil then list[#list + 1] = b end
end

-- The ready index (see redis-dispatch.ts): per queue q, priority level L, tenant t and type y a
-- sorted set r:q|L|t|y; per (q, L, t) the set t:q|L|t of its non-empty types; per (q, L) the ring
-- list ring:q|L of tenants with work (deficit round robin order) and the hash def:q|L of their
-- deficits; the hash counts (queue -> ready entries); the hash levels (queue -> bit mask of the
-- levels whose ring is non-empty, bit L-1 for level L), so that a take over many queues visits
-- only the queues and levels with work. A tenant is in the ring exactly while its types set is
-- non-empty.
local function levelOf(p)
  p = math.floor(tonumber(p))
  if p < 1 then return 1 elseif p > 10 then return 10 end
  return p
end

local function readyKey(prefix, q, L, t, y) return prefix .. 'r:' .. q .. '|' .. L .. '|' .. t .. '|' .. y end
local function typesKey(prefix, q, L, t) return prefix .. 't:' .. q .. '|' .. L .. '|' .. t end
local function ringKey(prefix, q, L) return prefix .. 'ring:' .. q .. '|' .. L end
local function deficitKey(prefix, q, L) return prefix .. 'def:' .. q .. '|' .. L end

-- The levels mask of q as its rings say (10 EXISTS): for a queue whose mask was never stored
-- (an index written before masks were kept).
local function levelsFromRings(prefix, q)
  local m = 0
  for L = 1, 10 do
    if redis.call('EXISTS', ringKey(prefix, q, L)) == 1 then m = m + 2 ^ (L - 1) end
  end
  return m
end

-- Records that the ring of (q, L) became non-empty (on) or empty (off) in the levels mask of q.
local function markLevel(prefix, q, L, on)
  local key = prefix .. 'levels'
  local m = tonumber(redis.call('HGET', key, q))
  if m == nil then
    m = levelsFromRings(prefix, q)
  elseif on then
    m = bit.bor(m, 2 ^ (L - 1))
  else
    m = bit.band(m, bit.bnot(2 ^ (L - 1)))
  end
  redis.call('HSET', key, q, m)
end

-- After members left the ready set `key` of (q, L, t, y): drops an emptied type, and a tenant with
-- no types left from the ring (with its deficit). `emptied` says whether the set is now empty when
-- the caller knows (nil: look). Returns true when the tenant left the ring. A ring left with one
-- tenant or none keeps no deficits (a tenant alone takes all it may), so a lone tenant's take
-- never touches the deficits.
local function tidy(prefix, key, q, L, t, y, emptied)
  if emptied == false then return false end
  if emptied == nil and redis.call('EXISTS', key) == 1 then return false end
  local tk = typesKey(prefix, q, L, t)
  redis.call('SREM', tk, y)
  if redis.call('EXISTS', tk) == 1 then return false end
  local ring, defs = ringKey(prefix, q, L), deficitKey(prefix, q, L)
  redis.call('LREM', ring, 0, t)
  local left = redis.call('LLEN', ring)
  if left > 1 then redis.call('HDEL', defs, t) else redis.call('DEL', defs) end
  if left == 0 then markLevel(prefix, q, L, false) end
  return true
end

-- Removes `list` from the ready set `key` of (q, L, t, y), keeping counts and the ring right.
-- `emptied` as for tidy. With a `tally`, the count of q is left to the caller (tally.n removed).
-- Returns true when the tenant left the ring.
local function unready(prefix, key, q, L, t, y, list, emptied, tally)
  local removed = 0
  for i = 1, #list, 1000 do removed = removed + redis.call('ZREM', key, unpack(list, i, math.min(i + 999, #list))) end
  if removed > 0 then
    if tally then tally.n = tally.n + removed else redis.call('HINCRBY', prefix .. 'counts', q, -removed) end
    -- Fewer removed than asked: the caller's view of the set was off, so look.
    local known = nil
    if removed == #list then known = emptied end
    return tidy(prefix, key, q, L, t, y, known)
  end
  return false
end

-- Reads the entries of `ids` (HMGET) and drops them from the ready sets they are in, except where
-- `keepKey[id]` is that very set (a ZADD there just moves the score). Entries are JSON [queue,
-- tenant, priority, dueAt, type?, labels?]. Returns the ids that were indexed (ready or delayed).
local function forgetReady(entries, prefix, ids, keepKey)
  local found = {}
  if #ids == 0 then return found end
  local olds = chunked('HMGET', entries, ids)
  local gone, where = {}, {}
  for k, old in ipairs(olds) do
    if old then
      local id = ids[k]
      found[#found + 1] = id
      local e = cjson.decode(old)
      local q, L, t, y = e[1], levelOf(e[3]), e[2], e[5] or ''
      local key = readyKey(prefix, q, L, t, y)
      if not (keepKey and keepKey[id] == key) then
        push(gone, key, id)
        where[key] = { q, L, t, y }
      end
    end
  end
  for key, list in pairs(gone) do
    local w = where[key]
    unready(prefix, key, w[1], w[2], w[3], w[4], list)
  end
  return found
end

-- Formats a reply of ids and their entries as a flat list: id1, encoded1, id2, encoded2, ...
local function withEntries(entries, ids)
  if #ids == 0 then return {} end
  local encoded = chunked('HMGET', entries, ids)
  chunked('HDEL', entries, ids)
  local out = {}
  for j = 1, #ids do
    out[2 * j - 1] = ids[j]
    out[2 * j] = encoded[j]
  end
  return out
end
