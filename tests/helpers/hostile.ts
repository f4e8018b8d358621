/**
 * What the hostile tests do to a login: make files immutable, disks full and directories read-only
 * (root only, as CI runs: `chattr`, `mount`), and hold a token request until the test lets it go,
 * to act in the middle of a refresh. Everything real: a real file system, a real HTTP proxy on
 * 127.0.0.1 in front of the emulator.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Emulator } from '../../src/testing/index.js';
import type { Fetch } from '../../src/types.js';

/** Fails (never skips) a test that needs root where it does not have it. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('This test needs root (chattr, mount), as CI runs it: run the suite as root.');
  }
}

function run(command: string, ...args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

/** `chattr +i`/`-i` (immutable), failing loudly when the file system cannot do it. */
export function chattr(flag: '+i' | '-i', path: string): void {
  run('chattr', flag, path);
}

/** Undoes every immutable flag under `dir`, for clean-up; never throws. */
export function clearImmutable(dir: string): void {
  try {
    run('chattr', '-R', '-i', dir);
  } catch {}
}

/** Mounts a tmpfs of `size` (e.g. `64k`) on `dir`. */
export function mountTmpfs(dir: string, size: string): void {
  run('mount', '-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir);
}

/** Makes `dir` a read-only view of itself (root ignores permission bits, not a read-only mount). */
export function bindReadOnly(dir: string): void {
  run('mount', '--bind', dir, dir);
  run('mount', '-o', 'remount,bind,ro', dir);
}

/** Unmounts everything mounted on `dir`; never throws. */
export function unmountAll(dir: string): void {
  for (let i = 0; i < 4; i++) {
    try {
      run('umount', dir);
    } catch {
      return;
    }
  }
}

/** Fills the file system holding `dir` until it refuses another byte. */
export function fillDisk(dir: string): void {
  const fd = openSync(join(dir, 'filler'), 'w');
  try {
    const chunk = Buffer.alloc(1024, 0x78);
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  // The last partial blocks too.
  try {
    const small = openSync(join(dir, 'filler-2'), 'w');
    try {
      for (;;) writeSync(small, 'x');
    } finally {
      closeSync(small);
    }
  } catch {}
}

/**
 * A `fetch` for the token source that, on each token request, runs `onRequest` and then waits for
 * `release()` before sending it on: the test acts while a refresh is in flight (under its lock).
 */
export function gatedFetch(onRequest: () => void | Promise<void> = () => {}) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let arrive: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  let requests = 0;
  const fetch: Fetch = async (input, init) => {
    requests++;
    arrive();
    await onRequest();
    await gate;
    return globalThis.fetch(input, init);
  };
  return { fetch, arrived, release, requests: () => requests };
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the emulator's token endpoint, for child processes (the
 * CLI): `onToken` runs when a token request arrives, before it is passed on.
 */
export async function startTokenProxy(emu: Emulator, onToken: () => void | Promise<void>) {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      await onToken();
      const answer = await fetch(`${emu.url}${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const headers: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? '' };
      const retryAfter = answer.headers.get('retry-after');
      if (retryAfter !== null) headers['retry-after'] = retryAfter;
      res.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    tokenUrl: `http://127.0.0.1:${address.port}/v1/oauth/token`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
