-- remove.lua: forgets ids wherever they are (cancelled, expired jobs). Unknown ids are ignored.
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt]
-- KEYS[2]   delayed sorted set: id scored by dueAt
-- ARGV[1]   key prefix: ready sets are <prefix>ready:<queue>
-- ARGV[2..] ids
--
-- Atomically removes each id from its queue's ready set, the delayed set and the entries hash.
-- The earliest due time can only move later here, which needs no signal: a promoter that wakes
-- early finds nothing and re-arms.
-- Returns the number of ids that were indexed. Uses chunked, forgetReady from lib.lua.
local entries, delayed, prefix = KEYS[1], KEYS[2], ARGV[1]
local ids = {}
for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
local found = forgetReady(entries, prefix, ids, nil)
if #found > 0 then
  chunked('ZREM', delayed, found)
  chunked('HDEL', entries, found)
end
return #found
