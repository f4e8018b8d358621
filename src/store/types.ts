import type { OAuthTokens } from '../types.js';

/**
 * Where a login is kept. Implementations must be safe to call concurrently within one process and
 * must never lose a saved login: `save` replaces the previous tokens atomically or not at all.
 */
export interface TokenStore {
  /** The stored tokens, or `null` when nothing is stored. Throws `TokenStorageError` when unreadable. */
  load(): Promise<OAuthTokens | null>;
  save(tokens: OAuthTokens): Promise<void>;
  clear(): Promise<void>;
  /**
   * Optional: runs `fn` holding a lock that other processes sharing this store respect. The token
   * source refreshes inside it (read → refresh → write), so only one process spends a refresh token.
   * While it waits for the lock, it may call `whileWaiting` now and then and, when that returns a
   * value, stop waiting and return it without running `fn` (the token source passes a check for
   * tokens another process has just saved). Ignoring `whileWaiting` is correct, only slower.
   */
  lock?<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T>;
  /**
   * Optional: a synchronous `save`, called only from the process's `exit` event when a refresh has
   * received new tokens and their `save` has not finished: the refresh token they replace is already
   * revoked, so without them the login would be lost. `process.exit()` runs no asynchronous code.
   */
  saveSync?(tokens: OAuthTokens): void;
}

export function isTokenStore(value: unknown): value is TokenStore {
  if (value === null || typeof value !== 'object') return false;
  const store = value as Record<string, unknown>;
  return typeof store.load === 'function' && typeof store.save === 'function' && typeof store.clear === 'function';
}
