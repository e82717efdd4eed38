-- worker-register.lua: records a new remote worker, active, its first heartbeat now.
--
-- KEYS[1]   workers sorted set: worker id scored by its last heartbeat (epoch ms)
-- KEYS[2]   registration counter: list() sorts by it, so registration order holds across processes
-- KEYS[3]   the worker's hash, <prefix>worker:<id>
-- ARGV[1]   worker id (fresh)
-- ARGV[2]   now, epoch ms (the caller's clock, not Redis TIME)
-- ARGV[3]   time to live of the hash, ms: a worker silent that long is forgotten
-- ARGV[4]   name, JSON (null when absent)
-- ARGV[5]   queues, JSON array
-- ARGV[6]   capacity
-- ARGV[7]   labels, JSON object
-- ARGV[8]   tenant, JSON (null: a cluster worker, every tenant)
--
-- Atomically writes the hash (fields id, name, queues, capacity, labels, tenant, registeredAt,
-- lastHeartbeatAt, status, seq), sets its time to live and indexes the id in the sorted set.
-- Returns the registration sequence number.
local workers, counter, key = KEYS[1], KEYS[2], KEYS[3]
local id, now, ttl = ARGV[1], ARGV[2], ARGV[3]
local seq = redis.call('INCR', counter)
redis.call('HSET', key,
  'id', id, 'name', ARGV[4], 'queues', ARGV[5], 'capacity', ARGV[6], 'labels', ARGV[7], 'tenant', ARGV[8] or 'null',
  'registeredAt', now, 'lastHeartbeatAt', now, 'status', 'active', 'seq', seq)
redis.call('PEXPIRE', key, ttl)
redis.call('ZADD', workers, now, id)
return seq
