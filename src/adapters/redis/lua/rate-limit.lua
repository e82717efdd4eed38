-- rate-limit.lua: takes one token from a token bucket (the same rule as src/domain/token-bucket.ts).
--
-- KEYS[1]   bucket hash: tokens (float), at (epoch ms of the last refill)
-- ARGV[1]   now, epoch ms (the caller's clock, so every API process agrees on one timeline)
-- ARGV[2]   refill rate, tokens per second
-- ARGV[3]   burst: the bucket's capacity
--
-- Atomically: refills the bucket for the time elapsed, takes a token if one is there, stores the
-- bucket with a time to live of "until full again" (a full bucket is the same as no key). The
-- bucket's time is the latest "now" it was given: with API processes' clocks apart, it follows the
-- one ahead, and a process behind earns nothing until its clock passes it.
-- Returns { allowed (1/0), whole tokens left, ms until full, ms until a token is available }.
local key = KEYS[1]
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then
  tokens, at = burst, now
end
local elapsed = math.max(0, now - at) / 1000
tokens = math.min(burst, tokens + elapsed * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local resetMs = math.ceil((burst - tokens) / rate * 1000)
local retryMs = 0
if allowed == 0 then
  retryMs = math.ceil((1 - tokens) / rate * 1000)
end
-- The bucket's time never goes back: a caller whose clock is behind the last one's must not make
-- the next caller ahead be paid the skew again (see takeToken in token-bucket.ts).
at = math.max(at, now)
-- %.17g keeps the float exact (tostring rounds to 14 digits and would drift from the JS rule).
redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', key, resetMs + 1000)
return { allowed, math.floor(tokens), resetMs, retryMs }
