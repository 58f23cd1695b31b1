/**
 * The Lua scripts: every change of the registry and of the pairs happens in one of them,
 * atomically, and the script itself publishes the notices that tell each node what
 * changed (to the node's inbox channel). A node changes its pairing state only from its
 * inbox, so a `pair` notice reaches a node before any line relayed under that pair.
 *
 * Every script takes the same keys, all under the hash tag `{name}`:
 * `own` (HASH uco → `node|conn|gen`), `peer` (HASH uco → `pid|peerUco`, symmetric),
 * `free` (SET of registered, unpaired clients), `nodes` (ZSET node → lease expiry, Redis
 * TIME in ms), `seq` (counter for gens and pids), `leader` (the node that runs epochs,
 * with a TTL), `epoch` (HASH: `n`, `at` = Redis TIME of its start), `epair` (SET of the
 * clients paired since the current epoch began: an epoch commit leaves them alone),
 * `byn:<node>` (SET of the ucos registered through that node: the reaper's work list).
 * `ARGV[1]` is the inbox channel prefix, `ARGV[2]` a node id.
 *
 * Inbox notices (text, `|`-separated; a uco is always last, so it may contain `|`):
 * - `P|conn|gen|pid|peerNode|peerConn|kind|peerUco`: the client is paired with a remote client;
 * - `L|connA|genA|connB|genB|pid|kind`: two clients of this node are paired;
 * - `U|conn|gen|pid|reason`: the pair `pid` ended (a local peer is unpaired with it);
 * - `K|conn|gen`: the registration was taken over elsewhere (`new session`);
 * - `E|n|clients`: epoch `n` began (its pairs follow as `P`/`L` notices of kind `epoch`).
 *
 * @module
 */

/** Names of the scripts. */
export type ScriptName =
  | 'register'
  | 'join'
  | 'leave'
  | 'choose'
  | 'unpair'
  | 'beat'
  | 'reap'
  | 'reclaim'
  | 'detach'
  | 'epochBegin'
  | 'epochCommit'
  | 'epochFinish';

const PRELUDE = `
local OWN, PEER, FREE, NODES, SEQ, LEADER, EPOCH, EPAIR, BYN = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local CH, ME = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function split(s)
  local r = {}
  for p in string.gmatch(s, '[^|]+') do r[#r + 1] = p end
  return r
end
local function row(u)
  local s = redis.call('HGET', OWN, u)
  if not s then return nil end
  return split(s)
end
local function alive(node)
  local s = redis.call('ZSCORE', NODES, node)
  return s and tonumber(s) >= NOW
end
local function link(a, ar, b, br, kind)
  local pid = redis.call('INCR', SEQ)
  redis.call('HSET', PEER, a, pid .. '|' .. b, b, pid .. '|' .. a)
  redis.call('SREM', FREE, a, b)
  redis.call('SADD', EPAIR, a, b)
  if ar[1] == br[1] then
    redis.call('PUBLISH', CH .. ar[1], table.concat({'L', ar[2], ar[3], br[2], br[3], pid, kind}, '|'))
  else
    redis.call('PUBLISH', CH .. ar[1], table.concat({'P', ar[2], ar[3], pid, br[1], br[2], kind, b}, '|'))
    redis.call('PUBLISH', CH .. br[1], table.concat({'P', br[2], br[3], pid, ar[1], ar[2], kind, a}, '|'))
  end
  return pid
end
-- u is registered (row ur) and unpaired: pair it with a free client, or make it free.
local function tryPair(u, ur)
  for i = 1, 16 do
    local p = redis.call('SPOP', FREE)
    if not p then break end
    if p ~= u and redis.call('HEXISTS', PEER, p) == 0 then
      local pr = row(p)
      if pr and alive(pr[1]) then
        link(u, ur, p, pr, 'immediate')
        return true
      end
    end
  end
  redis.call('SADD', FREE, u)
  return false
end
-- u's pair ends (ur: u's row, or nil when u is gone): both nodes are told. Returns the
-- former peer and its row.
local function dissolve(u, reason, ur)
  local s = redis.call('HGET', PEER, u)
  if not s then return nil, nil end
  local i = string.find(s, '|', 1, true)
  local pid, p = string.sub(s, 1, i - 1), string.sub(s, i + 1)
  redis.call('HDEL', PEER, u, p)
  local pr = row(p)
  if ur then redis.call('PUBLISH', CH .. ur[1], table.concat({'U', ur[2], ur[3], pid, reason}, '|')) end
  if pr and not (ur and pr[1] == ur[1]) then
    redis.call('PUBLISH', CH .. pr[1], table.concat({'U', pr[2], pr[3], pid, reason}, '|'))
  end
  return p, pr
end
-- The freed peer p of a pair is paired again at once (or becomes free).
local function rejoin(p, pr)
  if p and pr and alive(pr[1]) and redis.call('HEXISTS', PEER, p) == 0 then tryPair(p, pr) end
end
`;

const BODIES: Record<ScriptName, string> = {
  // ARGV: 3 conn, 4 uco, 5 maxClients. Returns {-1} (lease lapsed), {0} (server full)
  // or {1, gen, holderNode, holderConn, holderGen} (holder fields empty without takeover).
  register: `
local conn, u, max = ARGV[3], ARGV[4], tonumber(ARGV[5])
if not alive(ME) then return {-1} end
local hr = row(u)
if not hr and redis.call('HLEN', OWN) >= max then return {0} end
local p, pr
if hr then
  p, pr = dissolve(u, 'new session', hr)
  redis.call('SREM', FREE, u)
  redis.call('PUBLISH', CH .. hr[1], table.concat({'K', hr[2], hr[3]}, '|'))
end
local gen = redis.call('INCR', SEQ)
redis.call('HSET', OWN, u, ME .. '|' .. conn .. '|' .. gen)
redis.call('SADD', BYN, u)
rejoin(p, pr)
if hr then return {1, gen, hr[1], hr[2], hr[3]} end
return {1, gen, '', '', ''}
`,
  // ARGV: 3.. triples (uco, conn, gen): each registered, unpaired, not yet free client
  // is paired with a free client or becomes free.
  join: `
if not alive(ME) then return 0 end
local n = 0
for i = 3, #ARGV, 3 do
  local u = ARGV[i]
  local expect = ME .. '|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2]
  if redis.call('HGET', OWN, u) == expect and redis.call('HEXISTS', PEER, u) == 0 and redis.call('SISMEMBER', FREE, u) == 0 then
    if tryPair(u, split(expect)) then n = n + 1 end
  end
end
return n
`,
  // ARGV: 3 conn, 4 gen, 5 uco, 6 reason. Fenced: only this exact registration leaves.
  leave: `
local conn, gen, u, reason = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', OWN, u)
if cur ~= ME .. '|' .. conn .. '|' .. gen then
  -- A newer registration of u through this node keeps it on the reaper's list.
  if not cur or split(cur)[1] ~= ME then redis.call('SREM', BYN, u) end
  return 0
end
redis.call('HDEL', OWN, u)
redis.call('SREM', FREE, u)
redis.call('SREM', BYN, u)
local p, pr = dissolve(u, reason, split(cur))
rejoin(p, pr)
return 1
`,
  // ARGV: 3 ucoA, 4 connA, 5 genA, 6 ucoB, 7 connB, 8 genB: pairs a with b whatever
  // their pairs were (their former peers are paired again at once).
  choose: `
local a, b = ARGV[3], ARGV[6]
local ar, br = row(a), row(b)
if not ar or not br or ar[1] ~= ME or ar[2] ~= ARGV[4] or ar[3] ~= ARGV[5] or br[1] ~= ME or br[2] ~= ARGV[7] or br[3] ~= ARGV[8] then return 0 end
local cur = redis.call('HGET', PEER, a)
if cur and string.sub(cur, string.find(cur, '|', 1, true) + 1) == b then return 1 end
local p, pr = dissolve(a, 'repaired', ar)
local q, qr = dissolve(b, 'repaired', br)
link(a, ar, b, br, 'chosen')
if p ~= b then rejoin(p, pr) end
if q ~= a then rejoin(q, qr) end
return 1
`,
  // ARGV: 3 conn, 4 gen, 5 uco, 6 pid. Fenced by the registration and the pair: u's pair
  // ends (both nodes are told, with reason 'repaired') and both sides are paired again at
  // once. For a pair Redis holds that the node's view does not (reconcile, reclaim).
  unpair: `
local u = ARGV[5]
local ur = row(u)
if not ur or ur[1] ~= ME or ur[2] ~= ARGV[3] or ur[3] ~= ARGV[4] then return 0 end
local cur = redis.call('HGET', PEER, u)
if not cur or string.sub(cur, 1, string.find(cur, '|', 1, true) - 1) ~= ARGV[6] then return 0 end
local p, pr = dissolve(u, 'repaired', ur)
tryPair(u, ur)
rejoin(p, pr)
return 1
`,
  // ARGV: 3 ttlMs, 4 graceMs, 5 first ('1' on the first beat), 6 epochMs. Renews the
  // lease; takes or renews the leadership (TTL = ttlMs). Returns {lapsed, clients,
  // pairs, nodes, leader, epoch, ms until the next epoch, dead nodes...}.
  beat: `
local old = redis.call('ZSCORE', NODES, ME)
local lapsed = 0
if ARGV[5] ~= '1' and ((not old) or tonumber(old) < NOW) then lapsed = 1 end
redis.call('ZADD', NODES, NOW + tonumber(ARGV[3]), ME)
local leader = redis.call('GET', LEADER)
if not leader then
  redis.call('SET', LEADER, ME, 'PX', ARGV[3])
  leader = ME
elseif leader == ME then
  redis.call('PEXPIRE', LEADER, ARGV[3])
end
local at = tonumber(redis.call('HGET', EPOCH, 'at'))
if not at then
  at = NOW
  redis.call('HSET', EPOCH, 'at', at, 'n', 0)
end
local n = tonumber(redis.call('HGET', EPOCH, 'n'))
local out = {lapsed, redis.call('HLEN', OWN), redis.call('HLEN', PEER) / 2, redis.call('ZCARD', NODES), leader, n, at + tonumber(ARGV[6]) - NOW}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', NODES, '-inf', '(' .. (NOW - tonumber(ARGV[4])))) do out[#out + 1] = n end
return out
`,
  // ARGV: 2 the dead node, 3 graceMs, 4 '1' to reap even a live lease (self-detach).
  // Frees a chunk of the node's clients (their peers are paired again at once).
  // Returns -1 (not dead), 1 (more to do) or 0 (done: the node is forgotten).
  reap: `
local s = redis.call('ZSCORE', NODES, ME)
if ARGV[4] ~= '1' and s and tonumber(s) + tonumber(ARGV[3]) > NOW then return -1 end
for _, u in ipairs(redis.call('SPOP', BYN, 200)) do
  local r = row(u)
  if r and r[1] == ME then
    redis.call('HDEL', OWN, u)
    redis.call('SREM', FREE, u)
    local p, pr = dissolve(u, 'transport closed', r)
    rejoin(p, pr)
  end
end
if redis.call('SCARD', BYN) == 0 then
  redis.call('ZREM', NODES, ME)
  return 0
end
return 1
`,
  // After this node's lease lapsed (Redis restarted empty, paused, or this node was
  // reaped): its clients take their registrations back. ARGV: 3 the highest gen or pid
  // the node holds (the counter is raised to it, so fences stay monotonic after a Redis
  // restart), then quadruples (uco, conn, gen, local peer's uco: '' unless paired with
  // another client of this node, whose quadruple is in the same call). A row still held
  // is kept (status 1); an absent row is written back (status 2; maxClients does not
  // apply: these clients were admitted); a row of a newer registration wins (status 0:
  // the client is closed with 'new session'). A local pair whose two sides came back is
  // restored under a new pid. Returns {-1} (lease not held), or the statuses in order,
  // then (uco, pid) for each restored pair.
  reclaim: `
if not alive(ME) then return {-1} end
if tonumber(redis.call('GET', SEQ) or '0') < tonumber(ARGV[3]) then redis.call('SET', SEQ, ARGV[3]) end
local out, back = {}, {}
for i = 4, #ARGV, 4 do
  local u = ARGV[i]
  local mine = ME .. '|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2]
  local cur = redis.call('HGET', OWN, u)
  if cur == mine then
    out[#out + 1] = 1
  elseif cur then
    out[#out + 1] = 0
  else
    redis.call('HSET', OWN, u, mine)
    redis.call('SADD', BYN, u)
    -- A pair left without its row (never after a reap or a restart) ends: both sides are told.
    local p, pr = dissolve(u, 'repaired', split(mine))
    rejoin(p, pr)
    back[u] = true
    out[#out + 1] = 2
  end
end
for i = 4, #ARGV, 4 do
  local a, b = ARGV[i], ARGV[i + 3]
  if b ~= '' and a < b and back[a] and back[b] and redis.call('HEXISTS', PEER, a) == 0 and redis.call('HEXISTS', PEER, b) == 0 then
    local pid = redis.call('INCR', SEQ)
    redis.call('HSET', PEER, a, pid .. '|' .. b, b, pid .. '|' .. a)
    redis.call('SREM', FREE, a, b)
    out[#out + 1] = a
    out[#out + 1] = pid
  end
end
return out
`,
  // ARGV: 3 epochMs, 4 '1' to start one now. Fenced by the leadership: begins epoch n+1
  // when due. Returns {n, Redis TIME} or {0} (not the leader, or not due).
  epochBegin: `
if redis.call('GET', LEADER) ~= ME then return {0} end
local at = tonumber(redis.call('HGET', EPOCH, 'at') or 0)
if ARGV[4] ~= '1' and at + tonumber(ARGV[3]) > NOW then return {0} end
local n = redis.call('HINCRBY', EPOCH, 'n', 1)
redis.call('HSET', EPOCH, 'at', NOW)
redis.call('UNLINK', EPAIR) -- freed in the background: O(1) here at any size
return {n, NOW}
`,
  // ARGV: 3 n, 4 clients ('' after the first chunk), then quadruples (a, ownA, b, ownB)
  // planned from a snapshot. Fenced by the leadership and the epoch number. Each pair
  // whose rows are unchanged, on live nodes, and not paired since the boundary, replaces
  // both sides' pairs. Returns the valid sides of the pairs that could not be made.
  epochCommit: `
if redis.call('GET', LEADER) ~= ME or tonumber(redis.call('HGET', EPOCH, 'n')) ~= tonumber(ARGV[3]) then return {-1} end
if ARGV[4] ~= '' then
  for _, node in ipairs(redis.call('ZRANGEBYSCORE', NODES, NOW, '+inf')) do
    redis.call('PUBLISH', CH .. node, 'E|' .. ARGV[3] .. '|' .. ARGV[4])
  end
end
local function valid(u, expect)
  local s = redis.call('HGET', OWN, u)
  if s ~= expect or redis.call('SISMEMBER', EPAIR, u) == 1 then return nil end
  local r = split(s)
  if not alive(r[1]) then return nil end
  return r
end
local left = {}
for i = 5, #ARGV, 4 do
  local a, b = ARGV[i], ARGV[i + 2]
  local ar, br = valid(a, ARGV[i + 1]), valid(b, ARGV[i + 3])
  if ar and br then
    dissolve(a, 'epoch', ar)
    dissolve(b, 'epoch', br)
    link(a, ar, b, br, 'epoch')
  elseif ar then left[#left + 1] = a
  elseif br then left[#left + 1] = b end
end
return left
`,
  // ARGV: 3 n, then ucos left out of the epoch's pairs (the odd one, the leftovers):
  // each still registered and not paired since the boundary leaves its old pair and is
  // paired with a free client, or becomes free (PROTOCOL §6).
  epochFinish: `
if redis.call('GET', LEADER) ~= ME or tonumber(redis.call('HGET', EPOCH, 'n')) ~= tonumber(ARGV[3]) then return -1 end
for i = 4, #ARGV do
  local u = ARGV[i]
  local r = row(u)
  if r and alive(r[1]) and redis.call('SISMEMBER', EPAIR, u) == 0 then
    local p, pr = dissolve(u, 'epoch', r)
    if redis.call('SISMEMBER', FREE, u) == 0 then tryPair(u, r) end
    rejoin(p, pr)
  end
end
return 0
`,
  // A stopping node: its lease ends now, so none of its clients is chosen any more.
  detach: `
if redis.call('ZSCORE', NODES, ME) then redis.call('ZADD', NODES, 0, ME) end
return 1
`,
};

/** The full source of each script. */
export const SCRIPTS: Readonly<Record<ScriptName, string>> = Object.freeze(
  Object.fromEntries(Object.entries(BODIES).map(([name, body]) => [name, PRELUDE + body])) as Record<ScriptName, string>,
);
