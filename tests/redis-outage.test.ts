/**
 * RedisTokenStore when Redis is not there: stopped (a still-valid token is served; a refresh that is
 * due fails with `store_unavailable` saying what to do, and nothing is spent), restarted (its
 * append-only file keeps the login, even after a crash), gone between a refresh and its save (the
 * renewed login is kept and written when Redis is back), refusing our password, or the `redis`
 * package not installed.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenStorageError } from '../src/errors.js';
import { createTokenSource } from '../src/provider.js';
import { RedisTokenStore } from '../src/store/redis.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { makeTempDir, nowSeconds, rejectionOf, tokenRequests, tokensOf } from './helpers/fixtures.js';
import { gatedFetch } from './helpers/hostile.js';
import { fakeTokens } from './helpers/keychain.js';
import { type RedisServer, startRedis } from './helpers/redis-server.js';

const run = promisify(execFile);
let redis: RedisServer;
let emu: Emulator;
const opened: RedisTokenStore[] = [];

beforeEach(async () => {
  redis = await startRedis();
  emu = await startEmulator();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  await redis.close();
  await emu.close();
});

function open(timeoutMs = 500): RedisTokenStore {
  const store = new RedisTokenStore({ url: redis.url, key: 'anthropic-oauth:default', timeoutMs });
  opened.push(store);
  return store;
}

const rejection = (promise: Promise<unknown>) => rejectionOf(TokenStorageError, promise);

describe('Redis stopped', () => {
  it('a still-valid token is served; once a refresh is due, store_unavailable says what to do; nothing is spent', async () => {
    const issued = emu.issueTokens();
    // Inside the 300 s refresh buffer, still valid for 100 s.
    const login = tokensOf(issued, { expiresAt: nowSeconds() + 100, expiresIn: 3600 });
    const store = open();
    await store.save(login);
    let shift = -1000;
    const source = createTokenSource({
      tokenStorage: store,
      oauthConfig: emu.oauthConfig,
      env: {},
      now: () => nowSeconds() + shift,
    });
    expect((await source.getTokens()).accessToken).toBe(issued.accessToken); // read while Redis runs
    await redis.stop();
    shift = 0;
    expect((await source.getTokens()).accessToken).toBe(issued.accessToken);
    shift = 200; // expired
    const error = await rejection(source.getTokens());
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain(
      `Cannot reach Redis at redis://127.0.0.1:${redis.port}/0 key anthropic-oauth:default`,
    );
    expect(error.message).toContain('(connection refused)');
    expect(error.message).toContain('Start Redis, or check its address (ANTHROPIC_OAUTH_REDIS_URL');
    expect(error.message).not.toMatch(/delete|remove/i);
    expect(tokenRequests(emu)).toHaveLength(0);
    // Back up: the login is there, its refresh token unspent, and the next call renews it.
    await redis.start();
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
    const renewed = await source.getTokens();
    expect(renewed.accessToken).not.toBe(issued.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    expect((await open().load())?.accessToken).toBe(renewed.accessToken);
  });

  it('load() fails within its time bound, as store_unavailable, and changes nothing', async () => {
    const store = open(800);
    await store.save(fakeTokens());
    await redis.stop();
    const error = await rejection(store.load());
    // It gives up (node-redis alone would wait for a reconnection for ever, and the test would time
    // out), saying why.
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain('(connection refused)');
    await redis.start();
    await expect(open().load()).resolves.not.toBeNull();
  });
});

describe('Redis restarted', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'by %s: the login is still there (append-only file, fsync always)',
    async (signal) => {
      const tokens = fakeTokens();
      await open().save(tokens);
      await redis.stop(signal);
      await redis.start();
      await expect(open().load()).resolves.toEqual(tokens);
    },
  );
});

describe('Redis gone between the refresh and its save', () => {
  it('the renewed login is kept in the process (saved_elsewhere, naming Redis), served, and written once Redis is back', async () => {
    const issued = emu.issueTokens();
    const store = open();
    await store.save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    const gate = gatedFetch(async () => {
      await redis.stop('SIGKILL');
    });
    gate.release();
    const source = createTokenSource({ tokenStorage: store, oauthConfig: emu.oauthConfig, env: {}, fetch: gate.fetch });
    const error = await rejection(source.getTokens());
    expect(error.code).toBe('saved_elsewhere');
    expect(error.message).toContain('keeps the renewed login in memory');
    expect(error.message).toContain(`redis://127.0.0.1:${redis.port}/0 key anthropic-oauth:default`);
    expect(error.message).not.toMatch(/try again/i);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);
    const renewed = await source.getTokens();
    expect(emu.isRefreshTokenLive(renewed.refreshToken)).toBe(true);
    await expect(store.load()).resolves.toEqual(renewed); // where load() finds it
    await redis.start();
    const deadline = Date.now() + 5_000;
    while (!redis.cli('HGET', 'anthropic-oauth:default', 'login').includes(renewed.accessToken)) {
      if (Date.now() > deadline) throw new Error('the renewed login was not written back');
      await new Promise((r) => setTimeout(r, 50));
    }
    await expect(open().load()).resolves.toEqual(renewed);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  });
});

describe('Redis refusing us', () => {
  it('a wrong password: store_unavailable at once, naming the user, never the password', async () => {
    await redis.close();
    redis = await startRedis({
      args: ['--user', 'alice', 'on', '>right-pw', '~*', '+@all', '--user', 'default', 'off'],
    });
    const store = new RedisTokenStore({ url: `redis://alice:wrong-pw@127.0.0.1:${redis.port}`, timeoutMs: 2_000 });
    opened.push(store);
    const error = await rejection(store.load());
    expect(error.code).toBe('store_unavailable');
    expect(error.message).toContain('WRONGPASS');
    expect(error.message).toContain('redis://alice:****@');
    expect(`${error.message}${error.stack}`).not.toContain('wrong-pw');
    const right = new RedisTokenStore({ url: `redis://alice:right-pw@127.0.0.1:${redis.port}` });
    opened.push(right);
    await expect(right.load()).resolves.toBeNull();
  });
});

describe('the redis package not installed', () => {
  it('the built store says to install it, from ESM and CommonJS', async () => {
    // A project with the built package and the SDK, and no `redis`.
    const temp = await makeTempDir();
    try {
      const pkg = join(temp.dir, 'node_modules', 'anthropic-oauth');
      await mkdir(join(temp.dir, 'node_modules', '@anthropic-ai'), { recursive: true });
      await cp(resolve('package.json'), join(pkg, 'package.json'));
      await cp(resolve('dist'), join(pkg, 'dist'), { recursive: true });
      await symlink(resolve('node_modules/@anthropic-ai/sdk'), join(temp.dir, 'node_modules', '@anthropic-ai', 'sdk'));
      const body = `const s = new RedisTokenStore({ url: 'redis://127.0.0.1:${redis.port}' });
        s.load().then(() => console.log('loaded'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message, ours: e instanceof TokenStorageError })));`;
      const esm = `import { RedisTokenStore } from 'anthropic-oauth/redis'; import { TokenStorageError } from 'anthropic-oauth'; ${body}`;
      const cjs = `const { RedisTokenStore } = require('anthropic-oauth/redis'); const { TokenStorageError } = require('anthropic-oauth'); ${body}`;
      for (const args of [
        ['--input-type=module', '-e', esm],
        ['-e', cjs],
      ]) {
        const { stdout } = await run(process.execPath, args, { cwd: temp.dir });
        expect(JSON.parse(stdout)).toEqual({
          code: 'store_unavailable',
          message: expect.stringContaining(
            'needs the `redis` package (node-redis), which is not installed. Run `npm install redis`',
          ),
          ours: true,
        });
      }
    } finally {
      await temp.cleanup();
    }
  });
});
