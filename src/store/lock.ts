/**
 * The cross-process lock around a refresh: read → refresh → write happens under it, so two
 * processes never spend the same rotating refresh token.
 *
 * - `proper-lockfile`: a lock directory beside the token file (`<file>.lock`), created atomically
 *   with mkdir, its mtime refreshed every second while held. A lock whose holder died (SIGKILL, power
 *   loss) goes stale after 5 s — the library's minimum — and is then taken over.
 * - Waiting is bounded (about 15 s of retries with jittered backoff); past that the caller gets a
 *   `lock_timeout` error saying what to do. The lock is released on every path.
 * - Loaded on first use only: importing the library does not load it.
 */
import { TokenStorageError } from '../errors.js';

export const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;
const LOCK_RETRIES = { retries: 75, factor: 1.25, minTimeout: 5, maxTimeout: 250, randomize: true };

export async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const { default: lockfile } = await import('proper-lockfile');
  const lockPath = `${file}.lock`;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      lockfilePath: lockPath,
      stale: LOCK_STALE_MS,
      update: LOCK_UPDATE_MS,
      retries: LOCK_RETRIES,
      // Compromise (the mtime could not be refreshed) is reported when releasing, not thrown in a timer.
      onCompromised: () => {},
    });
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    throw new TokenStorageError(
      code === 'ELOCKED' ? 'lock_timeout' : 'write_failed',
      code === 'ELOCKED'
        ? `Another process has held the lock on ${file} for too long. If no other program using this login is running, delete ${lockPath} and try again.`
        : `Could not lock ${file} (${String(code ?? 'error')}). Check the permissions of its directory.`,
      { path: file, cause: error },
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
