/**
 * `--store redis`: the built CLI, run as a child process on two "machines" (separate HOMEs) that share
 * a real Redis, with an ACL user and password so that `status` has a password to mask. login saves
 * there, status shows where (password masked), token and logout work on it, and a bad configuration
 * or a Redis that is down gets one plain line saying what to do. Without the `redis` package, the
 * CLI still works with the file store and says to install it for `--store redis`.
 */
import { cp, mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisTokenStore } from '../src/store/redis.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import type { OAuthTokens } from '../src/types.js';
import { type CliEnv, cliEnv, leakedIn, loginByPaste, runCli, secretsSeen } from './helpers/cli-run.js';
import { makeTempDir, nowSeconds } from './helpers/fixtures.js';
import { type RedisServer, startRedis } from './helpers/redis-server.js';

const PASSWORD = 'pw-7f3a-secret';
let redis: RedisServer;
let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let url: string;
/** Two machines: nothing shared but Redis. */
let envA: CliEnv;
let envB: CliEnv;
let store: RedisTokenStore;

beforeAll(async () => {
  redis = await startRedis({
    args: ['--user', 'alice', 'on', `>${PASSWORD}`, '~*', '+@all', '--user', 'default', 'off'],
  });
  url = `redis://alice:${PASSWORD}@127.0.0.1:${redis.port}`;
});
afterAll(() => redis.close());

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-redis-cli-');
  await mkdir(join(temp.dir, 'a'));
  await mkdir(join(temp.dir, 'b'));
  envA = cliEnv(join(temp.dir, 'a'), emu, { ANTHROPIC_OAUTH_REDIS_URL: url });
  envB = cliEnv(join(temp.dir, 'b'), emu, { ANTHROPIC_OAUTH_REDIS_URL: url });
  store = new RedisTokenStore({ url, key: 'anthropic-oauth:default' });
  await store.clear();
});
afterEach(async () => {
  await store.close();
  await emu.close();
  await temp.cleanup();
});

const shown = () => `redis://alice:****@127.0.0.1:${redis.port}/0 key anthropic-oauth:default`;

describe('--store redis', () => {
  it('login saves to Redis; status shows where, password masked; token and logout work on it from another machine', async () => {
    const login = await loginByPaste(emu, ['--store', 'redis'], envA);
    expect(login.code).toBe(0);
    expect(login.stderr).toContain(`Login saved to ${shown()}`);
    const saved = await store.load();
    expect(saved).not.toBeNull();

    const status = await runCli(['status', '--store', 'redis'], envB);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Source:         Redis ${shown()}`);
    const json = JSON.parse((await runCli(['status', '--store', 'redis', '--json'], envB)).stdout);
    expect(json).toMatchObject({ logged_in: true, source: 'redis', redis: shown(), path: null });

    const token = await runCli(['token', '--store', 'redis'], envB);
    expect(token).toMatchObject({ code: 0, stdout: `${saved?.accessToken}\n` });

    const outputs = [login, status, token].map((r) => r.stdout + r.stderr).join('\n');
    expect(outputs).not.toContain(PASSWORD);
    expect(leakedIn(login.stderr + status.stdout, await secretsSeen(emu))).toEqual([]);
    // Nothing was kept on either machine.
    expect(await readdir(join(temp.dir, 'a'))).toEqual([]);
    expect(await readdir(join(temp.dir, 'b'))).toEqual([]);

    const logout = await runCli(['logout', '--store', 'redis'], envA);
    expect(logout).toMatchObject({ code: 0, stderr: `Logged out: removed ${shown()}\n` });
    expect(
      redis.cli('--user', 'alice', '--pass', PASSWORD, '--no-auth-warning', 'EXISTS', 'anthropic-oauth:default'),
    ).toBe('0');
    const after = await runCli(['status', '--store', 'redis'], envB);
    expect(after.code).toBe(3);
    expect(after.stdout).toContain(`Not logged in (no login in ${shown()})`);
  });

  it('token refreshes an expired login once for both machines', async () => {
    await loginByPaste(emu, ['--store', 'redis'], envA);
    const saved = await store.load();
    await store.save({ ...(saved as OAuthTokens), expiresAt: nowSeconds() - 1 });
    const [a, b] = await Promise.all([
      runCli(['token', '--store', 'redis'], envA),
      runCli(['token', '--store', 'redis'], envB),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toBe(b.stdout);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    expect((await store.load())?.accessToken).toBe(a.stdout.trim());
  });

  it('--profile picks the key; the encryption key variable keeps the login encrypted', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const env = { ...envA, ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY: key };
    expect((await loginByPaste(emu, ['--store', 'redis', '--profile', 'work'], env)).code).toBe(0);
    const raw = redis.cli(
      '--user',
      'alice',
      '--pass',
      PASSWORD,
      '--no-auth-warning',
      'HGET',
      'anthropic-oauth:work',
      'login',
    );
    expect(raw).toMatch(/^enc:aes-256-gcm:/);
    expect((await runCli(['token', '--store', 'redis', '--profile', 'work'], env)).code).toBe(0);
    const without = await runCli(['token', '--store', 'redis', '--profile', 'work'], envB);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(
      /^Error: The login in .* key anthropic-oauth:work is encrypted, and this store has no encryptionKey/,
    );
    const bad = await runCli(['status', '--store', 'redis'], {
      ...envA,
      ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY: 'short',
    });
    expect(bad.stderr).toMatch(/^Error: ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY must be 32 bytes/);
  });

  it('a login this machine cannot decrypt: the advice, followed as written, replaces it', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const saved = { ...envA, ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY: key };
    expect((await loginByPaste(emu, ['--store', 'redis', '--profile', 'work'], saved)).code).toBe(0);
    const other = { ...envB, ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') };
    const refused = await runCli(['token', '--store', 'redis', '--profile', 'work'], other);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('could not be decrypted');
    expect(refused.stderr).toContain(
      'run `npx anthropic-oauth logout --store redis`, then `npx anthropic-oauth login --store redis` (each with the `--profile` of this key, if it has one).',
    );
    // As written (with the profile): login alone refuses before the browser; logout, then login, works.
    const first = await runCli(['login', '--store', 'redis', '--profile', 'work', '--manual'], other);
    expect(first.code).toBe(1);
    const out = await runCli(['logout', '--store', 'redis', '--profile', 'work'], other);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/^Logged out: removed /);
    expect((await loginByPaste(emu, ['--store', 'redis', '--profile', 'work'], other)).code).toBe(0);
    expect((await runCli(['token', '--store', 'redis', '--profile', 'work'], other)).code).toBe(0);
  });

  it('a bad configuration or a Redis that is down: one plain line saying what to do, never the password', async () => {
    const cases: Array<[CliEnv, string[], number, RegExp]> = [
      [
        { ...envA, ANTHROPIC_OAUTH_REDIS_URL: '' },
        ['status'],
        1,
        /^Error: --store redis needs ANTHROPIC_OAUTH_REDIS_URL: /,
      ],
      [
        { ...envA, ANTHROPIC_OAUTH_REDIS_URL: `http://alice:${PASSWORD}@127.0.0.1:1` },
        ['token'],
        1,
        /^Error: ANTHROPIC_OAUTH_REDIS_URL is not a Redis URL \(it must start with redis:\/\/ or rediss:\/\/\)/,
      ],
      [
        { ...envA, ANTHROPIC_OAUTH_REDIS_URL: `redis://alice:${PASSWORD}@127.0.0.1:1` },
        ['status'],
        1,
        /^Error: Cannot reach Redis at redis:\/\/alice:\*\*\*\*@127\.0\.0\.1:1\/0 key anthropic-oauth:default \(connection refused\).* Start Redis, or check its address/,
      ],
      [
        { ...envA, ANTHROPIC_OAUTH_REDIS_URL: `redis://alice:wrong@127.0.0.1:${redis.port}` },
        ['logout'],
        1,
        /WRONGPASS/,
      ],
      [envA, ['status', '--storage', 'x.json'], 2, /--storage is a token file: it has no use with --store redis/],
    ];
    for (const [env, args, code, message] of cases) {
      const result = await runCli([...args, '--store', 'redis'], env);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain(PASSWORD);
      if (code === 1) expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('documents --store redis and its variables in --help', async () => {
    const help = (await runCli(['--help'], envA)).stdout;
    expect(help).toContain('--store file|keychain|redis');
    expect(help).toContain('ANTHROPIC_OAUTH_REDIS_URL');
    expect(help).toContain('ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY');
  });
});

describe('the CLI without the redis package', () => {
  it('works with the file store, and --store redis says to install the package', async () => {
    const pkg = join(temp.dir, 'project', 'node_modules', 'anthropic-oauth');
    await mkdir(join(temp.dir, 'project', 'node_modules', '@anthropic-ai'), { recursive: true });
    await cp(resolve('package.json'), join(pkg, 'package.json'));
    await cp(resolve('dist'), join(pkg, 'dist'), { recursive: true });
    for (const dep of ['@anthropic-ai/sdk', 'open', 'proper-lockfile']) {
      await symlink(resolve('node_modules', dep), join(temp.dir, 'project', 'node_modules', dep));
    }
    const { bin } = JSON.parse(await readFile(resolve('package.json'), 'utf8')) as { bin: Record<string, string> };
    const cli = join(pkg, bin['anthropic-oauth'] ?? 'dist/cli.cjs');
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        const child = execFile(process.execPath, [cli, ...args], { env: envA }, (error, stdout, stderr) =>
          done({ code: error ? (child.exitCode ?? 1) : 0, stdout, stderr }),
        );
      });
    const file = await run(['status']);
    expect(file.code).toBe(3); // not logged in: the file store needs no Redis
    const redisStore = await run(['status', '--store', 'redis']);
    expect(redisStore.code).toBe(1);
    expect(redisStore.stderr).toMatch(
      /needs the `redis` package \(node-redis\), which is not installed\. Run `npm install redis`/,
    );
  });
});
