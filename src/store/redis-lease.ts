/**
 * The Redis token store's lock, shared by every process and machine that uses the same Redis key.
 *
 * - Taken with `SET <key>:lock <owner> NX PX <ttl>` (`ACQUIRE`), the owner random per hold (with
 *   host and pid, for messages), renewed every third of its time to live while held (`RENEW`, never
 *   shortening it) and released by a compare-and-delete script (`RELEASE`): nobody releases a lock
 *   they no longer hold.
 * - A holder that dies lets go when its time to live runs out (`lockTtlMs`, 5 s by default); a live
 *   one keeps it. Waiting is bounded (`lockWaitMs`, 15 s, as for the file lock): then `lock_timeout`
 *   names the holder's host and pid and says to wait for it or stop it, never to delete the lock.
 * - Between attempts (5 ms apart at first, then at most 50 ms, jittered), `whileWaiting` may end the
 *   wait with a value: the token source picks up the tokens the holder has just saved.
 * - A holder can lose the lock without knowing (paused longer than the lock lasts, cut off from
 *   Redis): the store checks that it still holds it, and that the login is the one read under it,
 *   in the same script that makes the lock last `refreshLeaseMs` (30 s) just before a refresh token
 *   is spent (`GATE`). A holder that lost it spends nothing, and takes the lock again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { TokenStorageError } from '../errors.js';
import type { RedisLink } from './redis-link.js';
import { ACQUIRE, evalArgs, RELEASE, RENEW } from './redis-scripts.js';

const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One hold of the lock. */
export interface Lease {
  readonly owner: string;
  /** The login's revision as last read under this hold; `undefined` until it is read. */
  rev: string | undefined;
}

/** The lock was lost while held (see the header): thrown before anything is spent, caught by `lock()`. */
export class LeaseLost extends TokenStorageError {
  readonly lease: Lease;
  constructor(lease: Lease, where: string, why: string) {
    super(
      'lock_timeout',
      `This process lost the lock on the login in ${where} (${why}); nothing was sent or changed. Run this again.`,
      { path: where },
    );
    this.lease = lease;
  }
}

export interface LockTimings {
  /** How long the lock lasts without renewal. */
  ttlMs: number;
  /** How long to wait for it. */
  waitMs: number;
}

function newOwner(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .slice(0, 64) || 'unknown';
  return `${randomBytes(12).toString('hex')}:${host}:${process.pid}`;
}

/** `host (pid N)` from an owner string, for messages. */
export function describeOwner(owner: string): string {
  const [, host, pid] = owner.split(':');
  return host && pid && /^\d+$/.test(pid) ? `${host} (pid ${pid})` : 'another host';
}

export type Acquired<T> = { lease: Lease } | { value: T };

/** Takes the lock, or ends the wait with what `whileWaiting` found; `lock_timeout` past `waitMs`. */
export async function acquire<T>(
  link: RedisLink,
  lockKey: string,
  where: string,
  timings: LockTimings,
  whileWaiting: (() => Promise<T | undefined>) | undefined,
): Promise<Acquired<T>> {
  const owner = newOwner();
  const started = performance.now();
  let delay = FIRST_DELAY_MS;
  for (;;) {
    const reply = await link.call(evalArgs(ACQUIRE, [lockKey], [owner, timings.ttlMs]));
    if (reply === 1) return { lease: { owner, rev: undefined } };
    const [holder, left] = Array.isArray(reply) ? reply : [];
    const waited = performance.now() - started;
    if (waited >= timings.waitMs) {
      const seconds = Math.round(waited / 1000);
      const ttl = typeof left === 'number' && left > 0 ? Math.ceil(left / 1000) : Math.ceil(timings.ttlMs / 1000);
      throw new TokenStorageError(
        'lock_timeout',
        `A process on ${describeOwner(String(holder ?? ''))} holds the lock on the login in ${where} (waited ${seconds} s; a holder that has stopped lets go of it within ${ttl} s). Wait for it to finish, or stop it, then run this again. Nothing was changed.`,
        { path: where },
      );
    }
    const found = whileWaiting ? await whileWaiting() : undefined;
    if (found !== undefined) return { value: found };
    await sleep(delay * (1 + Math.random()));
    delay = Math.min(delay * 1.5, MAX_DELAY_MS);
  }
}

/** Renews the lock every third of its time to live until the returned function is called. */
export function keepAlive(link: RedisLink, lockKey: string, lease: Lease, ttlMs: number): () => void {
  const timer = setInterval(() => {
    // A renewal that fails is not fatal: the gate before a refresh token is spent checks the lock.
    void link.call(evalArgs(RENEW, [lockKey], [lease.owner, ttlMs]), ttlMs / 3).catch(() => {});
  }, ttlMs / 3);
  timer.unref();
  return () => clearInterval(timer);
}

/** Releases the lock if it is still ours; a failure is ignored (it expires by itself). */
export async function release(link: RedisLink, lockKey: string, lease: Lease): Promise<void> {
  await link.call(evalArgs(RELEASE, [lockKey], [lease.owner])).catch(() => {});
}
