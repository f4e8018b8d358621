/**
 * The cross-process lock around every write of a login: a refresh (read → refresh → write), the
 * save of a new login and a logout all hold it, so no writer undoes another and two processes never
 * spend the same rotating refresh token.
 *
 * - `proper-lockfile`: a lock directory beside the token file (`<file>.lock`), created atomically
 *   with mkdir, its mtime refreshed every second while held.
 * - The holder records itself inside it (`owner.json`: pid, host, pid namespace, the process's start
 *   time). A lock whose recorded holder is gone (this host and namespace, and no such process, or
 *   another one under its pid) is taken over at once, whatever its
 *   mtime says (a clock set back leaves it in the future). A lock with no record goes stale 5 s after
 *   its last refresh (proper-lockfile's minimum) and is then taken over. A lock whose holder is alive
 *   on this host is never taken over, even when its mtime looks old (a clock set forward, a
 *   stopped process).
 * - Waiting is bounded: 15 s of attempts on a monotonic clock, 5 ms apart at first, then at most
 *   50 ms, jittered. Past that the caller gets `lock_timeout`, naming the holder ("process 1234") and
 *   saying to wait for it or stop it: never to delete a lock that a live process holds. The token
 *   source keeps its own holding time under that bound (`provider.ts`).
 * - A lock that cannot be created (read-only or full file system, missing permissions, a file in its
 *   place) is `lock_unavailable` at once. Nothing was spent then: the token source serves a token
 *   that is still valid, as during an outage.
 * - Between attempts, `whileWaiting` (when given) may end the wait with a value: the token source
 *   uses it to pick up the tokens the lock holder has just saved, instead of queueing for the lock
 *   only to read them under it.
 * - The lock is released on every path; `proper-lockfile` is loaded on first use only.
 */
import nodeFs from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { monotonicMs } from '../duration.js';
import { errnoCode, TokenStorageError } from '../errors.js';
import { isAlive, problemOf } from './atomic.js';

export const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;
/** How long a process waits for the lock before `lock_timeout`. */
export const LOCK_WAIT_MS = 15_000;
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 50;
const OWNER_FILE = 'owner.json';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Who holds a lock, as recorded in it. */
interface Owner {
  pid: number;
  host: string;
  /** The process's start time (Linux `/proc/<pid>/stat`), so that a reused pid is not mistaken for it. */
  start: string | null;
  /** Its pid namespace (Linux), so that a container sharing the host name is not mistaken for this one. */
  ns: string | null;
  /** Epoch ms when the lock was taken. */
  since: number;
  nonce: string;
}

/** When process `pid` started, in clock ticks since boot (Linux only). */
function processStart(pid: number): string | null {
  if (process.platform !== 'linux') return null;
  try {
    const stat = nodeFs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** This process's pid namespace (Linux), e.g. `pid:[4026531836]`. */
function pidNamespace(): string | null {
  try {
    return nodeFs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

function liveness(owner: Owner): 'alive' | 'dead' | 'elsewhere' {
  if (owner.host !== hostname() || owner.ns !== pidNamespace()) return 'elsewhere';
  if (!isAlive(owner.pid)) return 'dead';
  const start = owner.start === null ? null : processStart(owner.pid);
  return start !== null && start !== owner.start ? 'dead' : 'alive';
}

function readOwner(lockPath: string): Owner | undefined {
  try {
    const data: unknown = JSON.parse(nodeFs.readFileSync(join(lockPath, OWNER_FILE), 'utf8'));
    if (data === null || typeof data !== 'object') return undefined;
    const { pid, host, start, ns, since, nonce } = data as Record<string, unknown>;
    if (!Number.isInteger(pid) || typeof host !== 'string' || typeof nonce !== 'string') return undefined;
    return {
      pid: pid as number,
      host,
      start: typeof start === 'string' ? start : null,
      ns: typeof ns === 'string' ? ns : null,
      since: typeof since === 'number' ? since : Date.now(),
      nonce,
    };
  } catch {
    return undefined;
  }
}

/** Records this process as the holder; best effort (a full disk may refuse even this small file). */
function recordOwner(lockPath: string): string {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex');
  const owner: Owner = {
    pid: process.pid,
    host: hostname(),
    start: processStart(process.pid),
    ns: pidNamespace(),
    since: Date.now(),
    nonce,
  };
  const file = join(lockPath, OWNER_FILE);
  try {
    // proper-lockfile takes a changed mtime for a lost lock: put back the one it set.
    const { atime, mtime } = nodeFs.statSync(lockPath);
    try {
      nodeFs.writeFileSync(file, JSON.stringify(owner), { flag: 'wx', mode: 0o600 });
    } catch {
      nodeFs.rmSync(file, { force: true });
    }
    nodeFs.utimesSync(lockPath, atime, mtime);
  } catch {}
  return nonce;
}

function forgetOwner(lockPath: string, nonce: string): void {
  if (readOwner(lockPath)?.nonce !== nonce) return;
  try {
    nodeFs.unlinkSync(join(lockPath, OWNER_FILE));
  } catch {}
}

/**
 * The file system `proper-lockfile` uses, with one change: it removes a lock directory (to take
 * over a lock whose mtime looks stale) only when no live process of this host is recorded in it,
 * and removes the record first. Our own release forgets the record before releasing. Built on first
 * use: spreading `node:fs` reads its lazy exports, which loads Node's file streams.
 */
let lockFsMade: typeof nodeFs | undefined;
const lockFs = (): typeof nodeFs =>
  (lockFsMade ??= {
    ...nodeFs,
    rmdir(path: string, callback: (error: NodeJS.ErrnoException | null) => void): void {
      const owner = readOwner(path);
      if (owner && liveness(owner) === 'alive') {
        callback(Object.assign(new Error('The lock is held by a live process.'), { code: 'ELOCKED' }));
        return;
      }
      nodeFs.unlink(join(path, OWNER_FILE), () => nodeFs.rmdir(path, callback));
    },
    /** Used by `proper-lockfile` at exit, for the locks this process holds. */
    rmdirSync(path: string): void {
      try {
        nodeFs.unlinkSync(join(path, OWNER_FILE));
      } catch {}
      nodeFs.rmdirSync(path);
    },
  } as typeof nodeFs);

/**
 * Removes the lock when its recorded holder is gone, or when it has no record and an mtime in the
 * future beyond any holder's refresh (the clock was set back after its holder died). True if removed.
 */
function takeOverDead(lockPath: string): boolean {
  try {
    const owner = readOwner(lockPath);
    if (owner === undefined) {
      if (nodeFs.statSync(lockPath).mtimeMs <= Date.now() + LOCK_STALE_MS) return false;
    } else {
      if (liveness(owner) !== 'dead') return false;
      nodeFs.unlinkSync(join(lockPath, OWNER_FILE));
    }
    nodeFs.rmdirSync(lockPath);
    return true;
  } catch {
    return false;
  }
}

/** What is at `lockPath` when it is something other than a directory (a file, a link), if anything. */
function inTheWay(lockPath: string): string | undefined {
  try {
    const stat = nodeFs.lstatSync(lockPath);
    if (stat.isDirectory()) return undefined;
    return stat.isSymbolicLink() ? 'a symbolic link' : stat.isFile() ? 'a file' : 'not a directory';
  } catch {
    return undefined;
  }
}

function timeoutError(file: string, lockPath: string, waitedMs: number, cause: unknown): TokenStorageError {
  const owner = readOwner(lockPath);
  const waited = `${Math.round(waitedMs / 1000)} s`;
  const state = owner ? liveness(owner) : undefined;
  const holder =
    owner && state === 'alive'
      ? `Process ${owner.pid} holds the lock on ${file} (${lockPath}) and is still running, so the lock was left alone (waited ${waited}). Wait for that process to finish, or stop it,`
      : owner && state === 'elsewhere'
        ? `A process on ${owner.host} (pid ${owner.pid}) holds the lock on ${file} (${lockPath}) (waited ${waited}). Wait for it to finish, or stop it,`
        : `Another process has held the lock on ${file} (${lockPath}) for over ${waited}. Wait for it to finish, or stop the other programs using this login,`;
  return new TokenStorageError('lock_timeout', `${holder} then run this again. Nothing was changed.`, {
    path: file,
    cause,
  });
}

function unavailableError(file: string, lockPath: string, cause: unknown): TokenStorageError {
  const what = inTheWay(lockPath);
  if (what !== undefined) {
    return new TokenStorageError(
      'lock_unavailable',
      `${lockPath} is in the way of the lock on ${file}: it is ${what}, not a lock directory, so no process holds it. Remove it (\`rm ${lockPath}\`).`,
      { path: file, cause },
    );
  }
  const { why, fix } = problemOf(errnoCode(cause), dirname(lockPath));
  return new TokenStorageError(
    'lock_unavailable',
    `Cannot create the lock ${lockPath} (${why}), so the login in ${file} cannot be renewed or changed now; nothing was changed. ${fix}.`,
    { path: file, cause },
  );
}

export interface FileLockOptions {
  /** How long to wait for the lock (default `LOCK_WAIT_MS`). */
  waitMs?: number | undefined;
}

export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  whileWaiting?: () => Promise<T | undefined>,
  options: FileLockOptions = {},
): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const lockPath = `${file}.lock`;
  const waitMs = options.waitMs ?? LOCK_WAIT_MS;
  const started = monotonicMs();
  let delay = FIRST_DELAY_MS;
  let release: () => Promise<void>;
  for (;;) {
    try {
      // One attempt at a time (a stale lock is taken over within the attempt); the waiting is ours.
      release = await lockfile.lock(file, {
        realpath: false,
        lockfilePath: lockPath,
        stale: LOCK_STALE_MS,
        update: LOCK_UPDATE_MS,
        retries: 0,
        fs: lockFs(),
        // Compromise (the mtime could not be refreshed) is reported when releasing, not thrown in a timer.
        onCompromised: () => {},
      });
      break;
    } catch (error) {
      if (errnoCode(error) !== 'ELOCKED' || inTheWay(lockPath) !== undefined) {
        throw unavailableError(file, lockPath, error);
      }
      const waited = monotonicMs() - started;
      if (waited >= waitMs) throw timeoutError(file, lockPath, waited, error);
      if (takeOverDead(lockPath)) continue;
    }
    const done = whileWaiting ? await whileWaiting() : undefined;
    if (done !== undefined) return done;
    await sleep(delay * (1 + Math.random()));
    delay = Math.min(delay * 1.5, MAX_DELAY_MS);
  }
  const nonce = recordOwner(lockPath);
  try {
    return await fn();
  } finally {
    forgetOwner(lockPath, nonce);
    await release().catch((error: unknown) => {
      // Still ours but not removable (its directory became immutable or read-only): make it stale
      // now, so the next process takes it over at once instead of after 5 s. A lock lost to a
      // takeover (ERELEASED) is someone else's now and is left alone.
      if (errnoCode(error) === 'ERELEASED') return;
      try {
        nodeFs.utimesSync(lockPath, 0, 0);
      } catch {}
    });
  }
}
