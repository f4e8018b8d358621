/**
 * The token source: where the tokens come from, when they are refreshed, and where rotated tokens go.
 * `AnthropicOAuth` hands `source.provider` to the SDK as its `credentials`; the SDK then caches the
 * token, coalesces its own refreshes and retries once after a 401.
 *
 * Policy:
 * - Origin, decided on first use: explicit `oauthTokens`, else `tokenStorage`, else the environment
 *   variables, else the token file of the profile (`profile`, else `ANTHROPIC_OAUTH_PROFILE`, else the
 *   default file). An explicit source is the only source (an empty store
 *   is `not_logged_in`, with no fall-through). A failed load is retried on the next call.
 * - A token within the refresh buffer of its expiry is refreshed before use. The buffer is
 *   `EXPIRY_BUFFER_SECONDS`, or a quarter of the token's lifetime when the lifetime is shorter, so a token
 *   that lives minutes is still used for most of its life. The SDK's cache is handed an expiry
 *   shifted so that its advisory window opens exactly when our buffer starts: it keeps serving the
 *   still-valid token (>= 210 s left) while one background refresh runs. For short-lived tokens
 *   our threshold becomes its blocking point instead, so no request uses a token past it.
 * - One refresh at a time per source: every caller joins the refresh in flight. Across processes,
 *   the refresh (read → refresh → write) runs under the store's lock when it has one (the file
 *   store does: `store/lock.ts`).
 * - Before spending a refresh token the store is read again: if another process already rotated
 *   the tokens and they are fresh, they are used with no network call.
 * - Transient failures (5xx, 429, network, timeout) are retried twice with backoff (a 429's
 *   Retry-After honoured up to 10 s), re-reading the store before each retry. If the refresh still
 *   fails while the current token has more than 5 s to live, that token keeps being served, and
 *   the refresh is tried again after 5 s.
 * - Rotated tokens are saved before the new access token is handed out. A failed save is reported
 *   once to the caller, while the new tokens stay in memory (the old refresh token is spent).
 * - A 401 marks the access token as rejected. A forced refresh (the SDK's reaction to a 401) spends
 *   the refresh token only if the current token is the rejected one; otherwise a newer token already
 *   exists and is returned. So any number of simultaneous 401s cause one refresh.
 * - `invalid_grant` re-reads the store first (another process may have won the race); only then is
 *   it `reauth_required`. The stored login is never deleted or blanked on a failure.
 */
import type { AccessToken, AccessTokenProvider } from '@anthropic-ai/sdk/lib/credentials';
import { type Env, resolveConfig } from './config.js';
import { EXPIRY_BUFFER_SECONDS } from './constants.js';
import { loadTokensFromEnv } from './env.js';
import { LOGIN_HINT, OAuthFlowError } from './errors.js';
import { profileFromEnv, TokenStorage, tokenPathForProfile } from './store/file.js';
import { saveFreshTokens } from './store/guard.js';
import { isTokenStore, type TokenStore } from './store/types.js';
import { refreshAccessToken } from './token.js';
import { lifetimeOf, nowSeconds } from './tokens.js';
import type { Fetch, OAuthConfig, OAuthTokens } from './types.js';

/** The SDK's TokenCache serves a cached token while more than this many seconds remain. */
const SDK_ADVISORY_SECONDS = 120;
/** …and blocks on a refresh when fewer than this many remain. */
const SDK_MANDATORY_SECONDS = 30;
const MAX_REJECTED = 32;
/** Transient token-endpoint failures are retried this many times, with backoff (ms). */
const RETRY_DELAYS_MS = [250, 1_000];
/** A 429's Retry-After is honoured up to this many seconds inside one refresh. */
const MAX_RETRY_AFTER_SECONDS = 10;
/** After a transient failure, a still-valid token is served without retrying for this long. */
const FAILURE_BACKOFF_SECONDS = 5;
/** "Still valid" leaves at least this much of the token's life. */
const STILL_VALID_MARGIN_SECONDS = 5;

export interface TokenSourceOptions {
  oauthTokens?: OAuthTokens | undefined;
  /** A store, a file path, or `null` for none. */
  tokenStorage?: TokenStore | string | null | undefined;
  oauthConfig?: Partial<OAuthConfig> | undefined;
  /** The `fetch` used for token requests (default: global `fetch`). */
  fetch?: Fetch | undefined;
  env?: Env | undefined;
  /**
   * The profile whose token file is used when no `oauthTokens`/`tokenStorage` is given (after the
   * environment variables, as the default file is). Default: `ANTHROPIC_OAUTH_PROFILE`, else the
   * default profile (`defaultTokenPath()`). See `tokenPathForProfile`.
   */
  profile?: string | undefined;
  /** Clock in epoch seconds (tests pass their own). */
  now?: (() => number) | undefined;
}

export type TokenOrigin = 'tokens' | 'store' | 'env' | 'file';

export interface TokenSource {
  /** The SDK hook (`credentials`). */
  readonly provider: AccessTokenProvider;
  /** Valid tokens, refreshed first if they are within the buffer of expiry. */
  getTokens(): Promise<OAuthTokens>;
  /** Records that the API answered 401 to this access token. */
  markRejected(accessToken: string): void;
  /** A newer access token to use instead of one that was rejected, if there is one. */
  replacementFor(accessToken: string): string | undefined;
  /** Refreshes unless a newer token than `rejected` already exists; the 401 path. */
  refreshAfterRejection(rejected: string): Promise<OAuthTokens>;
  readonly config: OAuthConfig;
  /** The store rotated tokens go to, or `null` when they stay in memory. */
  readonly store: TokenStore | null;
}

export function resolveStore(tokenStorage: TokenStore | string): TokenStore {
  if (typeof tokenStorage === 'string') return new TokenStorage(tokenStorage);
  if (isTokenStore(tokenStorage)) return tokenStorage;
  throw new TypeError('tokenStorage must be a TokenStore (load/save/clear), a file path, or null.');
}

/** The refresh buffer for a token: 300 s, or a quarter of its lifetime when that is shorter. */
export function refreshBuffer(lifetimeSeconds: number | undefined): number {
  return lifetimeSeconds === undefined ? EXPIRY_BUFFER_SECONDS : Math.min(EXPIRY_BUFFER_SECONDS, lifetimeSeconds / 4);
}

function notLoggedIn(where: string): OAuthFlowError {
  return new OAuthFlowError('not_logged_in', `Not logged in: no OAuth tokens ${where}. ${LOGIN_HINT}`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Failures worth retrying: the server or the network, not our request. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof OAuthFlowError)) return false;
  if (error.code === 'network_error' || error.code === 'timeout' || error.code === 'rate_limited') return true;
  return error.code === 'token_endpoint_error' && error.status !== undefined && error.status >= 500;
}

export function createTokenSource(options: TokenSourceOptions = {}): TokenSource {
  const env = options.env ?? process.env;
  const config = resolveConfig(options.oauthConfig, env);
  const now = options.now ?? nowSeconds;
  // An invalid `profile` option is a configuration mistake: say so at once, not on first use.
  if (options.profile !== undefined) tokenPathForProfile(options.profile, env);
  const explicitStore =
    options.tokenStorage === undefined || options.tokenStorage === null ? null : resolveStore(options.tokenStorage);

  let store: TokenStore | null = explicitStore;
  let current: OAuthTokens | null = options.oauthTokens ? { ...options.oauthTokens } : null;
  let inflight: Promise<OAuthTokens> | null = null;
  const rejected = new Set<string>();

  const expiring = (tokens: OAuthTokens): boolean =>
    tokens.expiresAt !== null && now() + refreshBuffer(lifetimeOf(tokens)) >= tokens.expiresAt;

  async function load(): Promise<OAuthTokens> {
    if (current) return current;
    if (explicitStore) {
      current = await explicitStore.load();
      if (!current)
        throw notLoggedIn(`in ${explicitStore instanceof TokenStorage ? explicitStore.path : 'the token store'}`);
      return current;
    }
    if (options.tokenStorage === undefined || options.tokenStorage === null) {
      const fromEnv = loadTokensFromEnv(env);
      if (fromEnv) {
        current = fromEnv;
        return current;
      }
    }
    if (options.tokenStorage === null) throw notLoggedIn('were given and none are in the environment');
    const file = new TokenStorage(tokenPathForProfile(options.profile ?? profileFromEnv(env), env));
    current = await file.load();
    if (!current) throw notLoggedIn(`in the environment or in ${file.path}`);
    store = file;
    return current;
  }

  /** The stored tokens if another process has rotated past `stale`. */
  async function newerInStore(stale: OAuthTokens): Promise<OAuthTokens | null> {
    if (!store) return null;
    const stored = await store.load().catch(() => null);
    if (!stored || stored.accessToken === stale.accessToken) return null;
    return stored;
  }

  /** Tokens found in the store that can be used as they are: not expiring, not rejected by the API. */
  const usable = (tokens: OAuthTokens): boolean => !expiring(tokens) && !rejected.has(tokens.accessToken);

  /** The stored tokens if another process has rotated past `stale` and they are usable. */
  async function usableInStore(stale: OAuthTokens): Promise<OAuthTokens | undefined> {
    const stored = await newerInStore(stale);
    return stored && usable(stored) ? stored : undefined;
  }

  /** The refresh proper; runs under the store's cross-process lock when it has one. */
  async function doRefresh(stale: OAuthTokens): Promise<OAuthTokens> {
    for (let attempt = 0; ; attempt++) {
      // Read the store again first (also before every retry): another process may have rotated
      // the tokens, or a response we lost may have been saved by someone else.
      const stored = await newerInStore(stale);
      if (stored && usable(stored)) return stored;
      // The store's refresh token is the newest one we know of; ours may already be spent.
      const refreshToken = stored?.refreshToken || stale.refreshToken;
      if (!refreshToken) {
        throw new OAuthFlowError(
          'reauth_required',
          `The access token has expired and there is no refresh token. ${LOGIN_HINT}`,
        );
      }
      let fresh: OAuthTokens;
      try {
        fresh = await refreshAccessToken({ refreshToken, config, fetch: options.fetch, env });
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
        const delay = RETRY_DELAYS_MS[attempt];
        if (!isTransient(error) || delay === undefined) throw error;
        const retryAfter = error instanceof OAuthFlowError ? error.retryAfter : undefined;
        await sleep(retryAfter === undefined ? delay : Math.min(retryAfter, MAX_RETRY_AFTER_SECONDS) * 1000);
        continue;
      }
      current = fresh;
      if (store) await saveFreshTokens(store, fresh);
      return fresh;
    }
  }

  function refresh(stale: OAuthTokens): Promise<OAuthTokens> {
    if (!inflight) {
      // While another process holds the lock, the tokens it saves end the wait.
      const locked = store?.lock
        ? store.lock(
            () => doRefresh(stale),
            () => usableInStore(stale),
          )
        : doRefresh(stale);
      inflight = locked.then(
        (tokens) => {
          current = tokens;
          inflight = null;
          return tokens;
        },
        (error: unknown) => {
          inflight = null;
          throw error;
        },
      );
    }
    return inflight;
  }

  let lastTransientFailure = Number.NEGATIVE_INFINITY;

  /** True while the token can still be used even though it is inside the refresh buffer. */
  const stillValid = (tokens: OAuthTokens): boolean =>
    tokens.expiresAt === null || now() + STILL_VALID_MARGIN_SECONDS < tokens.expiresAt;

  async function getTokens(): Promise<OAuthTokens> {
    if (inflight) return inflight;
    const tokens = await load();
    if (!expiring(tokens)) return tokens;
    // An outage of the token endpoint must not stop requests while the token still works.
    if (now() - lastTransientFailure < FAILURE_BACKOFF_SECONDS && stillValid(tokens)) return tokens;
    try {
      return await refresh(tokens);
    } catch (error) {
      if (!isTransient(error) || !stillValid(tokens)) throw error;
      lastTransientFailure = now();
      return tokens;
    }
  }

  async function refreshAfterRejection(rejectedToken: string): Promise<OAuthTokens> {
    if (inflight) return inflight;
    const tokens = await load();
    return tokens.accessToken === rejectedToken ? refresh(tokens) : getTokens();
  }

  function markRejected(accessToken: string): void {
    rejected.add(accessToken);
    if (rejected.size > MAX_REJECTED) {
      const oldest = rejected.values().next().value;
      if (oldest !== undefined) rejected.delete(oldest);
    }
  }

  function toAccessToken(tokens: OAuthTokens): AccessToken {
    if (tokens.expiresAt === null) return { token: tokens.accessToken, expiresAt: null };
    const buffer = refreshBuffer(lifetimeOf(tokens));
    // Open the SDK's advisory window when our buffer starts, if its mandatory window (90 s later)
    // still falls well before the real expiry; otherwise make our threshold its mandatory point.
    const shift = buffer >= SDK_ADVISORY_SECONDS ? SDK_ADVISORY_SECONDS : SDK_MANDATORY_SECONDS;
    return { token: tokens.accessToken, expiresAt: tokens.expiresAt - buffer + shift };
  }

  const provider: AccessTokenProvider = async (opts) => {
    const tokens = await getTokens();
    if (opts?.forceRefresh && rejected.has(tokens.accessToken)) {
      return toAccessToken(await refreshAfterRejection(tokens.accessToken));
    }
    return toAccessToken(tokens);
  };

  return {
    provider,
    getTokens,
    markRejected,
    replacementFor(accessToken) {
      if (!rejected.has(accessToken) || !current || current.accessToken === accessToken) return undefined;
      return current.accessToken;
    },
    refreshAfterRejection,
    config,
    get store() {
      return store;
    },
  };
}
