/**
 * A real Redis for the tests and the benchmark: Debian's `redis-server` (installed by `.ci/run`),
 * started on a random loopback port with a temporary directory of its own, and stopped after.
 * Missing binary: an error saying how to install it (the tests fail, they are never skipped).
 *
 * Persistence is the one docs/storage.md recommends: the append-only file, fsynced at every write
 * (`--appendonly yes --appendfsync always`), no RDB snapshots; `appendonly: false` turns it off.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  appendonly?: boolean;
  /** Extra arguments, e.g. `['--requirepass', 'pw']` or an ACL `--user`. */
  args?: string[];
}

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly dir: string;
  /** Stops it: `SIGTERM` (a clean shutdown) or `SIGKILL` (a crash); waits until it is gone. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and directory (its AOF is read back). */
  start(): Promise<void>;
  /** Sends a command with `redis-cli` and returns its output, trimmed. */
  cli(...args: string[]): string;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

const BINARY = 'redis-server';

function requireBinary(): void {
  const found = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(
      `${BINARY} is not on PATH, and the Redis token store's tests need a real Redis: install it (\`apt-get install -y redis-server\`, as .ci/run does).`,
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once Redis answers PING on `port` (it is also up when it answers LOADING). */
async function answers(port: number, withinMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) on port ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  requireBinary();
  const dir = await mkdtemp(join(tmpdir(), 'anthropic-oauth-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly === false ? 'no' : 'yes',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(BINARY, args, { stdio: 'ignore' });
    await answers(port, 10_000, child);
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await gone;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    start: launch,
    cli: (...command: string[]) =>
      spawnSync('redis-cli', ['-p', String(port), ...command], { encoding: 'utf8' }).stdout.trim(),
    close: async () => {
      await stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
