-- worker-touch.lua: records a sign of life of a remote worker (a lost worker is active again).
--
-- KEYS[1]   workers sorted set: worker id scored by its last heartbeat (epoch ms)
-- KEYS[2]   the worker's hash, <prefix>worker:<id>
-- ARGV[1]   worker id
-- ARGV[2]   now, epoch ms (the caller's clock, not Redis TIME)
-- ARGV[3]   time to live of the hash, ms (refreshed)
--
-- Atomically: an unknown (never registered, unregistered or expired) worker is not recreated, and
-- a stale id left in the sorted set by an expired hash is dropped. Otherwise sets lastHeartbeatAt
-- and status active, refreshes the time to live and moves the id's score to now.
-- Returns 1 when the worker is known, else 0.
local workers, key = KEYS[1], KEYS[2]
local id, now, ttl = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', key) == 0 then
  redis.call('ZREM', workers, id)
  return 0
end
redis.call('HSET', key, 'lastHeartbeatAt', now, 'status', 'active')
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', workers, now, id)
return 1
