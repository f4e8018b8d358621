/**
 * One of the processes of measurement (3), started by many-processes.ts with `fork()`.
 *
 * It builds its client on the shared token file, says it is ready, and at the agreed start time
 * sends its requests one after another on a fixed schedule (request i at start + i × interval, or
 * at once when running late). It reports each request's latency and every failure by kind, then
 * ends the way a program normally does: it lets go of the IPC channel and exits once nothing is
 * left to do, so a background refresh still running gets to finish and save its tokens (the parent
 * waits for that before it reads the emulator's counters). A request's latency includes any wait
 * for a token: for the refresh, for a lock, for another process's refresh.
 *
 * `AnthropicOAuth` gets its token file as a `TokenStorage` that times each wait for the refresh lock
 * (from asking for it to holding it, or to finding the tokens the holder saved, which also ends the
 * wait); the store is otherwise the library's own.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { OAuthConfig } from '../../src/index.js';
import { HELLO, makeClient, type Variant } from './clients.js';
import { lib } from './package.js';

export interface WorkerTask {
  /** This process's number, sent as `x-bench-process` on every request (token requests too). */
  index: number;
  variant: Exclude<Variant, 'authToken'>;
  url: string;
  oauthConfig: OAuthConfig;
  tokenFile: string;
  requests: number;
  intervalMs: number;
}

export interface WorkerReport {
  /** Latency of each successful request, ms. */
  latencies: number[];
  /** Failed requests by kind (`ErrorClass code/status`). */
  failures: Record<string, number>;
  /** When the last request ended, epoch ms. */
  endedAt: number;
  /** Each wait for the refresh lock, ms (`AnthropicOAuth` only: the SDK's path takes no lock). */
  lockWaits: number[];
}

export type ToWorker = { start: number };
export type FromWorker = { ready: true } | { report: WorkerReport };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function kindOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const detail = error as { code?: unknown; status?: unknown };
  const code = typeof detail.code === 'string' ? ` ${detail.code}` : '';
  const status = typeof detail.status === 'number' ? ` ${detail.status}` : '';
  return `${error.constructor.name}${code}${status}`;
}

async function run(client: Anthropic, task: WorkerTask, start: number): Promise<WorkerReport> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  for (let i = 0; i < task.requests; i++) {
    const due = start + i * task.intervalMs;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const begin = performance.now();
    try {
      await client.messages.create(HELLO);
      latencies.push(performance.now() - begin);
    } catch (error) {
      const kind = kindOf(error);
      failures[kind] = (failures[kind] ?? 0) + 1;
    }
  }
  return { latencies, failures, endedAt: Date.now(), lockWaits: timed?.waits ?? [] };
}

/** `fetch` with this process's number on every request, so the emulator's log tells who refreshed. */
function taggedFetch(index: number): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('x-bench-process', String(index));
    return fetch(input, { ...init, headers });
  };
}

class TimedLockStorage extends lib.TokenStorage {
  readonly waits: number[] = [];

  /** A wait ends when the lock is held, or when `whileWaiting` finds the tokens another process saved. */
  override lock<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T> {
    const asked = performance.now();
    const done = () => this.waits.push(performance.now() - asked);
    return super.lock(
      () => {
        done();
        return fn();
      },
      whileWaiting &&
        (async () => {
          const value = await whileWaiting();
          if (value !== undefined) done();
          return value;
        }),
    );
  }
}

const task = JSON.parse(process.argv[2] ?? '{}') as WorkerTask;
const timed = task.variant === 'AnthropicOAuth' ? new TimedLockStorage(task.tokenFile) : undefined;
const client = timed
  ? new lib.AnthropicOAuth({
      baseURL: task.url,
      oauthConfig: task.oauthConfig,
      tokenStorage: timed,
      fetch: taggedFetch(task.index),
    })
  : makeClient(task.variant, {
      target: { url: task.url, oauthConfig: task.oauthConfig },
      tokenFile: task.tokenFile,
      options: { fetch: taggedFetch(task.index) },
    });
let reported = false;
process.once('message', (message: ToWorker) => {
  void run(client, task, message.start).then((report) => {
    reported = true;
    process.send?.({ report } satisfies FromWorker, () => process.disconnect());
  });
});
process.once('disconnect', () => {
  if (!reported) process.exit(1); // the parent gave up or died
});
process.send?.({ ready: true } satisfies FromWorker);
