/**
 * One of the processes of measurement (5), started by cross-machine.ts with `fork()` and a HOME of
 * its machine's own. The same schedule and report as many-worker.ts (requests at start + i ×
 * interval, each latency, failures by kind, lock waits), on the store its variant names:
 *
 * - `one file`: every process on one token file (one machine: the figures of measurement (3)).
 * - `file per machine`: a copy of the login in a token file per machine (nothing shared between them).
 * - `Redis`: `RedisTokenStore` on one Redis for every process of both machines.
 *
 * The store is wrapped to time each wait for the refresh lock (from asking for it to holding it, or
 * to finding the tokens the holder saved); it is otherwise the library's own.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type Anthropic from '@anthropic-ai/sdk';
import type { OAuthTokens, PreparedSave, TokenStore } from '../../src/index.js';
import type * as RedisEntry from '../../src/redis.js';
import type { CrossTask } from '../cross-machine.js';
import { BUILD } from './build.js';
import { HELLO } from './clients.js';
import type { FromWorker, ToWorker, WorkerReport } from './many-worker.js';
import { lib } from './package.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function kindOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const detail = error as { code?: unknown; status?: unknown };
  const code = typeof detail.code === 'string' ? ` ${detail.code}` : '';
  const status = typeof detail.status === 'number' ? ` ${detail.status}` : '';
  return `${error.constructor.name}${code}${status}`;
}

/** A store whose lock waits are timed; everything else goes to `inner`. */
class TimedLock implements TokenStore {
  readonly waits: number[] = [];
  readonly #inner: TokenStore;
  constructor(inner: TokenStore) {
    this.#inner = inner;
  }
  load(): ReturnType<TokenStore['load']> {
    return this.#inner.load();
  }
  save(tokens: OAuthTokens): Promise<void> {
    return this.#inner.save(tokens);
  }
  clear(): Promise<void> {
    return this.#inner.clear();
  }
  prepareSave(): Promise<PreparedSave> {
    if (!this.#inner.prepareSave) throw new Error('the store has no prepareSave');
    return this.#inner.prepareSave();
  }
  lock<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T> {
    const asked = performance.now();
    const done = () => this.waits.push(performance.now() - asked);
    if (!this.#inner.lock) throw new Error('the store has no lock');
    return this.#inner.lock(
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

function taggedFetch(index: number): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('x-bench-process', String(index));
    return fetch(input, { ...init, headers });
  };
}

async function run(client: Anthropic, task: CrossTask, start: number, timed: TimedLock): Promise<WorkerReport> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  for (let i = 0; i < task.requests; i++) {
    const wait = start + i * task.intervalMs - Date.now();
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
  return { latencies, failures, endedAt: Date.now(), lockWaits: timed.waits };
}

const task = JSON.parse(process.argv[2] ?? '{}') as CrossTask;
let inner: TokenStore;
if (task.variant === 'Redis') {
  // The built `anthropic-oauth/redis`; its connection never keeps the process alive, so it ends as the others do.
  const redis = (await import(pathToFileURL(join(BUILD, 'dist', 'redis.js')).href)) as typeof RedisEntry;
  inner = new redis.RedisTokenStore({ url: task.redisUrl });
} else {
  inner = new lib.TokenStorage(task.tokenFile);
}
const timed = new TimedLock(inner);
const client = new lib.AnthropicOAuth({
  baseURL: task.url,
  oauthConfig: task.oauthConfig,
  tokenStorage: timed,
  fetch: taggedFetch(task.index),
});
let reported = false;
process.once('message', (message: ToWorker) => {
  void run(client, task, message.start, timed).then((report) => {
    reported = true;
    process.send?.({ report } satisfies FromWorker, () => process.disconnect());
  });
});
process.once('disconnect', () => {
  if (!reported) process.exit(1);
});
process.send?.({ ready: true } satisfies FromWorker);
