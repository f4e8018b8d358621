import type { StoredLogin } from '../types.js';

/**
 * Where a login is kept. Implementations must be safe to call concurrently within one process and
 * must never lose a saved login: `save` replaces the previous tokens atomically or not at all.
 *
 * Writers and the lock: when the store has `lock`, every write of a login goes through it: the
 * token source refreshes under it (read → refresh → write), and the login and logout of this
 * package save and clear under it. Under the lock the token source reads the store first and saves
 * only if it still holds the login whose refresh token was spent (compare and swap), so a login or
 * a logout is never undone by a refresh that was in flight; after a logout (the store empty where
 * it held the login), the next refresh is `not_logged_in` and nothing is saved.
 */
export interface TokenStore {
  /** The stored tokens, or `null` when nothing is stored. Throws `TokenStorageError` when unreadable. */
  load(): Promise<StoredLogin | null>;
  save(tokens: StoredLogin): Promise<void>;
  clear(): Promise<void>;
  /**
   * Optional: runs `fn` holding a lock that other processes sharing this store respect. The token
   * source refreshes inside it (read → refresh → write), so only one process spends a refresh token.
   * While it waits for the lock, it may call `whileWaiting` now and then and, when that returns a
   * value, stop waiting and return it without running `fn` (the token source passes a check for
   * tokens another process has just saved). Ignoring `whileWaiting` is correct, only slower.
   * `save` and `clear` must not take this lock themselves: callers hold it around them.
   */
  lock?<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T>;
  /**
   * Optional: a synchronous `save`, called only from the process's `exit` event when a refresh has
   * received new tokens and their `save` has not finished: the refresh token they replace is already
   * revoked, so without them the login would be lost. `process.exit()` runs no asynchronous code.
   */
  saveSync?(tokens: StoredLogin): void;
  /**
   * Optional: proves, before a refresh token is spent, that the tokens the refresh brings can be
   * saved, and reserves what that takes. The token source calls it under the lock after reading the
   * store; when it throws (a `TokenStorageError` saying what to fix), no token request is sent and a
   * still-valid token keeps being served. Stores without it are saved with `save` after the refresh.
   */
  prepareSave?(): Promise<PreparedSave>;
  /**
   * Optional: `load()`, saying where the login came from when it was not the store itself: a copy
   * kept when the store could not take a renewed login (a rescue copy, a journal, a keychain's
   * fallback file). `status` shows it; everything else calls `load()`.
   */
  loadDetailed?(): Promise<LoadedLogin>;
}

/** What `TokenStore.loadDetailed` read. */
export interface LoadedLogin {
  tokens: StoredLogin | null;
  /** The copy the login was read from, when not the store itself: a path, or a name for people. */
  recoveredFrom?: string | undefined;
}

/** A save proved possible by `TokenStore.prepareSave`; exactly one of its methods is called, once. */
export interface PreparedSave {
  /**
   * Saves `tokens`, if the store still holds the login it held when the save was prepared (compare
   * and swap); otherwise writes nothing and resolves `false`. Do the writing before the first
   * `await`, so that `process.exit()` cannot come between the refresh and the save. If the write
   * fails even so, keep the tokens where `load()` finds them and throw a `TokenStorageError` with the
   * code `saved_elsewhere` whose message names the place; throw another `TokenStorageError` only
   * when they could not be kept at all. The refresh token they replace is spent either way.
   */
  commit(tokens: StoredLogin): Promise<boolean>;
  /** Releases what was reserved, when no tokens came (the refresh failed). Never throws. */
  discard(): Promise<void>;
}

export function isTokenStore(value: unknown): value is TokenStore {
  if (value === null || typeof value !== 'object') return false;
  const store = value as Record<string, unknown>;
  return typeof store.load === 'function' && typeof store.save === 'function' && typeof store.clear === 'function';
}
