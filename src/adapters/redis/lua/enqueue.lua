-- enqueue.lua: adds ready entries, moving any id that is already indexed (ready or delayed).
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt]
-- KEYS[2]   delayed sorted set: id scored by dueAt
-- ARGV[1]   key prefix: ready sets are <prefix>ready:<queue>, wake channels <prefix>wake:<queue>
-- ARGV[2]   sender id, echoed in wake messages so the sending instance can skip its own
-- ARGV[3..] groups of 5: id, queue, priority (1..10), score (priority * 2^42 + dueAt), encoded
--
-- Atomically: drops each id from wherever it was (a re-enqueue moves it, never duplicates it; the
-- last occurrence of an id in the batch wins), adds it to its queue's ready set and the entries
-- hash, then publishes one "<sender>:<bitmask of priorities added>" per touched queue so only
-- waiters whose priority range can take the new work wake up. Writes go out as one command per
-- key, not per entry. Ready keys are derived from the prefix because an id's previous queue is
-- only known from the entries hash (Redis Cluster: use a hash-tagged prefix).
-- Returns nothing. Uses chunked, push, forgetReady from lib.lua.
local entries, delayed, prefix, sender = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local ids, queueOf, seen = {}, {}, {}
local adds, fields, masks = {}, {}, {}
for i = #ARGV - 4, 3, -5 do
  local id, queue = ARGV[i], ARGV[i + 1]
  if not seen[id] then
    seen[id] = true
    ids[#ids + 1] = id
    queueOf[id] = queue
    push(adds, queue, ARGV[i + 3], id)
    push(fields, 'all', id, ARGV[i + 4])
    masks[queue] = bit.bor(masks[queue] or 0, bit.lshift(1, tonumber(ARGV[i + 2]) - 1))
  end
end
local moved = forgetReady(entries, prefix, ids, queueOf)
if #moved > 0 then chunked('ZREM', delayed, moved) end
for queue, pairs_ in pairs(adds) do chunked('ZADD', prefix .. 'ready:' .. queue, pairs_) end
if fields.all then chunked('HSET', entries, fields.all) end
for queue, mask in pairs(masks) do
  redis.call('PUBLISH', prefix .. 'wake:' .. queue, sender .. ':' .. mask)
end
