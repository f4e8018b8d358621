/**
 * The exit guard for fresh tokens. A refresh spends the refresh token it sends: once the token
 * endpoint has answered, the tokens in memory are the only live copy of the login until they are
 * saved.
 */
import type { OAuthTokens } from '../types.js';
import type { TokenStore } from './types.js';

/**
 * Fresh tokens whose `save()` has not finished. Their refresh token is the only live one: if the
 * process exits now (`process.exit()` runs no more asynchronous code), the `exit` event writes them
 * with the store's `saveSync()`, when it has one, so that the login survives.
 */
const unsaved = new Set<{ store: TokenStore; tokens: OAuthTokens }>();
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
 * `store.save(tokens)` for tokens that are the only live copy of a login (just rotated, or just
 * issued): guarded against `process.exit()` while the save is in flight.
 */
export async function saveFreshTokens(store: TokenStore, tokens: OAuthTokens): Promise<void> {
  if (!store.saveSync) return store.save(tokens);
  if (!exitGuard) {
    exitGuard = true;
    process.on('exit', saveUnsavedOnExit);
  }
  const entry = { store, tokens };
  unsaved.add(entry);
  try {
    await store.save(tokens);
  } finally {
    unsaved.delete(entry);
  }
}
