/**
 * One refresh of a login, as a transaction on the store: read, prove the save, spend the refresh
 * token, compare, save. The token source (`provider.ts`) runs it under the store's lock.
 *
 * Policy:
 * - Every write of a login goes through the store's lock when it has one (the file store does:
 *   `store/lock.ts`): a refresh here, a login's save (`login.ts`) and a logout (the CLI). Under the
 *   lock the store is read first: if another process already rotated the tokens and they are
 *   fresh, they are used with no network call. A store that cannot be read then ends the refresh,
 *   before anything is spent.
 * - Nothing is spent that cannot be kept: a store with `prepareSave` (the file, keychain and Redis
 *   stores) proves under the lock that the save will work before the refresh token is sent. When it
 *   cannot, no token request is sent.
 * - Compare and swap: rotated tokens are saved only if the store still holds the login read under
 *   the lock (the file store compares in its commit; other stores are read again just before
 *   `save`). A login saved meanwhile by a writer that ignored the lock stands, and is used. A store
 *   found empty where it held the login (a logout, under the lock or not) ends the refresh with
 *   `not_logged_in`, and tokens just received are not written: no running process brings a
 *   logged-out login back. An explicit `oauthTokens` with a store that was empty from the start is
 *   saved there, as before.
 * - Time bounds. A waiter gives up on the lock after `LOCK_WAIT_MS` (15 s), so the holder finishes
 *   sooner: token requests start within `REFRESH_DEADLINE_MS` (8 s) of the refresh's start, each
 *   with the time left to it as its timeout, and a backoff or a 429's Retry-After (honoured up to
 *   10 s) that would not leave `MIN_REQUEST_MS` (1 s) for the next request is not waited for. After
 *   the answer come one compare and one save (file store: milliseconds; keychain: up to 3 s each):
 *   at most 8 + 2 × 3 = 14 s under the lock. Transient failures (5xx, 429, network, timeout) are
 *   retried twice within that, re-reading the store before each retry. Deadlines use a monotonic
 *   clock, so a change of the system clock moves none of them; that clock and the sleep before a
 *   retry come in as a `RefreshTimer` (tests pass one that does not sleep).
 * - A save of rotated tokens that fails is reported once: the file and keychain stores keep them in
 *   a copy every reader prefers (`saved_elsewhere`, naming it), a store without one leaves them in
 *   memory, and the message never says to "try again" (that would replay a spent refresh token).
 *   The source remembers the refresh tokens it spent: a store still holding one is behind, not
 *   newer, and its token is never sent again.
 */
import { monotonicMs } from './duration.js';
import { LOGIN_HINT, OAuthFlowError, SETUP_TOKEN_SAVE_HINT, TokenStorageError } from './errors.js';
import { sha256Hex } from './node-crypto.js';
import { TokenStorage } from './store/file.js';
import { keepOnExit } from './store/guard.js';
import type { PreparedSave, TokenStore } from './store/types.js';
import { isApiKeyLogin, isLongLivedLogin } from './stored-login.js';
import { refreshAccessToken } from './token-endpoint.js';
import type { Env, FetchLike, OAuthConfig, OAuthTokens } from './types.js';

/** Transient token-endpoint failures are retried this many times, with backoff (ms). */
const RETRY_DELAYS_MS = [250, 1_000];
/** A 429's Retry-After is honoured up to this many seconds inside one refresh. */
const MAX_RETRY_AFTER_SECONDS = 10;
/** Token requests of one refresh start within this many ms of its start. */
export const REFRESH_DEADLINE_MS = 8_000;
/** No token request is started with less than this many ms left before the deadline. */
const MIN_REQUEST_MS = 1_000;

/**
 * How a refresh waits: a monotonic clock for its deadlines, and the sleep before a retry. The token
 * source passes the system's (`SYSTEM_TIMER`); tests pass one whose sleep returns at once.
 */
export interface RefreshTimer {
  /** Milliseconds on a monotonic clock: a change of the system clock does not move it. */
  monotonicMs(): number;
  sleep(ms: number): Promise<void>;
}

export const SYSTEM_TIMER: RefreshTimer = {
  monotonicMs,
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** What the token source and its renewals share. */
export interface SourceState {
  /** The store rotated tokens go to, or `null` when they stay in memory. */
  store: TokenStore | null;
  /** The tokens in use. */
  current: OAuthTokens | null;
  /** The store has held a login since we first looked: finding it empty later means a logout. */
  storeHeld: boolean;
  /** Hashes of the refresh tokens this source has spent. */
  readonly spent: Set<string>;
}

export interface RenewalOptions {
  config: OAuthConfig;
  fetch: FetchLike | undefined;
  env: Env;
  /** The token source's clock (epoch seconds): the renewed tokens' expiry is counted from it. */
  now: () => number;
  /** Within the refresh buffer of its expiry. */
  expiring(tokens: OAuthTokens): boolean;
  /** Usable as it is: not expiring, not rejected by the API. */
  usable(tokens: OAuthTokens): boolean;
  /** Deadlines and the waits between retries. Default: `SYSTEM_TIMER`. */
  timer?: RefreshTimer | undefined;
}

/** One refresh in flight, joined by every caller that comes while it runs. */
export interface Refresh {
  /** The tokens it replaces. */
  stale: OAuthTokens;
  promise: Promise<OAuthTokens>;
  /** Set once a token request has been sent: from then on the refresh token may be spent. */
  sent: boolean;
}

/** Failures worth retrying: the server or the network, not our request. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof OAuthFlowError)) return false;
  if (error.code === 'network_error' || error.code === 'timeout' || error.code === 'rate_limited') return true;
  return error.code === 'token_endpoint_error' && error.status !== undefined && error.status >= 500;
}

/**
 * A failure after which the old token may still be served: the token endpoint or the network, or
 * the store (its lock, a read, a prepared save) before any token request was sent.
 */
export const isOutage = (error: unknown, run: Refresh): boolean =>
  isTransient(error) || (!run.sent && error instanceof TokenStorageError);

/** How messages name a store: its file, its `location` (keychain, Redis) when it has one, or "the token store". */
export function storeName(store: TokenStore | null): string {
  if (store instanceof TokenStorage) return store.path;
  const location = (store as { location?: unknown } | null)?.location;
  return typeof location === 'string' ? location : 'the token store';
}

/** A login with no refresh token was rejected or has expired: what makes it again (`isLongLivedLogin`). */
function cannotRenew(tokens: OAuthTokens, where: string): OAuthFlowError {
  if (isLongLivedLogin(tokens)) {
    return new OAuthFlowError(
      'reauth_required',
      `The long-lived token saved in ${where} (from \`setup-token\`) was revoked or has expired, and it has no refresh token to renew it. Make a new one with \`${SETUP_TOKEN_SAVE_HINT}\`.`,
    );
  }
  return new OAuthFlowError(
    'reauth_required',
    `The access token has expired and there is no refresh token. ${LOGIN_HINT}`,
  );
}

/** A refresh token, hashed: the source remembers which ones it has spent, not the tokens. */
const spentKey = (refreshToken: string): string => sha256Hex(refreshToken);

/** `a` and `b` are the same login (both empty, or the same tokens). */
const sameLogin = (a: OAuthTokens | null, b: OAuthTokens | null): boolean =>
  a === null || b === null ? a === b : a.refreshToken === b.refreshToken && a.accessToken === b.accessToken;

/** The store's login, when it is OAuth tokens; an API-key login (`login --console`) is never refreshed. */
async function loadOAuth(store: TokenStore, where: string): Promise<OAuthTokens | null> {
  const stored = await store.load();
  if (!isApiKeyLogin(stored)) return stored;
  throw new OAuthFlowError(
    'not_logged_in',
    `The login in ${where} was replaced by a Console login (an API key) while this program was running. Start the program again to use the key.`,
  );
}

function loggedOut(where: string): OAuthFlowError {
  return new OAuthFlowError(
    'not_logged_in',
    `Not logged in: the login in ${where} was removed (a logout) while this program was running. ${LOGIN_HINT}`,
  );
}

/**
 * The error for renewed tokens that a store without `prepareSave` could not save. Its own message
 * may advise to "try again", which would replay the spent refresh token: it is kept as the cause.
 */
function unsavedError(error: unknown, where: string): TokenStorageError {
  if (error instanceof TokenStorageError && error.code === 'saved_elsewhere') return error;
  const code = error instanceof TokenStorageError ? error.code : 'write_failed';
  return new TokenStorageError(
    code,
    `The login was renewed, but it could not be saved to ${where} (${code}). This program keeps using it; the refresh token still stored there is used up, so other programs using it will have to sign in again. ${LOGIN_HINT}`,
    { path: error instanceof TokenStorageError ? error.path : undefined, cause: error },
  );
}

export function createRenewal(state: SourceState, options: RenewalOptions) {
  const { config, env, expiring, usable } = options;
  const timer = options.timer ?? SYSTEM_TIMER;
  const isSpent = (tokens: OAuthTokens): boolean => state.spent.has(spentKey(tokens.refreshToken));
  const where = (): string => storeName(state.store);

  /** The stored tokens if another process has rotated past `stale` (not a login we replaced). */
  async function newerInStore(stale: OAuthTokens): Promise<OAuthTokens | null> {
    if (!state.store) return null;
    const stored = await loadOAuth(state.store, where()).catch(() => null);
    if (!stored || stored.accessToken === stale.accessToken || isSpent(stored)) return null;
    return stored;
  }

  /** The stored tokens if another process has rotated past `stale` and they are usable. */
  async function usableInStore(stale: OAuthTokens): Promise<OAuthTokens | undefined> {
    const stored = await newerInStore(stale);
    return stored && usable(stored) ? stored : undefined;
  }

  /** The store, read under the lock: a failure ends the refresh before anything is spent. */
  async function readUnderLock(): Promise<OAuthTokens | null> {
    if (!state.store) return null;
    const stored = await loadOAuth(state.store, where());
    if (stored) state.storeHeld = true;
    else if (state.storeHeld) {
      state.current = null;
      throw loggedOut(where());
    }
    return stored;
  }

  /** The refresh proper; the token source runs it under the store's lock when it has one. */
  async function renew(run: Refresh): Promise<OAuthTokens> {
    const { stale } = run;
    const started = timer.monotonicMs();
    const left = (): number => REFRESH_DEADLINE_MS - (timer.monotonicMs() - started);
    let prepared: PreparedSave | undefined;
    let preparedFor: OAuthTokens | null = null;
    try {
      for (let attempt = 0; ; attempt++) {
        // Read the store again first (also before every retry): another process may have rotated
        // the tokens, or a response we lost may have been saved by someone else.
        const stored = await readUnderLock();
        if (stored && stored.accessToken !== stale.accessToken && !isSpent(stored) && usable(stored)) return stored;
        // The store's refresh token is the newest one we know of, unless we spent it already.
        const base = stored && !isSpent(stored) ? stored : stale;
        const refreshToken = base.refreshToken || stale.refreshToken;
        if (!refreshToken) throw cannotRenew(base, where());
        if (prepared && !sameLogin(preparedFor, stored)) {
          await prepared.discard();
          prepared = undefined;
        }
        if (!prepared && state.store?.prepareSave) {
          prepared = await state.store.prepareSave();
          preparedFor = stored;
        }
        if (left() < MIN_REQUEST_MS) {
          throw new OAuthFlowError('timeout', 'The login could not be renewed in time (the store was too slow).');
        }
        let fresh: OAuthTokens;
        try {
          run.sent = true;
          fresh = await refreshAccessToken({
            refreshToken,
            config,
            fetch: options.fetch,
            env,
            now: options.now,
            timeoutMs: Math.floor(left()),
          });
        } catch (error) {
          if (error instanceof OAuthFlowError && error.code === 'invalid_grant') {
            const winner = await newerInStore(stale);
            if (winner && winner.refreshToken !== refreshToken && !expiring(winner)) return winner;
            throw new OAuthFlowError(
              'reauth_required',
              `The login has expired or was revoked (the refresh token was rejected). ${LOGIN_HINT}`,
              { status: error.status, body: error.body, cause: error },
            );
          }
          const backoff = RETRY_DELAYS_MS[attempt];
          if (!isTransient(error) || backoff === undefined) throw error;
          const retryAfter = error instanceof OAuthFlowError ? error.retryAfter : undefined;
          const delay = retryAfter === undefined ? backoff : Math.min(retryAfter, MAX_RETRY_AFTER_SECONDS) * 1000;
          // A wait that would leave no time for the next request ends the refresh now.
          if (delay + MIN_REQUEST_MS > left()) throw error;
          await timer.sleep(delay);
          continue;
        }
        state.spent.add(spentKey(refreshToken));
        // The account summary saved at login (what `status` shows) is carried over unchanged.
        if (base.summary && !fresh.summary) fresh = { ...fresh, summary: base.summary };
        const reserved = prepared;
        prepared = undefined;
        // No `await` between the answer and a prepared commit: `process.exit()` cannot come between.
        return await keep(fresh, stored, reserved);
      }
    } finally {
      await prepared?.discard();
    }
  }

  /** Saves `fresh` if the store still holds `stored`, the login read under the lock. */
  async function keep(fresh: OAuthTokens, stored: OAuthTokens | null, prepared?: PreparedSave): Promise<OAuthTokens> {
    const { store } = state;
    if (!store) {
      state.current = fresh;
      return fresh;
    }
    if (prepared) {
      let saved: boolean;
      try {
        saved = await prepared.commit(fresh);
      } catch (error) {
        state.current = fresh;
        throw error;
      }
      if (!saved) return superseded(fresh);
    } else {
      const release = keepOnExit(store, fresh);
      try {
        const again = await store.load().then(
          (tokens) => tokens,
          () => undefined,
        );
        // Unreadable now: nobody who respects the lock can have changed it, so the save goes ahead.
        if (again !== undefined && (isApiKeyLogin(again) || !sameLogin(again, stored))) return await superseded(fresh);
        state.current = fresh;
        await store.save(fresh).catch((error: unknown) => {
          throw unsavedError(error, where());
        });
      } finally {
        release();
      }
    }
    state.current = fresh;
    state.storeHeld = true;
    return fresh;
  }

  /** The store changed during the refresh without the lock (a login, a logout): that change stands. */
  async function superseded(fresh: OAuthTokens): Promise<OAuthTokens> {
    const stored = state.store ? await loadOAuth(state.store, where()).catch(() => undefined) : undefined;
    if (stored === null) {
      state.current = null;
      throw loggedOut(where());
    }
    state.current = stored ?? fresh;
    return state.current;
  }

  return { renew, usableInStore };
}
