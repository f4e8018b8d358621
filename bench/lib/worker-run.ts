/**
 * One run of worker processes against the emulator, shared by §3 (many processes, one token file)
 * and §6 (two machines): start them together once all are up, let each end by itself, and count
 * what the emulator and the workers saw.
 */
import type { ChildProcess } from 'node:child_process';
import type { FromWorker, WorkerReport } from './many-worker.js';
import type { RemoteEmulator, TokenCall } from './remote-emulator.js';
import { percentile } from './stats.js';

/** A run that has not finished by then is stopped and reported as such. */
export const RUN_DEADLINE_MS = 90_000;

export interface WorkerRunCounts {
  seconds: number;
  tokenCalls: number;
  generations: number;
  refreshes: number;
  invalidGrants: number;
  requests: number;
  /** Requests that failed, those of a process that never reported included. */
  failed: number;
  failures: Record<string, number>;
  p50: number;
  p99: number;
  /** Waits for the refresh lock, all processes together (NaN when the client takes no lock). */
  lockWaitP50: number;
  lockWaitP99: number;
  lockWaits: number;
  timedOut: boolean;
}

function message(child: ChildProcess): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`a worker exited (${code}) early`)));
  });
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => child.once('exit', () => resolve()));

/**
 * Runs `workers` (forked, each sending `{ ready }` then its `{ report }`) to the end. `requests` is
 * how many requests they make in all; the emulator's counters are read against `before`.
 */
export async function runWorkers(
  emu: RemoteEmulator,
  workers: ChildProcess[],
  requests: number,
  before: { refresh: number; invalidGrant: number },
): Promise<{ counts: WorkerRunCounts; calls: TokenCall[]; start: number }> {
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    for (const worker of workers) worker.kill();
  }, RUN_DEADLINE_MS);
  try {
    // Start together once every process is up, so start-up time is not part of the run.
    await Promise.all(workers.map(message));
    const start = Date.now() + 100;
    const reports = workers.map(message);
    for (const worker of workers) worker.send({ start });
    const settled = await Promise.allSettled(reports);
    // Let every process end by itself: a refresh still running in one of them is finished and saved
    // before the counters are read. (The deadline above stops a process that does not end.)
    await Promise.all(workers.map((worker) => (worker.exitCode === null ? exited(worker) : undefined)));
    const done = settled.flatMap((s) => (s.status === 'fulfilled' && 'report' in s.value ? [s.value.report] : []));
    const after = await emu.stats();
    const calls = await emu.tokenCalls();
    const latencies = done.flatMap((report: WorkerReport) => report.latencies);
    const lockWaits = done.flatMap((report: WorkerReport) => report.lockWaits);
    const failures: Record<string, number> = {};
    for (const report of done) {
      for (const [kind, count] of Object.entries(report.failures)) failures[kind] = (failures[kind] ?? 0) + count;
    }
    const counts: WorkerRunCounts = {
      seconds: (Math.max(...done.map((report) => report.endedAt)) - start) / 1000,
      tokenCalls: calls.length,
      generations: new Set(calls.map((call) => call.refreshToken)).size,
      refreshes: after.refresh - before.refresh,
      invalidGrants: after.invalidGrant - before.invalidGrant,
      requests,
      failed: requests - latencies.length,
      failures,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      lockWaitP50: percentile(lockWaits, 50),
      lockWaitP99: percentile(lockWaits, 99),
      lockWaits: lockWaits.length,
      timedOut,
    };
    return { counts, calls, start };
  } finally {
    clearTimeout(deadline);
    for (const worker of workers) if (worker.exitCode === null) worker.kill();
  }
}
