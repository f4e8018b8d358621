import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisTokenStore } from '../src/store/redis.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { makeTempDir, tokensOf } from './helpers/fixtures.js';
import { type RedisServer, startRedis } from './helpers/redis-server.js';
import {
  startWorker,
  type WorkerProcess,
  type WorkerResult,
  waitForLine,
  workerResults,
} from './helpers/worker-process.js';

const WORKER = join(import.meta.dirname, 'helpers', 'redis-worker.mjs');
const TTL_SECONDS = 2;
const KEY = 'anthropic-oauth:default';

let emu: Emulator;
let redis: RedisServer;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let machines: string[];
let store: RedisTokenStore;

beforeEach(async () => {
  emu = await startEmulator({ accessTokenTtl: TTL_SECONDS });
  redis = await startRedis();
  temp = await makeTempDir();
  machines = [join(temp.dir, 'machine-a'), join(temp.dir, 'machine-b')];
  for (const home of machines) await mkdir(home);
  store = new RedisTokenStore({ url: redis.url });
  await store.save(tokensOf(emu.issueTokens()));
});
afterEach(async () => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await store.close();
  await redis.close();
  await emu.close();
  await temp.cleanup();
});

type Worker = WorkerProcess;
const started: Worker[] = [];

function start(home: string, args: string[], timings: Record<string, number> = {}): Worker {
  // A machine this loaded (8 processes on 2 cores shared with others) may take seconds to answer:
  // the time bound on each Redis call is generous, so that what is tested is correctness, not speed.
  const settings = { timeoutMs: 10_000, ...timings };
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, REDIS_STORE_TIMINGS: JSON.stringify(settings) };
  delete env.ANTHROPIC_OAUTH_TOKEN_FILE;
  delete env.ANTHROPIC_OAUTH_PROFILE;
  const worker = startWorker(WORKER, [args[0] ?? '', emu.url, redis.url, ...args.slice(1)], env);
  started.push(worker);
  return worker;
}

/** `perMachine` request workers on each machine, for `durationMs`. */
function startWorkers(perMachine: number, durationMs: number, timings: Record<string, number> = {}): Worker[] {
  return machines.flatMap((home) =>
    Array.from({ length: perMachine }, () => start(home, ['requests', String(durationMs), '2'], timings)),
  );
}

const results = workerResults;

/** Every token call the emulator logged presents a refresh token no other call presented. */
function refreshTokensPresented(): { calls: number; distinct: number } {
  const presented = emu.requests
    .filter((r) => r.path === '/v1/oauth/token')
    .map((r) => (r.body as { refresh_token?: string } | undefined)?.refresh_token ?? '');
  return { calls: presented.length, distinct: new Set(presented).size };
}

async function expectCorrect(outcome: WorkerResult[]): Promise<void> {
  expect(outcome.map((r) => ({ failed: r.failed, errors: r.errors }))).toEqual(
    outcome.map(() => ({ failed: 0, errors: {} })),
  );
  for (const r of outcome) expect(r.ok).toBeGreaterThan(0);
  expect(emu.stats().invalidGrant).toBe(0);
  const { calls, distinct } = refreshTokensPresented();
  expect(calls).toBe(distinct); // one refresh per token generation
  const stored = await store.load();
  expect(emu.isRefreshTokenLive(stored?.refreshToken ?? '')).toBe(true);
  // Nothing was shared through the machines' files: they hold nothing.
  for (const home of machines) expect(await readdir(home)).toEqual([]);
}

/** The first of `workers` seen holding the lock in Redis (read through a client of the test's own). */
async function holderAmong(workers: readonly Worker[], withinMs: number): Promise<Worker> {
  const client = createClient({ url: redis.url });
  await client.connect();
  try {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const owner = (await client.get(`${KEY}:lock`)) ?? '';
      const holder = workers.find((worker) => owner.endsWith(`:${worker.pid}`));
      if (holder) return holder;
      if (Date.now() > deadline) throw new Error('no worker was seen holding the lock');
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    await client.close();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('two machines × 4 processes sharing one login through Redis', () => {
  it('15 s of 2-second rotating tokens: no invalid_grant, no failed request, one refresh per generation', async () => {
    const durationMs = 15_000;
    const outcome = await results(startWorkers(4, durationMs));
    await expectCorrect(outcome);
    // Refreshes follow the expiries (about 10 in 15 s), not the processes (one each per expiry: ~80).
    const expiries = durationMs / 1000 / (TTL_SECONDS * 0.75);
    expect(emu.stats().refresh).toBeLessThanOrEqual(expiries * 1.3 + 2);
    const requests = outcome.reduce((n, r) => n + r.ok, 0);
    console.info(`cross-machine: ${requests} requests, ${emu.stats().refresh} refreshes, 0 invalid_grant, 0 failures`);
  }, 90_000);

  it('a holder killed (SIGKILL) while it holds the lock: the others go on once its lock expires', async () => {
    const holder = start(machines[0] ?? '', ['hold-lock']);
    await waitForLine(holder, 'locked');
    holder.kill('SIGKILL');
    await holder.output;
    await expectCorrect(await results(startWorkers(4, 8_000)));
  }, 90_000);

  it('a holder stopped (SIGSTOP) past its lock’s expiry and resumed: it spends nothing stale and goes on', async () => {
    // The lock lasts 1 s, or 4 s once a refresh token is sent; the holder is stopped for 2.5 s.
    const timings = { lockTtlMs: 1_000, refreshLeaseMs: 4_000 };
    const workers = startWorkers(4, 12_000, timings);
    await pause(2_000);
    const victim = await holderAmong(workers, 30_000);
    victim.kill('SIGSTOP');
    await pause(2_500);
    victim.kill('SIGCONT');
    await expectCorrect(await results(workers));
  }, 90_000);

  it('a holder stopped just before it spends, past its lock’s expiry: resumed, it does not overwrite the newer tokens', async () => {
    const timings = { lockTtlMs: 500, refreshLeaseMs: 1_000 };
    // What its refresh would have brought back: a login the emulator knows, of its own family.
    const its = tokensOf(emu.issueTokens());
    const stale = start(machines[0] ?? '', ['stale-holder', JSON.stringify(its)], timings);
    await waitForLine(stale, 'prepared');
    stale.kill('SIGSTOP');
    const before = (await store.load())?.refreshToken;
    const workers = startWorkers(4, 8_000, timings);
    // Its lock, made to last 1 s at prepareSave, expires; another process takes it and refreshes.
    while ((await store.load())?.refreshToken === before) await pause(20);
    stale.kill('SIGCONT');
    stale.stdin?.write('go\n');
    expect(JSON.parse((await stale.output).trim().split('\n').pop() ?? '')).toEqual({ committed: false });
    await expectCorrect(await results(workers));
    const stored = await store.load();
    expect(stored?.refreshToken).not.toBe(its.refreshToken);
    expect(emu.requests.some((r) => r.headers.authorization === `Bearer ${its.accessToken}`)).toBe(false);
  }, 90_000);

  it('Redis crashes (SIGKILL) and restarts from its append-only file in the middle of a run: no lost login', async () => {
    const workers = startWorkers(2, 10_000);
    await pause(4_000);
    await redis.stop('SIGKILL');
    await redis.start();
    await expectCorrect(await results(workers));
  }, 90_000);
});
