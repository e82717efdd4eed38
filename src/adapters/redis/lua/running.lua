-- running.lua: changes running counts of capped queues (a release of finished jobs, or the
-- reconciliation with the store) and wakes the queues' waiters when slots were freed.
--
-- ARGV[1]   key prefix: counts live in hashes <prefix>run:<queue> (tenant -> running jobs)
-- ARGV[2]   sender id, echoed in wake messages
-- ARGV[3..] groups of 3: queue, tenant, delta
--
-- A count never goes below 0 (a release after a rebuild reset it is harmless); a zero count is
-- deleted. Each freed tenant slot is told on the queue's wake channel as
-- `<sender>:{"c": {"0": slots}, "t": tenant}` (level 0: any priority), one message per tenant.
-- Returns nothing.
local prefix, sender = ARGV[1], ARGV[2]
local freed = {}
for i = 3, #ARGV, 3 do
  local q, t, delta = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local key = prefix .. 'run:' .. q
  local n = redis.call('HINCRBY', key, t, delta)
  if n <= 0 then redis.call('HDEL', key, t) end
  if delta < 0 then freed[#freed + 1] = { q, t, -delta } end
end
for _, f in ipairs(freed) do
  redis.call('PUBLISH', prefix .. 'wake:' .. f[1], sender .. ':' .. cjson.encode({ c = { ['0'] = f[3] }, t = f[2] }))
end
