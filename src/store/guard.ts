/**
 * Guards around the writes of a login.
 *
 * - The lock: a login's save and a logout run under the store's lock (`underLock`), like every
 *   refresh, so none of them undoes another. Where the lock cannot be created at all
 *   (`lock_unavailable`: a read-only directory, a file in its place) no refresh can hold it either,
 *   and the write goes ahead without it rather than failing a login or a logout for it.
 * - The exit guard for fresh tokens. A refresh spends the refresh token it sends: once the token
 *   endpoint has answered, the tokens in memory are the only live copy of the login until they are
 *   saved. (A prepared save, `TokenStore.prepareSave`, needs no guard: its commit writes before its
 *   first `await`, so `process.exit()` cannot come between the answer and the write.)
 */
import { TokenStorageError } from '../errors.js';
import type { StoredLogin } from '../types.js';
import type { TokenStore } from './types.js';

/** Runs `write` (a save or a clear of `store`) under the store's lock, when it has one. */
export async function underLock<T>(store: TokenStore, write: () => Promise<T>): Promise<T> {
  if (!store.lock) return write();
  let ran = false;
  try {
    return await store.lock(() => {
      ran = true;
      return write();
    });
  } catch (error) {
    if (ran || !(error instanceof TokenStorageError && error.code === 'lock_unavailable')) throw error;
    return write();
  }
}

/**
 * Fresh tokens whose `save()` has not finished. Their refresh token is the only live one: if the
 * process exits now (`process.exit()` runs no more asynchronous code), the `exit` event writes them
 * with the store's `saveSync()`, when it has one, so that the login survives.
 */
const unsaved = new Set<{ store: TokenStore; tokens: StoredLogin }>();
let exitGuard = false;

function saveUnsavedOnExit(): void {
  for (const { store, tokens } of unsaved) {
    try {
      store.saveSync?.(tokens);
    } catch {
      // Nothing more can be done while exiting; `save()` had the same problem.
    }
  }
}

/**
 * Guards `tokens` (the only live copy of a login) against `process.exit()` until the returned
 * function is called: the `exit` event saves them with `store.saveSync()`. A no-op without it.
 */
export function keepOnExit(store: TokenStore, tokens: StoredLogin): () => void {
  if (!store.saveSync) return () => {};
  if (!exitGuard) {
    exitGuard = true;
    process.on('exit', saveUnsavedOnExit);
  }
  const entry = { store, tokens };
  unsaved.add(entry);
  return () => {
    unsaved.delete(entry);
  };
}

/**
 * `store.save(tokens)` for tokens that are the only live copy of a login (just rotated, or just
 * issued): guarded against `process.exit()` while the save is in flight.
 */
export async function saveFreshTokens(store: TokenStore, tokens: StoredLogin): Promise<void> {
  const release = keepOnExit(store, tokens);
  try {
    await store.save(tokens);
  } finally {
    release();
  }
}
