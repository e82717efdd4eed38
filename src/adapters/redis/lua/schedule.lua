-- schedule.lua: adds delayed entries (ready at dueAt), moving any id that is already indexed.
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt]
-- KEYS[2]   delayed sorted set: id scored by dueAt
-- ARGV[1]   key prefix: ready sets are <prefix>ready:<queue>, the due channel is <prefix>due
-- ARGV[2]   sender id, echoed in the due message so the sending instance can skip its own
-- ARGV[3..] groups of 3: id, dueAt, encoded
--
-- Atomically: drops each id from any ready set (the last occurrence in the batch wins), adds it
-- to the delayed set and the entries hash. If the earliest due time moved earlier (or the set was
-- empty), publishes "<sender>:<earliest dueAt>" so every promoter re-arms its timer.
-- Returns 1 when it published, else 0. Uses chunked, push, forgetReady from lib.lua.
local entries, delayed, prefix, sender = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local function earliest()
  local head = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  return head[2] and tonumber(head[2]) or nil
end
local before = earliest()
local ids, seen, adds, fields = {}, {}, {}, {}
for i = #ARGV - 2, 3, -3 do
  local id = ARGV[i]
  if not seen[id] then
    seen[id] = true
    ids[#ids + 1] = id
    push(adds, 'all', ARGV[i + 1], id)
    push(fields, 'all', id, ARGV[i + 2])
  end
end
forgetReady(entries, prefix, ids, nil)
if adds.all then
  chunked('ZADD', delayed, adds.all)
  chunked('HSET', entries, fields.all)
end
local after = earliest()
if after and (not before or after < before) then
  redis.call('PUBLISH', prefix .. 'due', sender .. ':' .. string.format('%.17g', after))
  return 1
end
return 0
