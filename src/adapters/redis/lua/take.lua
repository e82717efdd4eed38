-- take.lua: removes and returns up to max ready entries from one or more queues, in order.
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt]
-- KEYS[2..] ready sorted sets of the queues to take from (id scored by priority * 2^42 + dueAt)
-- ARGV[1]   max
-- ARGV[2]   lowest score of the priority range (inclusive)
-- ARGV[3]   highest score of the priority range, exclusive form "(N"
--
-- Order is the sorted-set order: score (priority first, then due time), then member (UUIDv7 id =
-- submission order). With several queues, up to max heads of each are merged by the same rule.
-- Everything runs in one script, so no two callers anywhere can take the same id.
-- Returns a flat list: id1, encoded1, id2, encoded2, ... Uses chunked, push, withEntries from lib.lua.
local entries, max, lo, hi = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3]
local ids = {}
if #KEYS == 2 then
  ids = redis.call('ZRANGEBYSCORE', KEYS[2], lo, hi, 'LIMIT', 0, max)
  if #ids > 0 then chunked('ZREM', KEYS[2], ids) end
else
  local heads = {}
  for k = 2, #KEYS do
    local found = redis.call('ZRANGEBYSCORE', KEYS[k], lo, hi, 'WITHSCORES', 'LIMIT', 0, max)
    for j = 1, #found, 2 do
      heads[#heads + 1] = { id = found[j], score = tonumber(found[j + 1]), key = KEYS[k] }
    end
  end
  -- Ties at equal score across queues compare ids as Lua strings (strcoll): for UUIDs that is
  -- their byte order in the C locale and in common UTF-8 locales.
  table.sort(heads, function(a, b) return a.score < b.score or (a.score == b.score and a.id < b.id) end)
  local byKey = {}
  for j = 1, math.min(max, #heads) do
    ids[j] = heads[j].id
    push(byKey, heads[j].key, heads[j].id)
  end
  for key, list in pairs(byKey) do chunked('ZREM', key, list) end
end
return withEntries(entries, ids)
