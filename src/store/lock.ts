/**
 * The cross-process lock around a refresh: read → refresh → write happens under it, so two
 * processes never spend the same rotating refresh token.
 *
 * - `proper-lockfile`: a lock directory beside the token file (`<file>.lock`), created atomically
 *   with mkdir, its mtime refreshed every second while held. A lock whose holder died (SIGKILL, power
 *   loss) goes stale after 5 s — the library's minimum — and is then taken over.
 * - Waiting is bounded (15 s of attempts, 5 ms apart at first, then at most 50 ms, jittered); past
 *   that the caller gets a `lock_timeout` error saying what to do. The lock is released on every path.
 * - Between attempts, `whileWaiting` (when given) may end the wait with a value: the token source
 *   uses it to pick up the tokens the lock holder has just saved, instead of queueing for the lock
 *   only to read them under it.
 * - Loaded on first use only: importing the library does not load it.
 */
import { errnoCode, TokenStorageError } from '../errors.js';

export const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;
const LOCK_WAIT_MS = 15_000;
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 50;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  whileWaiting?: () => Promise<T | undefined>,
): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const lockPath = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
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
        // Compromise (the mtime could not be refreshed) is reported when releasing, not thrown in a timer.
        onCompromised: () => {},
      });
      break;
    } catch (error) {
      const code = errnoCode(error);
      if (code !== 'ELOCKED') {
        throw new TokenStorageError(
          'write_failed',
          `Could not lock ${file} (${code ?? 'error'}). Check the permissions of its directory.`,
          { path: file, cause: error },
        );
      }
      if (Date.now() >= deadline) {
        throw new TokenStorageError(
          'lock_timeout',
          `Another process has held the lock on ${file} for too long. If no other program using this login is running, delete ${lockPath} and try again.`,
          { path: file, cause: error },
        );
      }
    }
    const done = whileWaiting ? await whileWaiting() : undefined;
    if (done !== undefined) return done;
    await sleep(delay * (1 + Math.random()));
    delay = Math.min(delay * 1.5, MAX_DELAY_MS);
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
