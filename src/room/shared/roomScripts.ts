/**
 * The Lua the shared waiting room runs in Redis (see redisRoomQueue.ts for the key layout and
 * sharedRoom.ts for how the proxy uses it). Every script is atomic, so the queue, the admissions and
 * the capacity accounting change together or not at all, whichever instance runs them.
 *
 * The admission policy is FairQueue's (fairQueue.ts, tenantRing.ts, classShares.ts), operation by
 * operation: deficit round robin across the tenants of a ring (a LIST whose head is the tenant whose
 * turn it is; a tenant joins at the tail, which is "just before the current one"), class credits
 * within a tenant, FIFO by seq within a (tenant, class), abandoned heads dropped on the way. Positions
 * use the same fluid estimate as FairQueue.position. Change them together.
 *
 * All scripts take KEYS[1] = the key base (`<prefix>{anteroom-room}:`; every key starts with it, so
 * they share one hash slot on a Redis Cluster) and the same first ARGV:
 *   1 policy (JSON, see RoomPolicy), 2 deadline in Redis ms ('' none), 3 now in ms ('' = Redis TIME;
 *   tests only), 4 instance id, 5 this instance's in-flight count, 6 the fast-path allowance this
 *   instance holds, 7 whether this instance may admit now ('1'/'0'), 8 most admissions in this call.
 * Past the deadline a script returns { -1 } and changes nothing: the caller has timed out and gone on
 * without Redis, so a stalled Redis that wakes up must not apply what nobody waits for.
 */

const PRELUDE = `
local B = KEYS[1]
local t = redis.call('TIME')
local time = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
if ARGV[2] ~= '' and time > tonumber(ARGV[2]) then return { -1 } end
local now = time
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
  nowUs = math.floor(now * 1000)
end
local P = cjson.decode(ARGV[1])
local ME = ARGV[4]
local INFLIGHT = tonumber(ARGV[5])
local ALLOW = tonumber(ARGV[6])
local CAN_ADMIT = ARGV[7] == '1'
local MAX_ADMIT = tonumber(ARGV[8])

local LIVE, LOAD, SEEN, RING, ADM, HOLD = B .. 'live', B .. 'load', B .. 'seen', B .. 'ring', B .. 'adm', B .. 'hold'
-- Admissions that hold capacity (room.ts RESERVE_MS): made less than P.rsv ago, for a waiter heard from
-- within P.rsv (a polling browser, a held request); score: when admitted.
local RSV = B .. 'rsv'
local UNIT, SCALE = 1000, 10000
local CLS = { [0] = 'critical', [1] = 'normal', [2] = 'bulk' }
local CI = { critical = 0, normal = 1, bulk = 2 }
local SH = { [0] = 0, [1] = P.sn, [2] = P.sb }

local function fmt(n) return string.format('%.17g', n) end
local function lane(tenant, ci) return B .. 'l' .. ci .. ':' .. tenant end
local function tkey(tenant) return B .. 't:' .. tenant end
local function inbox(inst) return B .. 'in:' .. inst end
local function weight(tenant)
  local w = P.w[tenant]
  if w == nil then return P.dw end
  return w
end
-- A waiter id is tenant|class|seq (room.ts waiterId); the tenant may itself contain '|'.
local function parse(id)
  local tenant, cls = string.match(id, '^(.*)|(%a+)|%d+$')
  if tenant == nil then return nil, nil end
  return tenant, CI[cls]
end
local function tsize(tenant)
  return redis.call('ZCARD', lane(tenant, 0)) + redis.call('ZCARD', lane(tenant, 1)) + redis.call('ZCARD', lane(tenant, 2))
end

-- This instance is alive and reports its load; instances that stopped reporting are forgotten, with
-- the capacity they held (this is what keeps the global count from leaking when an instance dies).
redis.call('ZADD', LIVE, now, ME)
local dead = redis.call('ZRANGEBYSCORE', LIVE, '-inf', '(' .. fmt(now - P.ttl))
for _, d in ipairs(dead) do
  redis.call('ZREM', LIVE, d)
  redis.call('HDEL', LOAD, d)
  redis.call('DEL', inbox(d))
end
redis.call('HSET', LOAD, ME, math.max(INFLIGHT, ALLOW))
redis.call('PEXPIRE', LIVE, P.ttl * 4)
redis.call('PEXPIRE', LOAD, P.ttl * 4)

-- Bookkeeping for a waiter already out of its lane (FairQueue #forget).
local function forget(tenant, id)
  redis.call('ZREM', SEEN, id)
  if tsize(tenant) == 0 then
    redis.call('LREM', RING, 0, tenant)
    redis.call('DEL', tkey(tenant))
  end
end

local function remove(id)
  local tenant, ci = parse(id)
  if tenant == nil or ci == nil then return 0 end
  redis.call('HDEL', HOLD, id)
  if redis.call('ZREM', lane(tenant, ci), id) == 1 then
    forget(tenant, id)
    return 1
  end
  return 0
end

local function full(tenant)
  return tsize(tenant) >= P.mpt or redis.call('ZCARD', SEEN) >= P.mt
end

local function insert(tenant, ci, id, seq, seenAt)
  if tsize(tenant) == 0 then
    redis.call('LREM', RING, 0, tenant)
    redis.call('RPUSH', RING, tenant)
  end
  redis.call('ZADD', lane(tenant, ci), seq, id)
  redis.call('ZADD', SEEN, seenAt, id)
end

local function abandoned(id)
  local s = redis.call('ZSCORE', SEEN, id)
  return (not s) or now - tonumber(s) > P.g
end

-- ClassShares.pick: the class to serve next, updating the tenant's credits.
local function pick(tenant, waiting)
  local top = -1
  for i = 0, 2 do
    if waiting[i] > 0 then top = i; break end
  end
  if top < 0 then return -1 end
  local TK = tkey(tenant)
  local cr = redis.call('HMGET', TK, 'c1', 'c2')
  local credits = { [1] = tonumber(cr[1]) or 0, [2] = tonumber(cr[2]) or 0 }
  local chosen, best = -1, SCALE - 1
  for i = 1, 2 do
    if waiting[i] > 0 then
      local c = credits[i] + SH[i]
      credits[i] = c
      if c > best then best = c; chosen = i end
    else
      credits[i] = 0
    end
  end
  if chosen < 0 then chosen = top end
  if chosen > 0 then credits[chosen] = math.max(0, credits[chosen] - SCALE) end
  redis.call('HSET', TK, 'c1', credits[1], 'c2', credits[2])
  return chosen
end

local dropped = 0
-- When the waiter that take() returned was last heard from.
local TAKEN_SEEN = nil

-- FairQueue #take: drops abandoned heads, then takes the waiter the class policy picks.
local function take(tenant)
  local waiting = {}
  for i = 0, 2 do
    local L = lane(tenant, i)
    while true do
      local head = redis.call('ZRANGE', L, 0, 0)[1]
      if head == nil or not abandoned(head) then break end
      redis.call('ZREM', L, head)
      redis.call('HDEL', HOLD, head)
      dropped = dropped + 1
      forget(tenant, head)
      if tsize(tenant) == 0 then return nil end
    end
    waiting[i] = redis.call('ZCARD', L)
  end
  local ci = pick(tenant, waiting)
  local w = redis.call('ZPOPMIN', lane(tenant, ci))[1]
  TAKEN_SEEN = tonumber(redis.call('ZSCORE', SEEN, w))
  forget(tenant, w)
  return w
end

-- An operator's pause or maintenance (P.pt: tenants with a setting of their own, P.pa: the rest).
local function paused(tenant)
  local own = P.pt[tenant]
  if own ~= nil then return own end
  return P.pa
end

-- FairQueue.next: deficit round robin over the ring; a paused tenant is passed over, keeping its places.
local function nextWaiter()
  local skipped = 0
  for guard = 1, 100000 do
    local tenant = redis.call('LINDEX', RING, 0)
    if not tenant then return nil end
    local TK = tkey(tenant)
    while paused(tenant) do
      -- No banking while skipped (FairQueue.next).
      redis.call('HSET', TK, 'd', 0, 'it', 0)
      redis.call('RPUSH', RING, redis.call('LPOP', RING))
      skipped = skipped + 1
      if skipped >= redis.call('LLEN', RING) then return nil end
      tenant = redis.call('LINDEX', RING, 0)
      TK = tkey(tenant)
    end
    local st = redis.call('HMGET', TK, 'd', 'it')
    local d = tonumber(st[1]) or 0
    if st[2] ~= '1' then
      d = d + math.floor(UNIT * weight(tenant) / P.mw + 0.5)
      redis.call('HSET', TK, 'd', d, 'it', 1)
    end
    local w = take(tenant)
    if w ~= nil then
      if tsize(tenant) > 0 then
        d = d - UNIT
        if d < UNIT then
          redis.call('HSET', TK, 'd', d, 'it', 0)
          redis.call('RPUSH', RING, redis.call('LPOP', RING))
        else
          redis.call('HSET', TK, 'd', d)
        end
      end
      return w
    end
  end
  return nil
end

local function liveLoad(except)
  local total = 0
  local kv = redis.call('HGETALL', LOAD)
  for i = 1, #kv, 2 do
    if kv[i] ~= except then total = total + tonumber(kv[i + 1]) end
  end
  return total
end

-- Admits while the global budget (limit + admit-ahead - load of every live instance, counting its
-- requests waiting for a slot - reserved admissions, see RSV) and the outflow rate allow. Admitted ids wait in ADM until collected or expired; an id held on
-- an open socket somewhere goes to that instance's inbox, or to MINE when held here.
local MINE = {}
local ADMITTED = 0
local function admitStep()
  redis.call('ZREMRANGEBYSCORE', ADM, '-inf', fmt(now))
  if not CAN_ADMIT then return end
  local n = MAX_ADMIT
  redis.call('ZREMRANGEBYSCORE', RSV, '-inf', '(' .. fmt(now - P.rsv))
  if P.lim >= 0 then n = math.min(n, P.lim + P.ahead - liveLoad(nil) - redis.call('ZCARD', RSV)) end
  local OUT = B .. 'out'
  local tat, T = now, 0
  if P.orate > 0 then
    T = 1000 / P.orate
    local stored = redis.call('GET', OUT)
    if stored then tat = math.max(tonumber(stored), now) end
    n = math.min(n, math.floor((now + P.oburst * T - tat) / T + 1e-9))
  end
  for i = 1, n do
    local id = nextWaiter()
    if id == nil then break end
    ADMITTED = ADMITTED + 1
    redis.call('ZADD', ADM, fmt(now + P.g), id)
    if TAKEN_SEEN ~= nil and now - TAKEN_SEEN <= P.rsv then redis.call('ZADD', RSV, fmt(now), id) end
    local h = redis.call('HGET', HOLD, id)
    if h then
      redis.call('HDEL', HOLD, id)
      if h == ME then
        MINE[#MINE + 1] = id
      else
        redis.call('RPUSH', inbox(h), id)
        redis.call('PEXPIRE', inbox(h), P.g)
      end
    end
  end
  if ADMITTED > 0 then
    redis.call('INCRBY', B .. 'count', ADMITTED)
    if T > 0 then
      tat = tat + ADMITTED * T
      redis.call('SET', OUT, fmt(tat), 'PX', math.ceil(tat - now) + 1)
    end
  end
end

-- ClassShares.admissionsUntil: the class policy as a fluid.
local function admissionsUntil(waiting, cls, rank)
  if (cls == 0 or waiting[0] == 0) and (cls == 1 or waiting[1] == 0) and (cls == 2 or waiting[2] == 0) then return rank end
  local left = { [0] = waiting[0], [1] = waiting[1], [2] = waiting[2] }
  left[cls] = rank
  local elapsed = 0
  while true do
    local top, lower = -1, 0
    local rate = { [0] = 0, [1] = 0, [2] = 0 }
    for i = 0, 2 do
      if left[i] > 0 then
        if top < 0 then top = i else
          rate[i] = SH[i] / SCALE
          lower = lower + rate[i]
        end
      end
    end
    rate[top] = 1 - lower
    local dt, first = math.huge, -1
    for i = 0, 2 do
      if left[i] > 0 and rate[i] > 0 and left[i] / rate[i] < dt then
        dt = left[i] / rate[i]
        first = i
      end
    end
    elapsed = elapsed + dt
    if first == cls then return elapsed end
    for i = 0, 2 do
      if left[i] > 0 then
        local l = left[i] - rate[i] * dt
        if l < 1e-9 then left[i] = 0 else left[i] = l end
      end
    end
    left[first] = 0
    if left[cls] <= 0 then return elapsed end
  end
end

-- FairQueue.position; 0 when the id is not waiting.
local function position(id)
  local tenant, ci = parse(id)
  if tenant == nil or ci == nil then return 0 end
  local rank = redis.call('ZRANK', lane(tenant, ci), id)
  if not rank then return 0 end
  local waiting = {}
  for i = 0, 2 do waiting[i] = redis.call('ZCARD', lane(tenant, i)) end
  local own = admissionsUntil(waiting, ci, rank + 1)
  local total = own
  local perWeight = own / weight(tenant)
  for _, u in ipairs(redis.call('LRANGE', RING, 0, -1)) do
    if u ~= tenant then total = total + math.min(tsize(u), perWeight * weight(u)) end
  end
  return math.max(1, math.ceil(total - 1e-6))
end

-- What every reply ends with: the room as a whole, for the caller's caches and estimator.
local function common(allowance)
  return { redis.call('ZCARD', SEEN), redis.call('ZCARD', ADM), redis.call('GET', B .. 'count') or '0',
    redis.call('ZCARD', LIVE), fmt(time), allowance, dropped }
end
`;

/**
 * Takes a place, or finds the one a ticket names. ARGV from 9: tenant, class index, the ticket's seq
 * ('' for a newcomer), the ticket's issuedAt, '1' if the request will be held on an open socket here,
 * '1' to collect an admission found for it.
 * Returns { state, id, seq, restored, position } and common; state is 'queued', 'admitted' (collected
 * now: the caller lets it in) or 'full'. MINE (ids held here admitted by this call) comes last.
 */
export const ENTER_LUA = `${PRELUDE}
local tenant, ci, seq, issuedAt = ARGV[9], tonumber(ARGV[10]), ARGV[11], ARGV[12]
local held = ARGV[13] == '1'
local id = nil
local restored = 0
local function collect(x)
  redis.call('ZREM', ADM, x); redis.call('ZREM', RSV, x)
  -- A held or retrying program takes its upstream slot at once: count it before the next report.
  if held then redis.call('HINCRBY', LOAD, ME, 1) end
end
if seq ~= '' then
  local mine = tenant .. '|' .. CLS[ci] .. '|' .. seq
  if redis.call('ZSCORE', ADM, mine) then
    collect(mine)
    return { { 'admitted', mine, seq, 1, 0 }, common(ALLOW), MINE }
  end
  if redis.call('ZSCORE', lane(tenant, ci), mine) then
    redis.call('ZADD', SEEN, now, mine)
    id = mine
    restored = 1
  elseif now - tonumber(issuedAt) <= P.g then
    -- Not in the room (dropped as abandoned, or Redis lost it): within the grace the place is kept.
    if full(tenant) then return { { 'full', '', '', 0, 0 }, common(ALLOW), MINE } end
    insert(tenant, ci, mine, seq, now)
    id = mine
    restored = 1
  end
end
if id == nil then
  if full(tenant) then return { { 'full', '', '', 0, 0 }, common(ALLOW), MINE } end
  -- The global sequence: Redis's clock in microseconds, strictly increasing across the fleet, and
  -- comparable with the time-derived seq of tickets issued by an instance on its own (sequence.ts).
  local last = tonumber(redis.call('GET', B .. 'seq') or '0')
  local s = nowUs
  if s <= last then s = last + 1 end
  seq = string.format('%.0f', s)
  redis.call('SET', B .. 'seq', seq)
  id = tenant .. '|' .. CLS[ci] .. '|' .. seq
  insert(tenant, ci, id, seq, now)
end
if held then redis.call('HSET', HOLD, id, ME) end
admitStep()
if redis.call('ZSCORE', ADM, id) then
  for i = #MINE, 1, -1 do
    if MINE[i] == id then table.remove(MINE, i) end
  end
  collect(id)
  return { { 'admitted', id, seq, restored, 0 }, common(ALLOW), MINE }
end
return { { 'queued', id, seq, restored, position(id) }, common(ALLOW), MINE }
`;

/**
 * The tick. ARGV from 9: counts of the lists that follow (ensure, collected, forget), an empty
 * reserved field, then the lists.
 * - ensure: 'h' or 'b' + id. A waiter this instance knows (held here, or queued here during an
 *   outage) is touched (so a held one is never abandoned), or put back at its seq when Redis does not
 *   have it (after an outage, or a Redis restart); 'h' also marks it held here.
 * - collected: ids this instance admitted into its own slots since the last call (they leave ADM).
 * - forget: ids that left while Redis was unreachable.
 * Then abandoned places are swept, admissions made, this instance's inbox drained, and the fast-path
 * allowance recomputed: while nobody waits and nothing is pending, an instance may send newcomers
 * straight on up to min(ceil(limit / instances), what the others leave). Shrinking it is two-phase:
 * the smaller value is reported by the next call, after the caller has adopted it.
 * Returns { allowance }, common, MINE, inbox.
 */
export const SYNC_LUA = `${PRELUDE}
local nEnsure, nCollected, nForget = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local a = 13
for i = a, a + nEnsure - 1 do
  local kind, id = string.sub(ARGV[i], 1, 1), string.sub(ARGV[i], 2)
  if redis.call('ZSCORE', SEEN, id) then
    redis.call('ZADD', SEEN, now, id)
    if kind == 'h' then redis.call('HSET', HOLD, id, ME) end
  elseif redis.call('ZSCORE', ADM, id) then
    if kind == 'h' then
      redis.call('ZADD', ADM, fmt(now + P.g), id)
      MINE[#MINE + 1] = id
    end
  else
    local tenant, ci = parse(id)
    if tenant ~= nil and ci ~= nil and not full(tenant) then
      insert(tenant, ci, id, string.match(id, '(%d+)$'), now)
      if kind == 'h' then redis.call('HSET', HOLD, id, ME) end
    end
  end
end
a = a + nEnsure
for i = a, a + nCollected - 1 do redis.call('ZREM', ADM, ARGV[i]); redis.call('ZREM', RSV, ARGV[i]) end
a = a + nCollected
for i = a, a + nForget - 1 do
  remove(ARGV[i])
  redis.call('ZREM', ADM, ARGV[i]); redis.call('ZREM', RSV, ARGV[i])
end
local stale = redis.call('ZRANGEBYSCORE', SEEN, '-inf', '(' .. fmt(now - P.g), 'LIMIT', 0, 500)
for _, id in ipairs(stale) do
  dropped = dropped + remove(id)
end
admitStep()
local box = redis.call('LRANGE', inbox(ME), 0, -1)
redis.call('DEL', inbox(ME))
local allowance = 0
if P.lim < 0 then
  allowance = -1
elseif redis.call('ZCARD', SEEN) == 0 and redis.call('ZCARD', ADM) == 0 then
  local live = math.max(1, redis.call('ZCARD', LIVE))
  allowance = math.max(0, math.min(math.ceil(P.lim / live), P.lim - liveLoad(ME)))
end
if allowance > ALLOW then redis.call('HSET', LOAD, ME, math.max(INFLIGHT, allowance)) end
return { { allowance }, common(allowance), MINE, box }
`;

/** A held client's hold ran out: the grace starts now. ARGV from 9: ids. Returns a position per id, -1 for admitted, 0 for gone. */
export const UNPIN_LUA = `${PRELUDE}
local out = {}
for i = 9, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', HOLD, id) == ME then redis.call('HDEL', HOLD, id) end
  if redis.call('ZSCORE', SEEN, id) then
    redis.call('ZADD', SEEN, now, id)
    out[#out + 1] = position(id)
  elseif redis.call('ZSCORE', ADM, id) then
    out[#out + 1] = -1
  else
    out[#out + 1] = 0
  end
end
return { out, common(ALLOW) }
`;

/** Clients gone for good (the socket closed): their places go at once. ARGV from 9: ids. */
export const LEAVE_LUA = `${PRELUDE}
local n = 0
for i = 9, #ARGV do
  n = n + remove(ARGV[i])
  redis.call('ZREM', ADM, ARGV[i]); redis.call('ZREM', RSV, ARGV[i])
end
return { { n }, common(ALLOW) }
`;

/** Positions of waiting ids, without touching them. ARGV from 9: ids. 0 for not waiting, -1 for admitted. */
export const POSITIONS_LUA = `${PRELUDE}
local out = {}
for i = 9, #ARGV do
  local p = position(ARGV[i])
  if p == 0 and redis.call('ZSCORE', ADM, ARGV[i]) then p = -1 end
  out[#out + 1] = p
end
return { out, common(ALLOW) }
`;

/** Waiters per tenant and class, for the admin status; read only. KEYS[1]: the key base. Returns tenant, critical, normal, bulk, ... */
export const COUNTS_LUA = `
local B = KEYS[1]
local out = {}
for _, t in ipairs(redis.call('LRANGE', B .. 'ring', 0, -1)) do
  out[#out + 1] = t
  for ci = 0, 2 do out[#out + 1] = redis.call('ZCARD', B .. 'l' .. ci .. ':' .. t) end
end
return out
`;
