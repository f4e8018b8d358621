/**
 * (3) Many processes on one token file: `processes` processes × `requests` requests each, every
 * process with its own client on the same file, access tokens living `ttl` seconds (the emulator's
 * `accessTokenTtl`), so the login expires many times during a run and every process notices.
 *
 * What the emulator sees tells whether the processes cooperate:
 * - calls per token generation: calls to the token endpoint ÷ distinct refresh tokens presented.
 *   Each refresh token is single-use; 1.00 means every generation was refreshed exactly once, by one
 *   process, and the others picked up its result from the file. Above 1 means two processes spent
 *   the same refresh token (the second gets `invalid_grant`, and the emulator, like the real server,
 *   then revokes the whole login).
 * - refreshes per expiry: successful refreshes ÷ (run time ÷ ttl), how often the login is rotated
 *   compared with how often it has to be (both clients refresh a little before expiry, so slightly
 *   above 1 is expected; far above 1 means processes refresh tokens another process just rotated).
 * - `invalid_grant`s and failed requests; the latency of requests (p50, p99), which includes any
 *   wait for a refresh or a lock;
 * - the waits for the refresh lock itself (`AnthropicOAuth`: from asking for the lock to holding it,
 *   every process's waits of the run together; see lib/many-worker.ts). The SDK's path takes none.
 *
 * The same for `AnthropicOAuth` (a `TokenStorage` on the file) and the SDK's `user_oauth` path, runs
 * alternating; the report gives each run's counts and the median of the rest.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeTokenFile } from './lib/clients.js';
import type { WorkerTask } from './lib/many-worker.js';
import { RemoteEmulator, type TokenCall, TS_EXEC_ARGV } from './lib/remote-emulator.js';
import { fmt, median, rotate } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { RUN_DEADLINE_MS, runWorkers, type WorkerRunCounts } from './lib/worker-run.js';

export interface ManyOptions {
  runs: number;
  processes: number;
  requests: number;
  /** Pause between the starts of two requests of one process, ms. */
  intervalMs: number;
  /** Access-token lifetime, seconds. */
  ttl: number;
}

const MANY_VARIANTS = ['AnthropicOAuth', 'user_oauth'] as const;
type ManyVariant = (typeof MANY_VARIANTS)[number];

const WORKER = fileURLToPath(new URL('./lib/many-worker.ts', import.meta.url));

interface ManyRun extends WorkerRunCounts {
  /** The first refresh token presented twice, if any: who spent it first, who again, how far apart. */
  doubleSpend: DoubleSpend | null;
}

interface DoubleSpend {
  first: { process: string; status: number; at: number };
  again: { process: string; status: number; at: number };
}

/** The first refresh token that was presented a second time (each is single-use), from the emulator's log. */
function firstDoubleSpend(calls: readonly TokenCall[], start: number): DoubleSpend | null {
  const seen = new Map<string, TokenCall>();
  for (const call of calls) {
    const earlier = seen.get(call.refreshToken);
    if (earlier) {
      return {
        first: { process: earlier.process, status: earlier.status, at: earlier.time - start },
        again: { process: call.process, status: call.status, at: call.time - start },
      };
    }
    seen.set(call.refreshToken, call);
  }
  return null;
}

export interface ManyRow {
  variant: ManyVariant;
  runs: ManyRun[];
}

export interface ManyResult {
  options: ManyOptions;
  rows: ManyRow[];
}

async function runOnce(emu: RemoteEmulator, dir: string, variant: ManyVariant, options: ManyOptions): Promise<ManyRun> {
  const tokenFile = join(dir, `${variant}.json`);
  await writeTokenFile(tokenFile, await emu.issueTokens());
  await emu.reset();
  const before = await emu.stats();

  const task: Omit<WorkerTask, 'index'> = {
    variant,
    url: emu.url,
    oauthConfig: emu.oauthConfig,
    tokenFile,
    requests: options.requests,
    intervalMs: options.intervalMs,
  };
  const workers = Array.from({ length: options.processes }, (_, index) =>
    fork(WORKER, [JSON.stringify({ ...task, index } satisfies WorkerTask)], {
      execArgv: TS_EXEC_ARGV,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const { counts, calls, start } = await runWorkers(emu, workers, options.processes * options.requests, before);
  return { ...counts, doubleSpend: firstDoubleSpend(calls, start) };
}

export async function measureMany(options: ManyOptions, log: (line: string) => void = () => {}): Promise<ManyResult> {
  const emu = await RemoteEmulator.start(options.ttl);
  const dir = await mkdtemp(join(tmpdir(), 'anthropic-oauth-bench-'));
  try {
    const runs: Record<ManyVariant, ManyRun[]> = { AnthropicOAuth: [], user_oauth: [] };
    for (let run = 0; run < options.runs; run++) {
      for (const variant of rotate(MANY_VARIANTS, run)) {
        const result = await runOnce(emu, dir, variant, options);
        runs[variant].push(result);
        log(
          `  run ${run + 1}/${options.runs} ${variant.padEnd(14)} ${fmt(result.seconds, 1)} s, token calls ${result.tokenCalls}, ` +
            `invalid_grant ${result.invalidGrants}, failed ${result.failed}/${result.requests}${result.timedOut ? ' (timed out)' : ''}`,
        );
      }
    }
    return { options, rows: MANY_VARIANTS.map((variant) => ({ variant, runs: runs[variant] })) };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function reportMany(result: ManyResult): string {
  const { options } = result;
  const list = (runs: ManyRun[], pick: (run: ManyRun) => number, decimals = 0) =>
    runs.map((run) => fmt(pick(run), decimals)).join(', ');
  const table = renderTable({
    headers: [
      'client',
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
      variant === 'AnthropicOAuth' ? '`AnthropicOAuth`' : 'SDK `user_oauth` config',
      list(runs, (run) => run.tokenCalls / Math.max(1, run.generations), 2),
      fmt(median(runs.map((run) => run.refreshes / (run.seconds / options.ttl))), 2),
      list(runs, (run) => run.tokenCalls),
      list(runs, (run) => run.invalidGrants),
      list(runs, (run) => run.failed),
      `${fmt(median(runs.map((run) => run.p50)), 1)} / ${fmt(median(runs.map((run) => run.p99)), 1)}`,
      variant === 'AnthropicOAuth' ? list(runs, (run) => run.lockWaits) : 'no lock',
      variant === 'AnthropicOAuth'
        ? `${fmt(median(runs.map((run) => run.lockWaitP50)), 1)} / ${fmt(median(runs.map((run) => run.lockWaitP99)), 1)}`
        : '—',
    ]),
  });
  const failures = result.rows.flatMap(({ variant, runs }) => {
    const all: Record<string, number> = {};
    for (const run of runs) for (const [kind, n] of Object.entries(run.failures)) all[kind] = (all[kind] ?? 0) + n;
    const kinds = Object.entries(all).map(([kind, n]) => `${kind} × ${fmt(n)}`);
    return kinds.length === 0 ? [] : [`- ${variant} failures, all runs: ${kinds.join('; ')}`];
  });
  const timedOut = result.rows.flatMap(({ variant, runs }) =>
    runs.some((run) => run.timedOut)
      ? [`- ${variant}: a run was stopped at the ${RUN_DEADLINE_MS / 1000} s deadline.`]
      : [],
  );
  const doubleSpends = result.rows.flatMap(({ variant, runs }) =>
    runs.flatMap((run, i) => {
      const spend = run.doubleSpend;
      if (!spend) return [];
      const who = (p: string) => (p === '' ? 'a process' : `process ${p}`);
      return [
        `- ${variant}, run ${i + 1}: the first refresh token spent twice was spent by ${who(spend.first.process)} at ` +
          `+${fmt(spend.first.at)} ms (HTTP ${spend.first.status}), then again by ${who(spend.again.process)} at ` +
          `+${fmt(spend.again.at)} ms (HTTP ${spend.again.status}).`,
      ];
    }),
  );
  const seconds = median(result.rows.flatMap(({ runs }) => runs.map((run) => run.seconds)));
  return [
    `${options.processes} processes × ${options.requests} requests (one every ${options.intervalMs} ms per process, about`,
    `${fmt(seconds, 1)} s a run) on one token file, access tokens living ${options.ttl} s; ${options.runs} runs per client.`,
    'Calls per generation and counts are listed run by run; refreshes per expiry and latencies are medians over runs.',
    'Goal: 1.00 call per generation, zero `invalid_grant`, zero failed requests, in every run.',
    '',
    table,
    ...(failures.length + timedOut.length + doubleSpends.length > 0
      ? ['', ...failures, ...timedOut, ...doubleSpends]
      : []),
  ].join('\n');
}
