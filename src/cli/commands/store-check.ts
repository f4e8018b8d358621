/**
 * Before `login` opens the browser: can the store keep a login at all? A sign-in spends its
 * authorization code; finding out afterwards that the token file's directory is read-only, the
 * keychain has no Secret Service or `@napi-rs/keyring` is not installed, or Redis is down, wastes
 * the whole browser round and says nothing the user could not have been told first.
 *
 * The check is cheap and holds nothing across the browser flow (no lock, no reservation): the store
 * is read once (which loads a keychain's package and reaches its service, or Redis), then a store
 * with `prepareSave` (the file, Redis, the keychain: a write-back of the login it holds) prepares a
 * save and discards it at once. A login the store holds that cannot be read (a corrupt file) is not
 * a reason to refuse, the new login replaces it: for such a file, only its directory is proved to
 * take new files.
 */

import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, TokenStorageError } from '../../errors.js';
import { problemOf } from '../../store/atomic.js';
import type { PreparedSave } from '../../store/types.js';
import type { Target } from './target.js';

export async function checkStoreCanSave(target: Target): Promise<void> {
  const { store } = target;
  let readable = true;
  try {
    await store.load();
  } catch (error) {
    // A token file that cannot be read (corrupt, too open, unreadable): the new login replaces it.
    // A keychain entry that is not a login, the same.
    if (!(target.kind === 'file' || (error instanceof TokenStorageError && error.code === 'corrupt_file'))) throw error;
    readable = false;
  }
  let prepared: PreparedSave | undefined;
  try {
    // `prepareSave` reads the login first: for an unreadable file, prove only that its directory takes files.
    if (readable && store.prepareSave) prepared = await store.prepareSave();
    else if (target.path !== undefined) await probeDirectory(dirname(target.path));
  } catch (error) {
    // The keychain's own refusal, as it says it for a save (its prepared save words it for a renewal).
    if (target.kind === 'keychain' && error instanceof TokenStorageError && error.cause instanceof TokenStorageError)
      throw error.cause;
    // The system error (the file store's cause): say it for a login, not for a renewal.
    const found = error instanceof TokenStorageError ? errnoCode(error.cause) : errnoCode(error);
    // `mkdir -p` through a file answers EEXIST: a part of the path is not a directory.
    const code = found === 'EEXIST' ? 'ENOTDIR' : found;
    if (code === undefined || target.path === undefined) throw error;
    const path = (error instanceof TokenStorageError ? error.path : undefined) ?? target.path;
    const { why, fix, code: storageCode } = problemOf(code, dirname(path));
    throw new TokenStorageError(
      storageCode,
      `Cannot sign in: the login could not be saved to ${path} (${why}). Nothing was sent to Anthropic. ${fix}, then run \`npx anthropic-oauth login\` again.`,
      { path, cause: error },
    );
  }
  await prepared?.discard();
}

/** Creates `dir` if needed and a file in it, then removes the file: the directory takes new files. */
async function probeDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const probe = join(dir, `.anthropic-oauth-probe-${process.pid}-${Date.now()}`);
  await writeFile(probe, '', { flag: 'wx', mode: 0o600 });
  await unlink(probe);
}
