/**
 * RedisTokenStore on a real Redis (tests/helpers/redis-server.ts: Debian's redis-server on a random
 * loopback port): the TokenStore contract, what is stored and how it is shown, encryption, hostile
 * values in Redis, and the lock's guarantees across holders (a dead holder, a holder that lost its
 * lock before spending, a holder whose lock expired before it could commit).
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TokenStorageError } from '../src/errors.js';
import { createTokenSource } from '../src/provider.js';
import { RedisTokenStore, type RedisTokenStoreOptions } from '../src/store/redis.js';
import type { OAuthTokens } from '../src/types.js';
import { rejectionOf, snapshotEnv } from './helpers/fixtures.js';
import { fakeTokens } from './helpers/keychain.js';
import { type RedisServer, startRedis } from './helpers/redis-server.js';
import { storeContract } from './helpers/store-contract.js';

let redis: RedisServer;
const opened: RedisTokenStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

const uniqueKey = () => `test:${randomBytes(6).toString('hex')}`;

function open(options: RedisTokenStoreOptions = {}): RedisTokenStore {
  const store = new RedisTokenStore({ url: redis.url, ...options });
  opened.push(store);
  return store;
}

const rejection = (promise: Promise<unknown>) => rejectionOf(TokenStorageError, promise);

storeContract('RedisTokenStore', { lock: true, prepareSave: true, saveSync: false }, async () => {
  const key = uniqueKey();
  return { open: () => open({ key }) };
});

describe('what is stored, and where', () => {
  it('a hash at anthropic-oauth:<profile> with a revision and the token file JSON, nothing else', async () => {
    const restore = snapshotEnv();
    try {
      delete process.env.ANTHROPIC_OAUTH_PROFILE;
      const store = open();
      expect(store.key).toBe('anthropic-oauth:default');
      expect(store.lockKey).toBe('anthropic-oauth:default:lock');
      expect(open({ profile: 'work' }).key).toBe('anthropic-oauth:work');
      process.env.ANTHROPIC_OAUTH_PROFILE = 'ci';
      expect(open().key).toBe('anthropic-oauth:ci');
      expect(() => open({ profile: '../x' })).toThrow(/profile name/i);
      const tokens = fakeTokens({ expiresIn: 3600 });
      await store.save(tokens);
      expect(redis.cli('HKEYS', store.key).split('\n').sort()).toEqual(['login', 'rev']);
      expect(JSON.parse(redis.cli('HGET', store.key, 'login'))).toMatchObject({
        type: 'oauth_token',
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken,
        expires_at: tokens.expiresAt,
      });
      expect(redis.cli('TTL', store.key)).toBe('-1'); // never expires by itself
      const rev = redis.cli('HGET', store.key, 'rev');
      await store.save(tokens);
      expect(redis.cli('HGET', store.key, 'rev')).not.toBe(rev); // a new revision at every write
      await store.clear();
      expect(redis.cli('EXISTS', store.key)).toBe('0');
    } finally {
      restore();
    }
  });

  it('shows where the login is with the password masked, in location, inspect and errors', async () => {
    const store = new RedisTokenStore({ url: 'redis://alice:s3cret-pw@127.0.0.1:1/2', key: 'k', timeoutMs: 2_000 });
    expect(store.location).toBe('redis://alice:****@127.0.0.1:1/2 key k');
    expect(inspect(store, { showHidden: true, depth: 8 })).not.toContain('s3cret');
    expect(JSON.stringify(store)).not.toContain('s3cret');
    const error = await rejection(store.load());
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain('redis://alice:****@127.0.0.1:1/2 key k');
    expect(error.message).toContain('connection refused');
    expect(error.message).toMatch(/Start Redis, or check its address \(ANTHROPIC_OAUTH_REDIS_URL/);
    expect(`${error.message}${error.stack}${JSON.stringify(error)}`).not.toContain('s3cret');
    expect(new RedisTokenStore({ url: 'rediss://cache.internal', key: 'k' }).location).toBe(
      'rediss://cache.internal:6379/0 key k',
    );
    // A password written where the user name goes is not shown either.
    expect(new RedisTokenStore({ url: 'redis://s3cret-pw@127.0.0.1:1', key: 'k' }).location).toBe(
      'redis://****@127.0.0.1:1/0 key k',
    );
  });

  it('a token source on an empty key says it is not logged in there', async () => {
    const store = open({ key: uniqueKey() });
    await expect(createTokenSource({ tokenStorage: store, env: {} }).getTokens()).rejects.toMatchObject({
      code: 'not_logged_in',
      message: expect.stringContaining(`no OAuth tokens in redis://127.0.0.1:${redis.port}/0 key ${store.key}.`),
    });
  });

  it.each([
    ['not a URL', 'not a url'],
    ['http://', 'http://127.0.0.1:6379'],
    ['a path that is not a database', 'redis://127.0.0.1:6379/zero'],
    ['a query', 'redis://127.0.0.1:6379/0?password=hunter2'],
    ['a password with a % that is no escape', 'redis://:hun%zzter2@127.0.0.1:6379'],
  ])('refuses %s at once, without quoting it', (_what, url) => {
    expect(() => new RedisTokenStore({ url })).toThrow(/is not a Redis URL .*redis:\/\/\[user:password@\]host/);
    try {
      new RedisTokenStore({ url });
    } catch (error) {
      expect((error as Error).message).not.toContain(url);
    }
  });
});

describe('a busy process', () => {
  it('a reply that arrived while the process was busy past the time bound is taken, not called a timeout', async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    const store = new RedisTokenStore({ client, key: uniqueKey(), timeoutMs: 150 });
    const tokens = fakeTokens();
    await open({ key: store.key }).save(tokens);
    // Redis holds every reply for 200 ms: the command goes out now, and its reply comes while the
    // process is busy (without the pause, how soon the client writes decides whether it is out yet).
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.sendCommand(['CLIENT', 'PAUSE', '200', 'ALL']);
    admin.destroy(); // not close(): its QUIT would wait out the pause
    const loading = store.load().finally(() => client.close());
    await new Promise((resolve) => setTimeout(resolve, 30)); // written, and held by Redis
    // Busy (synchronously) well past the bound, before the event loop reads the reply that has arrived.
    const until = performance.now() + 600;
    while (performance.now() < until) {}
    await expect(loading).resolves.toEqual(tokens);
  });
});

describe('a client of your own', () => {
  it('is used as it is, and left open when the store is closed', async () => {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const key = uniqueKey();
      const store = new RedisTokenStore({ client, key });
      const tokens = fakeTokens();
      await store.save(tokens);
      await expect(store.lock(async () => store.load())).resolves.toEqual(tokens);
      await store.close();
      expect(client.isReady).toBe(true);
      expect(await client.hGet(key, 'rev')).toMatch(/^[0-9a-f]{32}$/);
      expect(store.location).toBe(`the Redis client given key ${key}`);
      expect(() => new RedisTokenStore({ client, url: redis.url })).toThrow(/a url or a client, not both/);
    } finally {
      await client.close();
    }
  });

  it('not connected: store_unavailable saying to connect it', async () => {
    const client = createClient({ url: redis.url });
    const error = await rejection(new RedisTokenStore({ client, timeoutMs: 300 }).load());
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain(
      'the Redis client given to RedisTokenStore is not connected: call its connect() first',
    );
  });
});

describe('encryptionKey', () => {
  const key = randomBytes(32);

  it('keeps the tokens out of Redis; only a store with the same key reads them', async () => {
    const name = uniqueKey();
    const tokens = fakeTokens();
    const store = open({ key: name, encryptionKey: key });
    await store.save(tokens);
    const raw = redis.cli('HGET', name, 'login');
    expect(raw).toMatch(/^enc:aes-256-gcm:/);
    expect(raw).not.toContain(tokens.accessToken);
    expect(raw).not.toContain(tokens.refreshToken);
    expect(raw).not.toContain('oauth_token');
    await expect(open({ key: name, encryptionKey: key.toString('base64') }).load()).resolves.toEqual(tokens);
    await expect(open({ key: name, encryptionKey: key.toString('hex') }).load()).resolves.toEqual(tokens);

    const without = await rejection(open({ key: name }).load());
    expect(without).toMatchObject({ code: 'read_failed' });
    expect(without.message).toContain('is encrypted, and this store has no encryptionKey');
    const wrong = await rejection(open({ key: name, encryptionKey: randomBytes(32) }).load());
    expect(wrong.message).toContain('could not be decrypted');
    // A ciphertext copied to another key does not decrypt there (the key name is authenticated).
    const other = uniqueKey();
    redis.cli('HSET', other, 'rev', 'x', 'login', raw);
    await expect(open({ key: other, encryptionKey: key }).load()).rejects.toMatchObject({ code: 'read_failed' });
    // Nothing was changed by the failures.
    expect(redis.cli('HGET', name, 'login')).toBe(raw);
  });

  it('refuses a login planted in clear, and a key that is not 32 bytes', async () => {
    const name = uniqueKey();
    await open({ key: name }).save(fakeTokens());
    const error = await rejection(open({ key: name, encryptionKey: key }).load());
    expect(error.message).toContain('stored in clear');
    for (const bad of ['short', 'z'.repeat(64), randomBytes(16), randomBytes(33).toString('base64')]) {
      expect(() => new RedisTokenStore({ url: redis.url, encryptionKey: bad })).toThrow(/must be 32 bytes/);
    }
  });
});

describe('hostile values in Redis: a clear error naming the key, never the value, and nothing changed', () => {
  it.each([
    ['a string', (k: string) => redis.cli('SET', k, 'sk-ant-oat01-PLANTED'), /holds a string, not a login/],
    ['a list', (k: string) => redis.cli('RPUSH', k, 'sk-ant-oat01-PLANTED'), /holds a list, not a login/],
    [
      'a hash whose login is not JSON',
      (k: string) => redis.cli('HSET', k, 'login', 'sk-ant-oat01-PLANTED'),
      /not valid JSON/,
    ],
    ['an empty login', (k: string) => redis.cli('HSET', k, 'login', ''), /\(empty\)/],
    [
      'a login of the wrong shape',
      (k: string) => redis.cli('HSET', k, 'login', '{"access_token":12,"refresh_token":"sk-ant-ort01-PLANTED"}'),
      /not a valid login/,
    ],
  ])('%s', async (_what, plant, message) => {
    const name = uniqueKey();
    plant(name);
    const before = redis.cli('DUMP', name);
    const error = await rejection(open({ key: name }).load());
    expect(error.code).toBe('corrupt_file');
    expect(error.message).toMatch(message);
    expect(error.message).toContain(name);
    expect(error.message).not.toContain('PLANTED');
    expect(redis.cli('DUMP', name)).toBe(before);
  });

  it('a lock key of another type: lock_unavailable naming it, the key left alone', async () => {
    const store = open({ key: uniqueKey() });
    redis.cli('HSET', store.lockKey, 'a', 'b');
    let ran = false;
    const error = await rejection(
      store.lock(async () => {
        ran = true;
      }),
    );
    expect(ran).toBe(false);
    expect(error.code).toBe('lock_unavailable');
    expect(error.message).toContain(`The Redis key ${store.lockKey}`);
    expect(error.message).toContain(`\`DEL ${store.lockKey}\``);
    expect(redis.cli('HGET', store.lockKey, 'a')).toBe('b');
  });

  it('a login of 1 MiB is not read', async () => {
    const name = uniqueKey();
    redis.cli('EVAL', "redis.call('HSET', KEYS[1], 'login', string.rep('x', 1048576))", '1', name);
    const error = await rejection(open({ key: name }).load());
    expect(error).toMatchObject({ code: 'corrupt_file', message: expect.stringContaining('1048576 bytes') });
  });

  it('a save over a key of another type is refused, leaving it alone', async () => {
    const name = uniqueKey();
    redis.cli('SET', name, 'someone else');
    const error = await rejection(open({ key: name }).save(fakeTokens()));
    expect(error).toMatchObject({ code: 'write_failed', message: expect.stringContaining('holds a string') });
    expect(redis.cli('GET', name)).toBe('someone else');
  });
});

describe('the lock', () => {
  it('is SET NX PX with a random owner naming host and pid; released by its owner only', async () => {
    const store = open({ key: uniqueKey() });
    const seen = await store.lock(async () => ({
      owner: redis.cli('GET', store.lockKey),
      ttl: Number(redis.cli('PTTL', store.lockKey)),
    }));
    expect(seen.owner).toMatch(new RegExp(`^[0-9a-f]{24}:[^:]+:${process.pid}$`));
    expect(seen.ttl).toBeGreaterThan(3_000);
    expect(seen.ttl).toBeLessThanOrEqual(5_000);
    expect(redis.cli('EXISTS', store.lockKey)).toBe('0');
    // Held by someone else when fn ends (it expired and was taken): left alone.
    await store.lock(async () => {
      redis.cli('SET', store.lockKey, 'someone-else', 'PX', '60000');
    });
    expect(redis.cli('GET', store.lockKey)).toBe('someone-else');
  });

  it('is renewed while held, past its time to live', async () => {
    const store = open({ key: uniqueKey(), lockTtlMs: 1_500 });
    const other = open({ key: store.key, lockTtlMs: 1_500, lockWaitMs: 300 });
    const waited = await store.lock(async () => {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      return other.lock(async () => 'taken').catch((e: unknown) => e);
    });
    expect(waited).toMatchObject({ code: 'lock_timeout' });
  });

  it('a holder that died lets go when its time to live ends; a live one is named, never to be deleted', async () => {
    const store = open({ key: uniqueKey(), lockWaitMs: 500 });
    redis.cli('SET', store.lockKey, '0123456789abcdef01234567:buildbox-7:4242', 'PX', '60000');
    const error = await rejection(store.lock(async () => 'ran'));
    expect(error.code).toBe('lock_timeout');
    expect(error.message).toContain('A process on buildbox-7 (pid 4242) holds the lock');
    expect(error.message).toMatch(/lets go of it within 6\d s/);
    expect(error.message).not.toMatch(/delete|remove|DEL /i);
    redis.cli('PEXPIRE', store.lockKey, '300');
    await expect(open({ key: store.key }).lock(async () => 'ran')).resolves.toBe('ran');
  });

  it('lost before anything is spent (taken over meanwhile): nothing is sent, the lock is taken again and fn runs again', async () => {
    const store = open({ key: uniqueKey() });
    const other = open({ key: store.key });
    await store.save(fakeTokens());
    const newer = fakeTokens();
    let runs = 0;
    const result = await store.lock(async () => {
      runs++;
      const seen = await store.load();
      if (runs === 1) {
        // Paused past the lock's expiry: it ran out, another holder took it and saved newer tokens.
        redis.cli('DEL', store.lockKey);
        await other.lock(async () => other.save(newer));
      }
      const prepared = await store.prepareSave();
      await prepared.discard();
      return seen;
    });
    expect(runs).toBe(2);
    expect(result).toEqual(newer);
  });

  it('expired after the refresh token was spent: the commit is a compare-and-swap and never overwrites newer tokens', async () => {
    const store = open({ key: uniqueKey() });
    const other = open({ key: store.key });
    await store.save(fakeTokens());
    const newer = fakeTokens();
    const committed = await store.lock(async () => {
      await store.load();
      const prepared = await store.prepareSave();
      // The lock was made to last the refresh lease; here it ran out all the same (a long pause).
      expect(Number(redis.cli('PTTL', store.lockKey))).toBeGreaterThan(25_000);
      redis.cli('DEL', store.lockKey);
      await other.lock(async () => other.save(newer));
      return prepared.commit(fakeTokens());
    });
    expect(committed).toBe(false);
    await expect(store.load()).resolves.toEqual(newer);
  });

  it('a login changed under the lock by a writer that ignores it: the holder reads it again before spending', async () => {
    const store = open({ key: uniqueKey() });
    await store.save(fakeTokens());
    const planted: OAuthTokens = fakeTokens();
    let runs = 0;
    const seen = await store.lock(async () => {
      runs++;
      const stored = await store.load();
      if (runs === 1) await open({ key: store.key }).save(planted);
      await (await store.prepareSave()).discard();
      return stored;
    });
    expect(runs).toBe(2);
    expect(seen).toEqual(planted);
  });
});
