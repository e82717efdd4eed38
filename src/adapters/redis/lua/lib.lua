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

-- Reads the entries of `ids` (HMGET) and drops the ready-set memberships they record, except in
-- `keepQueue[id]` (a ZADD there just moves the score). Entries are JSON [queue, tenant, priority,
-- dueAt]; the queue is all a script needs from them. Returns the ids that were indexed.
local function forgetReady(entries, prefix, ids, keepQueue)
  local found = {}
  if #ids == 0 then return found end
  local olds = chunked('HMGET', entries, ids)
  local gone = {}
  for k, old in ipairs(olds) do
    if old then
      local id = ids[k]
      found[#found + 1] = id
      local queue = cjson.decode(old)[1]
      if not (keepQueue and keepQueue[id] == queue) then push(gone, queue, id) end
    end
  end
  for queue, list in pairs(gone) do chunked('ZREM', prefix .. 'ready:' .. queue, list) end
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
