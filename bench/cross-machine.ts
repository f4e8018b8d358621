/**
 * (6) One login on two machines: 2 "machines" (each its own HOME) × `perMachine` processes ×
 * `requests` requests, access tokens living `ttl` seconds, beside the same load on one machine:
 *
 * - `one file`: all the processes on one token file, as in measurement (3): the single-machine figures.
 * - `file per machine`: each machine with its own copy of the login in a token file: what one does
 *   without a shared store. The file lock covers one machine only, so each machine refreshes on its
 *   own and spends a refresh token the other has spent already.
 * - `Redis`: every process of both machines on `RedisTokenStore`, on one redis-server started for the
 *   measurement on a random loopback port, with the persistence docs/storage.md recommends (append-only
 *   file, fsync at every write).
 *
 * The figures are those of measurement (3): token-endpoint calls per generation of tokens (1.00:
 * each refresh token spent once), refreshes per expiry, `invalid_grant`s, failed requests, request
 * latency (p50, p99, including any wait for a refresh) and the waits for the refresh lock. Variants
 * alternate run by run. Without `redis-server` on PATH the measurement says so and reports nothing.
 */
import { fork } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OAuthConfig } from '../src/index.js';
import { type RedisServer, startRedis } from '../tests/helpers/redis-server.js';
import { writeTokenFile } from './lib/clients.js';
import { RemoteEmulator, TS_EXEC_ARGV } from './lib/remote-emulator.js';
import { fmt, median, rotate } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { runWorkers, type WorkerRunCounts } from './lib/worker-run.js';

export const CROSS_VARIANTS = ['one file', 'file per machine', 'Redis'] as const;
export type CrossVariant = (typeof CROSS_VARIANTS)[number];

/** What a worker (lib/cross-worker.ts) is told. */
export interface CrossTask {
  index: number;
  variant: CrossVariant;
  url: string;
  oauthConfig: OAuthConfig;
  /** The token file (`one file`, `file per machine`). */
  tokenFile: string;
  /** The Redis URL (`Redis`). */
  redisUrl: string;
  requests: number;
  intervalMs: number;
}

export interface CrossOptions {
  runs: number;
  perMachine: number;
  requests: number;
  intervalMs: number;
  ttl: number;
}

export const CROSS_SETTINGS: Record<'quick' | 'full', CrossOptions> = {
  quick: { runs: 1, perMachine: 4, requests: 200, intervalMs: 10, ttl: 1 },
  full: { runs: 3, perMachine: 4, requests: 500, intervalMs: 10, ttl: 1 },
};

const WORKER = fileURLToPath(new URL('./lib/cross-worker.ts', import.meta.url));
const MACHINES = ['machine-a', 'machine-b'] as const;

type CrossRun = WorkerRunCounts;

export type CrossResult =
  | { options: CrossOptions; rows: Array<{ variant: CrossVariant; runs: CrossRun[] }> }
  | { options: CrossOptions; skipped: string };

async function runOnce(
  emu: RemoteEmulator,
  redis: RedisServer,
  dir: string,
  variant: CrossVariant,
  run: number,
  options: CrossOptions,
): Promise<CrossRun> {
  const login = await emu.issueTokens();
  const homes = MACHINES.map((machine) => join(dir, `${run}-${variant.replace(/ /g, '-')}`, machine));
  const shared = join(homes[0] as string, 'login.json');
  const files = variant === 'file per machine' ? homes.map((home) => join(home, 'login.json')) : [shared];
  for (const home of homes) await mkdir(home, { recursive: true });
  for (const file of files) await writeTokenFile(file, login);
  const key = 'anthropic-oauth:default';
  redis.cli('DEL', key, `${key}:lock`);
  if (variant === 'Redis') {
    const { RedisTokenStore } = await import('../src/store/redis.js');
    const store = new RedisTokenStore({ url: redis.url });
    // As in the token files: no lifetime recorded, so the first use refreshes at once in every variant.
    const { accessToken, refreshToken, expiresAt } = login;
    await store.save({ accessToken, refreshToken, expiresAt, tokenType: 'Bearer', scope: '' });
    await store.close();
  }
  await emu.reset();
  const before = await emu.stats();
  const count = options.perMachine * MACHINES.length;
  const workers = Array.from({ length: count }, (_, index) => {
    const machine = index % MACHINES.length;
    const task: CrossTask = {
      index,
      variant,
      url: emu.url,
      oauthConfig: emu.oauthConfig,
      tokenFile: variant === 'file per machine' ? (files[machine] as string) : shared,
      redisUrl: redis.url,
      requests: options.requests,
      intervalMs: options.intervalMs,
    };
    return fork(WORKER, [JSON.stringify(task)], {
      execArgv: TS_EXEC_ARGV,
      env: { ...process.env, HOME: homes[machine] },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  return (await runWorkers(emu, workers, count * options.requests, before)).counts;
}

export async function measureCrossMachine(
  options: CrossOptions,
  log: (line: string) => void = () => {},
): Promise<CrossResult> {
  let redis: RedisServer;
  try {
    redis = await startRedis();
  } catch (error) {
    return { options, skipped: error instanceof Error ? error.message : String(error) };
  }
  const emu = await RemoteEmulator.start(options.ttl);
  const dir = await mkdtemp(join(tmpdir(), 'anthropic-oauth-bench-cross-'));
  try {
    const runs: Record<CrossVariant, CrossRun[]> = { 'one file': [], 'file per machine': [], Redis: [] };
    for (let run = 0; run < options.runs; run++) {
      for (const variant of rotate(CROSS_VARIANTS, run)) {
        const result = await runOnce(emu, redis, dir, variant, run, options);
        runs[variant].push(result);
        log(
          `  run ${run + 1}/${options.runs} ${variant.padEnd(16)} ${fmt(result.seconds, 1)} s, token calls ${result.tokenCalls}, ` +
            `invalid_grant ${result.invalidGrants}, failed ${result.failed}/${result.requests}${result.timedOut ? ' (timed out)' : ''}`,
        );
      }
    }
    return { options, rows: CROSS_VARIANTS.map((variant) => ({ variant, runs: runs[variant] })) };
  } finally {
    await emu.close();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const LABELS: Record<CrossVariant, string> = {
  'one file': 'one machine, one token file (as in 3)',
  'file per machine': 'two machines, a token file each',
  Redis: 'two machines, `RedisTokenStore`',
};

export function reportCrossMachine(result: CrossResult): string {
  const { options } = result;
  const shape = `2 machines × ${options.perMachine} processes × ${options.requests} requests (one every ${options.intervalMs} ms per process), access tokens living ${options.ttl} s; ${options.runs} runs per variant.`;
  if ('skipped' in result) return `${shape}\n\nNot measured: ${result.skipped}`;
  const list = (runs: CrossRun[], pick: (run: CrossRun) => number, decimals = 0) =>
    runs.map((run) => fmt(pick(run), decimals)).join(', ');
  const table = renderTable({
    headers: [
      'login kept in',
      'calls per generation',
      'refreshes per expiry',
      'token-endpoint calls',
      'invalid_grant',
      'failed requests',
      'p50 / p99 ms',
      'lock waits',
      'lock wait p50 / p99 ms',
    ],
    rows: result.rows.map(({ variant, runs }) => [
      LABELS[variant],
      list(runs, (run) => run.tokenCalls / Math.max(1, run.generations), 2),
      fmt(median(runs.map((run) => run.refreshes / (run.seconds / options.ttl))), 2),
      list(runs, (run) => run.tokenCalls),
      list(runs, (run) => run.invalidGrants),
      list(runs, (run) => run.failed),
      `${fmt(median(runs.map((run) => run.p50)), 1)} / ${fmt(median(runs.map((run) => run.p99)), 1)}`,
      list(runs, (run) => run.lockWaits),
      `${fmt(median(runs.map((run) => run.lockWaitP50)), 1)} / ${fmt(median(runs.map((run) => run.lockWaitP99)), 1)}`,
    ]),
  });
  const failures = result.rows.flatMap(({ variant, runs }) => {
    const all: Record<string, number> = {};
    for (const run of runs) for (const [kind, n] of Object.entries(run.failures)) all[kind] = (all[kind] ?? 0) + n;
    const kinds = Object.entries(all).map(([kind, n]) => `${kind} × ${fmt(n)}`);
    return kinds.length === 0 ? [] : [`- ${LABELS[variant]} failures, all runs: ${kinds.join('; ')}`];
  });
  return [
    shape,
    'Calls per generation and counts are listed run by run; refreshes per expiry and latencies are medians over runs.',
    'Goal for `RedisTokenStore`: what one machine on one token file achieves, across machines: 1.00 call per generation,',
    'zero `invalid_grant`, zero failed requests, in every run.',
    '',
    table,
    ...(failures.length > 0 ? ['', ...failures] : []),
  ].join('\n');
}

/** The goal row for run.ts: [goal, measured, met]. */
export function crossMachineGoal(result: CrossResult): string[] {
  const goal =
    'one login across machines (Redis): one refresh per generation, zero `invalid_grant`, zero failed requests';
  if ('skipped' in result) return [goal, `not measured: ${result.skipped}`, '**no**'];
  const ours = result.rows.find((row) => row.variant === 'Redis')?.runs ?? [];
  const perGeneration = Math.max(...ours.map((run) => run.tokenCalls / Math.max(1, run.generations)));
  const invalidGrants = ours.reduce((sum, run) => sum + run.invalidGrants, 0);
  const failed = ours.reduce((sum, run) => sum + run.failed, 0);
  const perMachine = result.rows.find((row) => row.variant === 'file per machine')?.runs ?? [];
  const without = perMachine.reduce((sum, run) => sum + run.invalidGrants, 0);
  return [
    goal,
    `at most ${fmt(perGeneration, 2)} token-endpoint calls per generation; ${invalidGrants} \`invalid_grant\`, ${failed} failed requests (${ours.length} runs, 2 machines × ${result.options.perMachine} processes); a token file per machine instead: ${fmt(without)} \`invalid_grant\``,
    perGeneration === 1 && invalidGrants === 0 && failed === 0 ? 'yes' : '**no**',
  ];
}
