/**
 * Worker processes for the tests that share one login between processes (tests/multiprocess.test.ts
 * over a token file, tests/redis-machines.test.ts over Redis): started with `node <script> …args`,
 * their stdout collected, and the JSON line a `requests` worker prints read back.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export type WorkerProcess = ChildProcess & {
  /** stdout, once the process exits with 0 or is killed with SIGKILL; else a rejection with its stderr. */
  output: Promise<string>;
};

/** What a `requests` worker prints: its calls' outcomes and the digest of its last refresh token. */
export interface WorkerResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  finalRefreshToken: string;
}

export function startWorker(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): WorkerProcess {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  // A write to a worker that has already exited (EPIPE) must not crash the run: its exit tells.
  child.stdin.on('error', () => {});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const output = new Promise<string>((resolve, reject) => {
    child.once('exit', (code, signal) =>
      code === 0 || signal === 'SIGKILL' ? resolve(stdout) : reject(new Error(`worker exited ${code}: ${stderr}`)),
    );
  });
  output.catch(() => {}); // reported where it is awaited; not as unhandled after a failed test
  return Object.assign(child, { output });
}

/** Resolves once the worker has printed `line`; rejects if it exits first. */
export async function waitForLine(child: ChildProcess, line: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes(line)) resolve();
    });
    child.on('exit', () => reject(new Error(`worker exited before printing ${line}`)));
  });
}

/** The results of `requests` workers, once all have exited. */
export function workerResults(workers: readonly WorkerProcess[]): Promise<WorkerResult[]> {
  return Promise.all(workers.map(async (w) => JSON.parse(await w.output) as WorkerResult));
}
