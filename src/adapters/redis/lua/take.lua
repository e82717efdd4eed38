-- take.lua: removes and returns up to max ready entries from one or more queues, in order; or,
-- as a probe, tells whether such a take would get anything.
--
-- KEYS[1]   entries hash: id -> encoded entry, JSON [queue, tenant, priority, dueAt, type?, labels?]
-- ARGV[1]   key prefix (ready keys are built from it: see lib.lua)
-- ARGV[2]   max
-- ARGV[3]   lowest level of the priority range, ARGV[4] highest (inclusive)
-- ARGV[5]   filter JSON {"types": [...], "labels": {k: v}, "tenant": t} or ''; with a tenant, only
--           that tenant's entries are served (within its cap), and no turn or deficit changes
-- ARGV[6]   '1' to probe (returns 1 or 0, changes nothing), '0' to take
-- ARGV[7]   where this take starts in the list of queues (0-based): queues take turns from there
-- ARGV[8]   fairness JSON per queue with rules, by 1-based position in the list: {"3": {"w":
--           {tenant: weight}, "dw": weight, "c": {tenant: cap}, "dc": cap}} or '' (no queue has
--           rules: every tenant weight 1, no cap)
-- ARGV[9..] the queues, in the caller's own order (the same list on every take, so that only the
--           start moves)
--
-- Order: priority level first, across all queues; inside a level, the queues take turns (equal
-- shares per pass, in the order given); inside a level and queue, tenants take turns by
-- deficit round robin: the tenant at the head of the ring gets `weight` more credit when its turn
-- starts (alone, it takes all it may), takes up to its credit and its cap (running jobs counted
-- in run:<queue>), and moves to the back when its credit is spent or it has nothing that matches;
-- inside a tenant, due time then submission (its types' sets merged by score, then id). Taken
-- entries of capped queues are counted as running until release. Everything runs in one script,
-- so no two callers anywhere can take the same id.
-- Returns a flat list: the position (1-based, in the list) of the last queue served or 0, then
-- id1, encoded1, id2, encoded2, ... (or the probe's 1/0).
local entries, prefix = KEYS[1], ARGV[1]
local need, lo, hi = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local filter = ARGV[5] ~= '' and cjson.decode(ARGV[5]) or nil
local probe = ARGV[6] == '1'
local LABEL_SCAN = 1000

local only = filter and filter.tenant or nil
local wanted = nil
if filter and filter.types then
  wanted = {}
  for _, y in ipairs(filter.types) do wanted[y] = true end
end

local function share(pol, t)
  if not pol then return 1, nil end
  local w = (pol.w and pol.w[t]) or pol.dw or 1
  local c = pol.c and pol.c[t]
  if c == nil then c = pol.dc end
  return w, c
end

local function labelsMatch(encoded)
  local labels = cjson.decode(encoded)[6]
  for k, v in pairs(filter.labels) do
    if type(labels) ~= 'table' or labels[k] ~= v then return false end
  end
  return true
end

-- Up to quota ids of tenant t at (q, L) in order, keeping to the filter. Removes them unless
-- probing, and then also says whether the tenant left the ring (it has nothing ready left).
-- tally as for unready.
local function takeFromTenant(q, L, t, quota, tally)
  local sets = {}
  for _, y in ipairs(redis.call('SMEMBERS', typesKey(prefix, q, L, t))) do
    if not wanted or wanted[y] then sets[#sets + 1] = { key = readyKey(prefix, q, L, t, y), y = y } end
  end
  if #sets == 0 then return {} end
  local labels = filter and filter.labels
  local ids = {}
  if #sets == 1 and not labels then
    if probe then return redis.call('ZRANGE', sets[1].key, 0, quota - 1) end
    -- One more than taken: whether the set is emptied comes with the same call.
    local found = redis.call('ZRANGE', sets[1].key, 0, quota)
    for j = 1, math.min(quota, #found) do ids[j] = found[j] end
    if #ids == 0 then return ids, false end
    return ids, unready(prefix, sets[1].key, q, L, t, sets[1].y, ids, #found <= quota, tally)
  end
  local heads = {}
  for _, s in ipairs(sets) do
    local found = redis.call('ZRANGE', s.key, 0, (labels and LABEL_SCAN or quota) - 1, 'WITHSCORES')
    local encoded = nil
    if labels and #found > 0 then
      local only = {}
      for j = 1, #found, 2 do only[#only + 1] = found[j] end
      encoded = chunked('HMGET', entries, only)
    end
    local kept = 0
    for j = 1, #found, 2 do
      if kept >= quota then break end
      if not labels or (encoded[(j + 1) / 2] and labelsMatch(encoded[(j + 1) / 2])) then
        heads[#heads + 1] = { id = found[j], score = tonumber(found[j + 1]), set = s }
        kept = kept + 1
      end
    end
  end
  if probe then return #heads > 0 and { heads[1].id } or {} end
  -- Ties compare ids as Lua strings: byte order for UUIDs in the C and common UTF-8 locales.
  table.sort(heads, function(a, b) return a.score < b.score or (a.score == b.score and a.id < b.id) end)
  local bySet, sets_ = {}, {}
  for j = 1, math.min(quota, #heads) do
    local h = heads[j]
    ids[j] = h.id
    if not bySet[h.set.key] then sets_[#sets_ + 1] = h.set end
    push(bySet, h.set.key, h.id)
  end
  local gone = false
  for _, s in ipairs(sets_) do gone = unready(prefix, s.key, q, L, t, s.y, bySet[s.key], nil, tally) or gone end
  return ids, gone
end

local FIRST = 9
local start = tonumber(ARGV[7])
local rules = ARGV[8] ~= '' and cjson.decode(ARGV[8]) or nil
local n = #ARGV - FIRST + 1
local queues = {}
for qi = 1, n do queues[qi] = ARGV[FIRST + qi - 1] end
local policies = setmetatable({}, { __index = function(_, qi) return rules and rules[tostring(qi)] or false end })

-- The levels each queue has ready entries at (lib.lua's levels mask): a walk visits only those
-- queues and levels, so empty queues and empty levels cost nothing beyond this one read.
local masks = {}
local any = 0
do
  local stored = n <= 1000 and redis.call('HMGET', prefix .. 'levels', unpack(ARGV, FIRST)) or chunked('HMGET', prefix .. 'levels', queues)
  for qi, q in ipairs(queues) do
    local m = tonumber(stored[qi])
    if m == nil then
      m = levelsFromRings(prefix, q)
      redis.call('HSET', prefix .. 'levels', q, m)
    end
    masks[qi] = m
    any = bit.bor(any, m)
  end
end

if probe then
  for L = lo, hi do
    for qi, q in ipairs(queues) do
      local pol = policies[qi] or nil
      local tenants = bit.band(masks[qi], 2 ^ (L - 1)) ~= 0 and redis.call('LRANGE', ringKey(prefix, q, L), 0, -1) or {}
      for _, t in ipairs(tenants) do
        local _, cap = share(pol, t)
        local running = cap and (tonumber(redis.call('HGET', prefix .. 'run:' .. q, t)) or 0) or 0
        if (not only or t == only) and (not cap or running < cap) and #takeFromTenant(q, L, t, 1) > 0 then return 1 end
      end
    end
  end
  return 0
end

local out = {}

-- One tenant's take: its lane alone, up to its cap; the ring and the deficits stay as they were
-- (an emptied lane leaves the ring through tidy, as in any take).
local function serveTenant(qi, L, want)
  local q = queues[qi]
  if redis.call('EXISTS', typesKey(prefix, q, L, only)) == 0 then return 0 end
  local _, cap = share(policies[qi] or nil, only)
  local runs = prefix .. 'run:' .. q
  local room = want
  if cap then room = math.min(room, cap - (tonumber(redis.call('HGET', runs, only)) or 0)) end
  local got = room > 0 and takeFromTenant(q, L, only, room) or {}
  for _, id in ipairs(got) do out[#out + 1] = id end
  if #got > 0 and cap then redis.call('HINCRBY', runs, only, #got) end
  return #got
end

-- Deficit round robin over the tenants of (queue, L), taking up to want. The calls per tenant
-- served are its own (types, range, removal): the ring's head comes from one read of its first
-- want + 1 tenants (the head after a rotation or a removal is the next of them), rotations are
-- made at the end in one move, the deficits are read only when some are stored, and the ready
-- count changes once.
local function serve(qi, L, want)
  local q, pol = queues[qi], policies[qi] or nil
  local ring, defs, runs = ringKey(prefix, q, L), deficitKey(prefix, q, L), prefix .. 'run:' .. q
  local ahead = redis.call('LRANGE', ring, 0, want)
  local n = #ahead
  if n == 0 then return 0 end
  if n > want then n = redis.call('LLEN', ring) end
  local anyDeficit = n > 1 and redis.call('HLEN', defs) > 0
  local next, rotated, tally = 1, 0, { n = 0 }
  -- Rotations not yet made: those tenants are still at the head of the list, in order.
  local function rotate()
    if rotated > 0 then
      redis.call('RPUSH', ring, unpack(redis.call('LPOP', ring, rotated)))
      rotated = 0
    end
  end
  local idle, taken = 0, 0
  while want > 0 and n > 0 and idle < n do
    local t = ahead[next]
    if not t then
      rotate()
      t = redis.call('LINDEX', ring, 0)
      ahead, next = { t }, 1
    end
    next = next + 1
    local w, cap = share(pol, t)
    local room = want
    if cap then room = math.min(room, cap - (tonumber(redis.call('HGET', runs, t)) or 0)) end
    local alone = n == 1
    -- A lone tenant has no deficit stored (tidy clears them when one tenant is left).
    local stored = not alone and anyDeficit and tonumber(redis.call('HGET', defs, t)) or nil
    local deficit = stored or 0
    local credit = room
    if not alone then credit = deficit < 1 and deficit + w or deficit end
    local quota = math.min(math.floor(credit), room)
    local got, gone = {}, false
    if quota > 0 then got, gone = takeFromTenant(q, L, t, quota, tally) end
    for _, id in ipairs(got) do out[#out + 1] = id end
    want = want - #got
    taken = taken + #got
    if #got > 0 and cap then redis.call('HINCRBY', runs, t, #got) end
    if gone then
      n = n - 1 -- emptied: tidy took it out of the ring
      idle = 0
    elseif #got == 0 then
      rotated = rotated + 1
      idle = idle + 1
    else
      idle = 0
      local left = alone and 0 or credit - #got
      if #got < quota or left <= 0 then
        if stored then redis.call('HDEL', defs, t) end
      else
        redis.call('HSET', defs, t, left)
        anyDeficit = true
      end
      -- Credit left and only want cut the take short: the tenant keeps its turn for the next take.
      if not (#got == quota and left >= 1 and want == 0) and n > 1 then rotated = rotated + 1 end
    end
  end
  rotate()
  if tally.n > 0 then redis.call('HINCRBY', prefix .. 'counts', q, -tally.n) end
  return taken
end

-- Priority level first, across the queues; inside a level the queues take turns: each pass gives
-- every queue an equal share of what is still wanted (at least one), so many queues each get
-- some before any gets a second share.
local last = 0
for L = lo, hi do
  local bitL = 2 ^ (L - 1)
  local live = {}
  if need > 0 and bit.band(any, bitL) ~= 0 then
    for k = 0, n - 1 do
      local qi = (start + k) % n + 1
      if bit.band(masks[qi], bitL) ~= 0 then live[#live + 1] = qi end
    end
  end
  local progress = true
  while need > 0 and progress and #live > 0 do
    progress = false
    local quota = math.max(1, math.floor(need / #live))
    for _, qi in ipairs(live) do
      if need <= 0 then break end
      local want = math.min(quota, need)
      local got = only and serveTenant(qi, L, want) or serve(qi, L, want)
      need = need - got
      if got > 0 then
        progress = true
        last = qi
      end
    end
  end
end
-- First the position of the last queue served (the caller starts its next take after it), then
-- the entries.
local reply = withEntries(entries, out)
table.insert(reply, 1, last)
return reply
