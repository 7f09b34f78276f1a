/**
 * The Lua scripts the Redis store runs: one round trip per decision, atomic because Redis runs a
 * script alone. BUCKETS_LUA mirrors `decide()` in gcra.ts operation by operation (same IEEE doubles,
 * same order of operations), so both stores take the same decision for the same clock; change them
 * together.
 */

/**
 * Redis TIME is turned into ms since this origin (2025-01-01T00:00:00Z) rather than since 1970, so the
 * doubles holding TATs keep ~8 ns of resolution instead of ~240 ns.
 */
export const TIME_ORIGIN_S = 1_735_689_600;

/** Redis TIME in ms since TIME_ORIGIN_S, in Lua. */
const NOW_LUA = `local t = redis.call('TIME')
local time = (tonumber(t[1]) - ${TIME_ORIGIN_S}) * 1000 + tonumber(t[2]) / 1000`;

/**
 * KEYS: the buckets' keys, all in one hash slot.
 * ARGV: cost; now (ms, or '' for Redis TIME); extra ms of key lifetime (0 unless a test injects a
 *       clock unrelated to real time); deadline (Redis TIME in ms, or ''); then rate and burst of each
 *       bucket.
 * Returns: allowed (1/0), refusedBy (0-based, -1), retryAfterMs ('-1' for never), then remaining
 *          and resetMs of each bucket. Fractions go back as strings: Redis truncates Lua numbers.
 *          Past the deadline it returns { -1 } and changes nothing: the caller has timed out and
 *          decided without Redis, so a stalled Redis that wakes up must not apply those decisions too.
 * A TAT is stored with 17 significant digits, so it reads back as the same double, and expires when
 * the bucket is full again (a missing key is a full bucket).
 */
export const BUCKETS_LUA = `
local EPS = 1e-6
local cost = tonumber(ARGV[1])
${NOW_LUA}
if ARGV[4] ~= '' and time > tonumber(ARGV[4]) then return { -1 } end
local now = time
if ARGV[2] ~= '' then now = tonumber(ARGV[2]) end
local pad = tonumber(ARGV[3])
local n = #KEYS
local tats = {}
local refusedBy = -1
local retry = 0
for i = 1, n do
  local rate = tonumber(ARGV[2 * i + 3])
  local burst = tonumber(ARGV[2 * i + 4])
  local tat = now
  local stored = redis.call('GET', KEYS[i])
  if stored then tat = math.max(tonumber(stored), now) end
  tats[i] = tat
  local wait
  if cost > burst then
    wait = math.huge
  else
    local t = 1000 / rate
    local tau = burst * t
    wait = tat + cost * t - tau - now
  end
  if wait > EPS then
    if refusedBy < 0 then refusedBy = i - 1 end
    if wait > retry then retry = wait end
  end
end
local allowed = refusedBy < 0
local out = { allowed and 1 or 0, refusedBy, retry == math.huge and '-1' or string.format('%.17g', retry) }
for i = 1, n do
  local rate = tonumber(ARGV[2 * i + 3])
  local burst = tonumber(ARGV[2 * i + 4])
  local t = 1000 / rate
  local tat = tats[i]
  if allowed then
    tat = tat + cost * t
    if tat > now then
      redis.call('SET', KEYS[i], string.format('%.17g', tat), 'PX', math.ceil(tat - now) + pad)
    end
  end
  local tau = burst * t
  local reset = 0
  if tat > now then reset = tat - now end
  local rem = math.floor((tau - reset + EPS) / t)
  if rem < 0 then rem = 0 end
  out[2 * i + 2] = rem
  out[2 * i + 3] = string.format('%.17g', reset)
end
return out
`;

/**
 * Gives tokens back (Store.refund). KEYS: the buckets' keys, in one hash slot. ARGV: cost; now (ms, or
 * '' for Redis TIME); extra ms of key lifetime; then the rate of each bucket. A bucket never gets
 * fuller than full: a TAT that falls to `now` or before is a full bucket, and its key goes.
 */
export const REFUND_LUA = `
local cost = tonumber(ARGV[1])
${NOW_LUA}
local now = time
if ARGV[2] ~= '' then now = tonumber(ARGV[2]) end
local pad = tonumber(ARGV[3])
for i = 1, #KEYS do
  local stored = redis.call('GET', KEYS[i])
  if stored then
    local tat = tonumber(stored) - cost * (1000 / tonumber(ARGV[3 + i]))
    if tat <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.17g', tat), 'PX', math.ceil(tat - now) + pad)
    end
  end
end
return 1
`;

/**
 * KEYS[1]: the sorted set of live instances. ARGV: this instance's id, ms after which a silent
 * instance is dropped. Returns how many instances are live, this one included, and Redis TIME in ms
 * since TIME_ORIGIN_S (a string), from which the caller learns how its clock maps to Redis's.
 */
export const HEARTBEAT_LUA = `
${NOW_LUA}
local ms = math.floor(time)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], ms, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms - ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
return { redis.call('ZCARD', KEYS[1]), string.format('%.17g', time) }
`;
