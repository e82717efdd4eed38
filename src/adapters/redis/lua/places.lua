-- places.lua: where the index holds each id, read from the sets themselves (invariant checks and
-- diagnostics; writes nothing).
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt, type?, labels?]
-- KEYS[2]   delayed sorted set: id scored by dueAt
-- ARGV[1]   key prefix of the ready sets (readyKey in lib.lua)
-- ARGV[2..] ids
--
-- Returns one string per id: '' nowhere, 'r' in the ready set its entry names, 'd' in the delayed
-- set, 'rd' in both (the index contradicts itself). An entry whose id is in neither set answers ''
-- although `missing` counts it as held: that too is a contradiction the checks must see. Uses
-- levelOf, readyKey from lib.lua.
local entries, delayed, prefix = KEYS[1], KEYS[2], ARGV[1]
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local where = ''
  local encoded = redis.call('HGET', entries, id)
  if encoded then
    local e = cjson.decode(encoded)
    if redis.call('ZSCORE', readyKey(prefix, e[1], levelOf(e[3]), e[2], e[5] or ''), id) then where = 'r' end
  end
  if redis.call('ZSCORE', delayed, id) then where = where .. 'd' end
  out[#out + 1] = where
end
return out
