-- worker-sweep.lua: marks remote workers silent for longer than the timeout as lost.
--
-- KEYS[1]   workers sorted set: worker id scored by its last heartbeat (epoch ms)
-- ARGV[1]   key prefix: worker hashes are <prefix>worker:<id> (Redis Cluster: hash-tag the prefix)
-- ARGV[2]   now, epoch ms (the caller's clock, not Redis TIME)
-- ARGV[3]   timeout, ms: silent means lastHeartbeatAt < now - timeout
--
-- Atomically, so when several processes sweep at once each worker is reported by one of them only:
-- every active worker past the timeout becomes lost. Lost workers stay listed (and in the sorted
-- set) until a heartbeat revives them, they unregister or their hash expires; ids whose hash has
-- expired are dropped from the sorted set here.
-- Returns the hashes of the newly lost workers, each as a flat list field1, value1, ...
local workers, prefix = KEYS[1], ARGV[1]
local cutoff = tonumber(ARGV[2]) - tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', workers, '-inf', string.format('(%.17g', cutoff))
local lost, gone = {}, {}
for _, id in ipairs(ids) do
  local key = prefix .. 'worker:' .. id
  local status = redis.call('HGET', key, 'status')
  if not status then
    gone[#gone + 1] = id
  elseif status == 'active' then
    redis.call('HSET', key, 'status', 'lost')
    lost[#lost + 1] = redis.call('HGETALL', key)
  end
end
-- unpack() is limited to a few thousand values: drop in batches.
for i = 1, #gone, 1000 do
  redis.call('ZREM', workers, unpack(gone, i, math.min(i + 999, #gone)))
end
return lost
