-- enqueue.lua: adds ready entries, moving any id that is already indexed (ready or delayed).
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt, type?, labels?]
-- KEYS[2]   delayed sorted set: id scored by dueAt
-- ARGV[1]   key prefix (ready keys are built from it: see lib.lua), wake channels <prefix>wake:<queue>
-- ARGV[2]   sender id, echoed in wake messages so the sending instance can skip its own
-- ARGV[3..] groups of 7: id, queue, level (1..10), tenant, type, score (dueAt), encoded
--
-- Atomically: drops each id from wherever it was (a re-enqueue moves it, never duplicates it; the
-- last occurrence of an id in the batch wins), adds it to the ready set of its queue, level,
-- tenant and type (a tenant new to the level joins the back of its ring), counts it, stores its
-- entry, then publishes one `<sender>:{"c": {level: count}, "t": tenant, "y": type}` per touched
-- queue (t and y only when every entry of the queue shares them) so that each instance wakes as
-- many of its waiters as there are new jobs they can take (waiters.ts). Writes go out as one command per
-- key, not per entry. Keys are derived from the prefix because an id's previous place is only
-- known from the entries hash (Redis Cluster: use a hash-tagged prefix).
-- Returns nothing. Uses chunked, push, readyKey, typesKey, ringKey, markLevel, forgetReady from lib.lua.
local entries, delayed, prefix, sender = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local ids, keyOf, seen = {}, {}, {}
local adds, parts, fields, arrivals = {}, {}, {}, {}
for i = #ARGV - 6, 3, -7 do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    local q, L, t, y = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
    local key = readyKey(prefix, q, L, t, y)
    ids[#ids + 1] = id
    keyOf[id] = key
    if not parts[key] then parts[key] = { q, L, t, y } end
    push(adds, key, ARGV[i + 5], id)
    push(fields, 'all', id, ARGV[i + 6])
    local a = arrivals[q]
    if not a then
      a = { c = {}, t = t, y = y }
      arrivals[q] = a
    end
    a.c[L] = (a.c[L] or 0) + 1
    if a.t ~= t then a.t = false end
    if a.y ~= y then a.y = false end
  end
end
local moved = forgetReady(entries, prefix, ids, keyOf)
if #moved > 0 then chunked('ZREM', delayed, moved) end
for key, list in pairs(adds) do
  local p = parts[key]
  local added = 0
  for i = 1, #list, 1000 do added = added + redis.call('ZADD', key, unpack(list, i, math.min(i + 999, #list))) end
  if added > 0 then redis.call('HINCRBY', prefix .. 'counts', p[1], added) end
  local tk = typesKey(prefix, p[1], p[2], p[3])
  if redis.call('SADD', tk, p[4]) == 1 and redis.call('SCARD', tk) == 1 then
    if redis.call('RPUSH', ringKey(prefix, p[1], p[2]), p[3]) == 1 then markLevel(prefix, p[1], tonumber(p[2]), true) end
  end
end
if fields.all then chunked('HSET', entries, fields.all) end
for queue, a in pairs(arrivals) do
  local m = { c = a.c }
  if a.t then m.t = a.t end
  if a.y then m.y = a.y end
  redis.call('PUBLISH', prefix .. 'wake:' .. queue, sender .. ':' .. cjson.encode(m))
end
