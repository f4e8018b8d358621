import { createHash } from 'node:crypto';
import { readdir, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OAuthTokens, TokenStorage } from '../src/index.js';
import { createTokenSource } from '../src/provider.js';
import { withFileLock } from '../src/store/lock.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { cliEnv, spawnCli } from './helpers/cli-run.js';
import { makeTempDir, tokensOf } from './helpers/fixtures.js';
import { gatedFetch } from './helpers/hostile.js';
import { startWorker, type WorkerResult, waitForLine, workerResults } from './helpers/worker-process.js';

const WORKER = join(import.meta.dirname, 'helpers', 'worker.mjs');
const TTL_SECONDS = 2;

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let tokenFile: string;
/** When the seeded login was issued (epoch ms). */
let seededAt: number;

beforeEach(async () => {
  emu = await startEmulator({ accessTokenTtl: TTL_SECONDS });
  temp = await makeTempDir();
  tokenFile = join(temp.dir, 'oauth_tokens.json');
  seededAt = Date.now();
  await new TokenStorage(tokenFile).save(tokensOf(emu.issueTokens()));
});
afterEach(async () => {
  await emu.close();
  await temp.cleanup();
});

const start = (args: string[]) => startWorker(WORKER, args);

async function runWorkers(count: number, durationMs: number): Promise<WorkerResult[]> {
  return workerResults(
    Array.from({ length: count }, () => start(['requests', emu.url, tokenFile, String(durationMs), '2'])),
  );
}

async function expectLoginIntact(): Promise<void> {
  const stored = await new TokenStorage(tokenFile).load();
  expect(stored).not.toBeNull();
  expect(emu.isRefreshTokenLive(stored?.refreshToken ?? '')).toBe(true);
  const leftovers = (await readdir(temp.dir)).filter((name) => name.endsWith('.tmp'));
  expect(leftovers).toEqual([]);
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex').slice(0, 16);

describe('8 processes sharing one token file', () => {
  it('never get invalid_grant or a failed request, and refresh only when the token is due', async () => {
    const results = await runWorkers(8, 15_000);
    const elapsedSeconds = (Date.now() - seededAt) / 1000;
    const stats = emu.stats();
    expect(results.map((r) => r.failed)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(stats.invalidGrant).toBe(0);
    // Every process got its requests through (how many is the machine's speed, not the library's).
    for (const result of results) expect(result.ok).toBeGreaterThan(0);
    // The seeded login expired during the run, so it was renewed, and the file holds the last renewal.
    expect(stats.refresh).toBeGreaterThanOrEqual(1);
    await expectLoginIntact();
    // A token is renewed only when it is within its refresh buffer (a quarter of its life), and a
    // token in the file that is not yet due is used as it is: so after the seeded login's renewal
    // (its expiry is rounded down to the second, so that one may come early), at most one renewal
    // per 3/4 of a token's life, whatever the load; one refresh per process per expiry would be 8
    // times that. (+1: the rounding at either end of the run.)
    expect(stats.refresh).toBeLessThanOrEqual(2 + Math.floor(elapsedSeconds / (TTL_SECONDS * 0.75)));
    // The process that made the last renewal saved it and ends on it: the file holds a login that a
    // process got, never one lost on the way.
    const stored = await new TokenStorage(tokenFile).load();
    expect(results.map((r) => r.finalRefreshToken)).toContain(digest(stored?.refreshToken ?? ''));
    const requests = results.reduce((n, r) => n + r.ok, 0);
    console.info(`multi-process: ${requests} requests, ${stats.refresh} refreshes, 0 invalid_grant, 0 failures`);
  }, 60_000);

  it('survive a process killed with SIGKILL while it holds the refresh lock', async () => {
    const holder = start(['hold-lock', emu.url, tokenFile]);
    await waitForLine(holder, 'locked');
    holder.kill('SIGKILL');
    await holder.output;
    const results = await runWorkers(4, 8_000);
    expect(results.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
    expect(emu.stats().invalidGrant).toBe(0);
    await expectLoginIntact();
  }, 60_000);

  it('survive a process killed with SIGKILL while it writes the token file', async () => {
    const before = await readFile(tokenFile, 'utf8');
    const writer = start(['rewrite', emu.url, tokenFile]);
    await waitForLine(writer, 'writing');
    await new Promise((resolve) => setTimeout(resolve, 300));
    writer.kill('SIGKILL');
    await writer.output;
    // The file is whole (the old login or an identical rewrite of it), never torn.
    expect(JSON.parse(await readFile(tokenFile, 'utf8'))).toEqual(JSON.parse(before));
    const results = await runWorkers(2, 4_000);
    expect(results.map((r) => r.failed)).toEqual([0, 0]);
    await expectLoginIntact();
  }, 60_000);
});

describe('a process that exits in the middle of a refresh', () => {
  it('keeps the login when it calls process.exit() while the rotated tokens are being saved', async () => {
    const storage = new TokenStorage(tokenFile);
    const before = (await storage.load()) as OAuthTokens;
    await storage.save({ ...before, expiresAt: Math.floor(Date.now() / 1000) - 60 });
    const child = start(['exit-mid-save', emu.url, tokenFile]);
    const output = await child.output;
    expect(output).toContain('exiting');
    expect(output).not.toContain('not reached');
    expect(emu.stats().refresh).toBe(1);
    // The refresh token the process started with is spent; the file holds its successor, still live.
    expect(emu.isRefreshTokenLive(before.refreshToken)).toBe(false);
    const after = await storage.load();
    expect(after?.refreshToken).not.toBe(before.refreshToken);
    await expectLoginIntact();
  }, 30_000);
});

describe('the lock, held by another process', () => {
  const lockDir = () => `${tokenFile}.lock`;
  const holdLock = async () => {
    const holder = start(['hold-lock', emu.url, tokenFile]);
    await waitForLine(holder, 'locked');
    return holder;
  };

  it('a live holder: lock_timeout names the process and never advises deleting the lock', async () => {
    const holder = await holdLock();
    try {
      let ran = false;
      const error = await withFileLock(
        tokenFile,
        async () => {
          ran = true;
        },
        undefined,
        { waitMs: 1_500 },
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TokenStorageError', code: 'lock_timeout' });
      const { message } = error as Error;
      expect(message).toContain(`Process ${holder.pid} holds the lock on ${tokenFile}`);
      expect(message).toContain('is still running');
      expect(message).not.toMatch(/delete|remove|rm /i);
      expect(ran).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await holder.output;
    }
  }, 30_000);

  it('a holder that died (SIGKILL) is taken over at once, even when the clock was set back (mtime in the future)', async () => {
    const holder = await holdLock();
    holder.kill('SIGKILL');
    await holder.output;
    const future = new Date(Date.now() + 3600_000);
    await utimes(lockDir(), future, future);
    // proper-lockfile alone would wait for that mtime to be 5 s old: an hour.
    await expect(new TokenStorage(tokenFile).lock(async () => 'ran')).resolves.toBe('ran');
    await expect(stat(lockDir())).rejects.toMatchObject({ code: 'ENOENT' });
  }, 30_000);

  it('a live holder whose lock looks stale (the clock set forward) is not taken over', async () => {
    const holder = await holdLock();
    try {
      const past = new Date(Date.now() - 3600_000);
      await utimes(lockDir(), past, past);
      let ran = false;
      const error = await withFileLock(
        tokenFile,
        async () => {
          ran = true;
        },
        undefined,
        { waitMs: 1_500 },
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'lock_timeout', message: expect.stringContaining(`Process ${holder.pid}`) });
      expect(ran).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await holder.output;
    }
  }, 30_000);

  it('a process killed while its token request is out: the next one takes the lock at once and refreshes; nothing is left behind', async () => {
    emu.faults.tokenHang(1);
    const first = start(['refresh', emu.url, tokenFile]);
    while (!emu.requests.some((r) => r.path === '/v1/oauth/token')) await new Promise((r) => setTimeout(r, 10));
    expect((await readdir(temp.dir)).filter((name) => name.endsWith('.tmp'))).toHaveLength(1); // its reserved save
    first.kill('SIGKILL');
    await first.output;
    const second = start(['refresh', emu.url, tokenFile]);
    expect(await second.output).toContain('"ok":true');
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    await expectLoginIntact();
    await expect(stat(lockDir())).rejects.toMatchObject({ code: 'ENOENT' });
  }, 30_000);
});

describe('login and logout while another process refreshes (the CLI)', () => {
  /** The login in the token file must be refreshed; this process starts it and holds its token request. */
  async function refreshInFlight(options: Parameters<typeof createTokenSource>[0] = {}) {
    const stored = await new TokenStorage(tokenFile).load();
    await new TokenStorage(tokenFile).save({
      ...(stored as OAuthTokens),
      expiresAt: Math.floor(Date.now() / 1000) - 1,
    });
    const gate = gatedFetch();
    const source = createTokenSource({
      oauthConfig: emu.oauthConfig,
      env: {},
      tokenStorage: tokenFile,
      fetch: gate.fetch,
      ...options,
    });
    const refreshing = source.getTokens();
    await gate.arrived;
    return { gate, source, refreshing };
  }
  const env = () => cliEnv(temp.dir, emu);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('a login waits for the refresh in flight, and is not overwritten by it', async () => {
    const { gate, refreshing } = await refreshInFlight();
    const before = await readFile(tokenFile, 'utf8');
    const cli = spawnCli(['login', '--no-browser', '--storage', tokenFile], env());
    cli.write(`${await emu.approve(await cli.authorizeUrl())}\n`);
    while (emu.stats().authorizationCode === 0) await pause(10);
    await pause(500);
    expect(cli.child.exitCode).toBeNull(); // waiting for the lock
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
    gate.release();
    const fresh = await refreshing;
    expect((await cli.done).code).toBe(0);
    const saved = await new TokenStorage(tokenFile).load();
    expect(saved?.refreshToken).not.toBe(fresh.refreshToken);
    expect(emu.isRefreshTokenLive(saved?.refreshToken ?? '')).toBe(true);
    await expectLoginIntact();
  }, 30_000);

  it('a logout waits for the refresh in flight; the refresh does not bring the login back, and the next one is not_logged_in', async () => {
    let shift = 0;
    const { gate, source, refreshing } = await refreshInFlight({ now: () => Date.now() / 1000 + shift });
    const cli = spawnCli(['logout', '--storage', tokenFile], env());
    cli.child.stdin.end();
    await pause(500);
    expect(cli.child.exitCode).toBeNull(); // waiting for the lock
    gate.release();
    await refreshing;
    expect(await cli.done).toMatchObject({ code: 0, stderr: `Logged out: removed ${tokenFile}\n` });
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
    shift = 8 * 3600;
    await expect(source.getTokens()).rejects.toMatchObject({ code: 'not_logged_in' });
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 30_000);

  it('two logins at once: both succeed, one after the other; the file holds one whole login', async () => {
    await new TokenStorage(tokenFile).clear();
    const clis = [0, 1].map(() => spawnCli(['login', '--no-browser', '--storage', tokenFile], env()));
    const callbacks = await Promise.all(clis.map(async (cli) => emu.approve(await cli.authorizeUrl())));
    for (const [i, cli] of clis.entries()) cli.write(`${callbacks[i]}\n`);
    const results = await Promise.all(clis.map((cli) => cli.done));
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    expect(emu.stats().authorizationCode).toBe(2);
    await expectLoginIntact();
    await expect(stat(`${tokenFile}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 30_000);
});
