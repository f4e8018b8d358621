/**
 * The Lua scripts of the Redis token store. Redis runs each one atomically, so a check and the write
 * it guards cannot be separated by another client. Each can run twice (a call retried after its
 * answer was lost) with the effect of running once.
 *
 * The login is a hash at the login key: `rev` (a random revision, new at every write) and `login`
 * (the token file's JSON, or its AES-256-GCM encryption). The lock is a string at `<key>:lock`
 * holding its owner (random, with host and pid for messages), with a time to live.
 */

/**
 * KEYS: login. ARGV: max bytes. → `{'none'}`, `{'type', type}` (not a hash), `{'large', bytes}`,
 * or `{'ok', rev, login}`.
 */
export const LOAD = `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return {'none'} end
if kind ~= 'hash' then return {'type', kind} end
local size = redis.call('HSTRLEN', KEYS[1], 'login')
if size > tonumber(ARGV[1]) then return {'large', tostring(size)} end
return {'ok', redis.call('HGET', KEYS[1], 'rev') or '', redis.call('HGET', KEYS[1], 'login') or ''}
`;

/** KEYS: login. ARGV: rev, login. Writes unless the key holds something other than a hash → 1, or `{'type', type}`. */
export const SAVE = `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'hash' then return {'type', kind} end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'login', ARGV[2])
return 1
`;

/**
 * The compare-and-swap of a prepared save. KEYS: login. ARGV: expected rev ('' for none), new rev,
 * login. → 1 written (or written already, by this same commit), 0 the login changed since it was
 * prepared: nothing written.
 */
export const COMMIT = `
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'hash' then return 0 end
local rev = redis.call('HGET', KEYS[1], 'rev') or ''
if rev == ARGV[2] then return 1 end
if rev ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'login', ARGV[3])
return 1
`;

/**
 * Takes the lock: `SET lock owner NX PX ttl`. KEYS: lock. ARGV: owner, ttl ms. → 1 held (also when
 * it was ours already: a retried attempt), else `{holder, ms left}`.
 */
export const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return {holder or '', redis.call('PTTL', KEYS[1])}
`;

/** Keeps the lock alive. KEYS: lock. ARGV: owner, ttl ms. Never shortens it. → 1 still ours, 0 lost. */
export const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/** Compare and delete. KEYS: lock. ARGV: owner. → 1 released, 0 not ours (expired, taken over). */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * The last check before a refresh token is spent (`prepareSave` under the lock). KEYS: lock, login.
 * ARGV: owner, lease ms, rev read under the lock ('*' for any). If the lock is still ours and the
 * login unchanged, the lock is made to last `lease ms` (a holder that pauses after sending its
 * refresh token is waited for, not raced) → `{'ok', rev}`; else `{'lost'}` or `{'changed'}`.
 */
export const GATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'lost'} end
local kind = redis.call('TYPE', KEYS[2])['ok']
local rev = ''
if kind == 'hash' then rev = redis.call('HGET', KEYS[2], 'rev') or '' end
if ARGV[3] ~= '*' and rev ~= ARGV[3] then return {'changed'} end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {'ok', rev}
`;

/** `EVAL` arguments for `script` on `keys` with `args`. */
export function evalArgs(script: string, keys: readonly string[], args: readonly (string | number)[]): string[] {
  return ['EVAL', script, String(keys.length), ...keys, ...args.map(String)];
}
