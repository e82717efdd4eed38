-- take-due.lua: removes and returns delayed entries due at or before now, earliest first.
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt]
-- KEYS[2]   delayed sorted set: id scored by dueAt
-- ARGV[1]   now (epoch ms)
-- ARGV[2]   max
--
-- Atomically takes the entries out of the delayed set and the entries hash, so two promoters
-- never move the same job. The caller (the promoter) makes them ready through the store and
-- enqueues them again; if it dies in between, rebuilding dispatch from the store restores them.
-- Returns a flat list: id1, encoded1, id2, encoded2, ... Uses chunked, withEntries from lib.lua.
local entries, delayed = KEYS[1], KEYS[2]
local ids = redis.call('ZRANGEBYSCORE', delayed, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then chunked('ZREM', delayed, ids) end
return withEntries(entries, ids)
