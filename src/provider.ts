/**
 * The token source: where the tokens come from, when they are refreshed, and where rotated tokens go.
 * `AnthropicOAuth` hands it to the SDK as its `credentials` (`sdk-seam.ts`); the SDK then caches the
 * token, coalesces its own refreshes and retries once after a 401.
 *
 * Policy:
 * - Explicit `oauthTokens` are checked when the source is made (`checkGivenTokens`): a token that
 *   could not go into a header is `invalid_config` then, not a `TypeError` on every request.
 * - Origin, decided on first use: explicit `oauthTokens`, else `tokenStorage`, else the environment
 *   variables, else the token file of the profile (`profile`, else `ANTHROPIC_OAUTH_PROFILE`, else the
 *   default file). An explicit source is the only source (an empty store
 *   is `not_logged_in`, with no fall-through). A failed load is retried on the next call.
 * - A token within the refresh buffer of its expiry is refreshed before use. The buffer is
 *   `EXPIRY_BUFFER_SECONDS`, or a quarter of the token's lifetime when the lifetime is shorter, so a token
 *   that lives minutes is still used for most of its life. (How the SDK's token cache is lined up
 *   with this buffer: `sdk-seam.ts`.)
 * - One refresh at a time per source: every caller joins the refresh in flight, and if it fails
 *   transiently while the token still has more than 5 s to live, every one of them gets that token.
 * - Refreshes across processes, and what may be spent and saved, are `renewal.ts`: under the
 *   store's lock, nothing is spent that cannot be kept, rotated tokens are saved only if the store
 *   still holds the login that was spent (a login or a logout made meanwhile stands), and the lock
 *   is held for at most 14 s. If a refresh fails transiently (5xx, 429, network, timeout), or the
 *   store fails before any token request (its lock cannot be created, it cannot be read or cannot
 *   take a save), while the current token has more than 5 s to live, that token keeps being served
 *   and the refresh is tried again after 5 s.
 * - Rotated tokens are saved before the new access token is handed out. A failed save is reported
 *   once (saying where they were kept, if anywhere) and the new tokens stay in use.
 * - A 401 marks the access token as rejected. A forced refresh (the SDK's reaction to a 401) spends
 *   the refresh token only if the current token is the rejected one; otherwise a newer token already
 *   exists and is returned. So any number of simultaneous 401s cause one refresh.
 * - `invalid_grant` re-reads the store first (another process may have won the race); only then is
 *   it `reauth_required`. The stored login is never deleted or blanked on a failure.
 */
import { resolveConfig } from './config.js';
import { EXPIRY_BUFFER_SECONDS } from './constants.js';
import { accessTokenVariable, loadTokensFromEnv } from './env.js';
import { ENV_REFRESH_TOKEN } from './env-variables.js';
import { LOGIN_HINT, OAuthFlowError } from './errors.js';
import { checkGivenTokens, nowSeconds } from './oauth-tokens.js';
import { createRenewal, isOutage, type Refresh, type RefreshTimer, type SourceState, storeName } from './renewal.js';
import { TokenStorage } from './store/file.js';
import { profileFromEnv, resolveStore, tokenPathForProfile } from './store/profiles.js';
import type { TokenStore } from './store/types.js';
import { isApiKeyLogin } from './stored-login.js';
import type { ApiKeyLogin, Env, FetchLike, OAuthConfig, OAuthTokens, StoredLogin } from './types.js';

const MAX_REJECTED = 32;
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
  fetch?: FetchLike | undefined;
  env?: Env | undefined;
  /**
   * The profile whose token file is used when no `oauthTokens`/`tokenStorage` is given (after the
   * environment variables, as the default file is). Default: `ANTHROPIC_OAUTH_PROFILE`, else the
   * default profile (`defaultTokenPath()`). See `tokenPathForProfile`.
   */
  profile?: string | undefined;
  /** Clock in epoch seconds (tests pass their own). */
  now?: (() => number) | undefined;
  /** The deadlines and waits of a refresh's retries (tests pass a timer that does not sleep). */
  timer?: RefreshTimer | undefined;
  /**
   * Work on the same login as this source: its tokens, its in-flight refresh and the tokens the API
   * rejected are shared, so the two never both spend one refresh token. Then `oauthTokens`,
   * `tokenStorage` and `profile` are not read: the login is the other source's. (`withOptions()`
   * uses it for a copy that keeps its client's login.)
   */
  sameLoginAs?: TokenSource | undefined;
}

export type TokenOrigin = 'tokens' | 'store' | 'env' | 'file';

export interface TokenSource {
  /**
   * Valid tokens, refreshed first if they are within the buffer of expiry. On an API-key login
   * (`login --console`) it throws `api_key_login`: use `getLogin()`.
   */
  getTokens(): Promise<OAuthTokens>;
  /** The login of either kind: an API-key login as stored (never refreshed), else `getTokens()`. */
  getLogin(): Promise<StoredLogin>;
  /** The login as loaded (read on first use), without refreshing anything: to learn its kind. */
  peekLogin(): Promise<StoredLogin>;
  /** Records that the API answered 401 to this access token. */
  markRejected(accessToken: string): void;
  /** Whether the API rejected this access token. */
  isRejected(accessToken: string): boolean;
  /** Whether the API rejected any access token of this login yet: until then no request needs a look. */
  readonly anyRejected: boolean;
  /** A newer access token to use instead of one that was rejected, if there is one. */
  replacementFor(accessToken: string): string | undefined;
  /** Refreshes unless a newer token than `rejected` already exists; the 401 path. */
  refreshAfterRejection(rejected: string): Promise<OAuthTokens>;
  readonly config: OAuthConfig;
  /** The store rotated tokens go to, or `null` when they stay in memory. */
  readonly store: TokenStore | null;
}

/** The refresh buffer for a token: 300 s, or a quarter of its lifetime when that is shorter. */
export function refreshBuffer(lifetimeSeconds: number | undefined): number {
  return lifetimeSeconds === undefined ? EXPIRY_BUFFER_SECONDS : Math.min(EXPIRY_BUFFER_SECONDS, lifetimeSeconds / 4);
}

function apiKeyLoginError(): OAuthFlowError {
  return new OAuthFlowError(
    'api_key_login',
    'This login is an API key (from `anthropic-oauth login --console`), not OAuth tokens: read it with getLogin(), or use the key as `new Anthropic({ apiKey })` does.',
  );
}

/**
 * A token from the environment with no refresh token (a `setup-token` token, typically a CI secret)
 * was rejected or has expired: it can only be replaced. `variable` is where it was read from.
 */
function longLivedTokenEnded(variable: string): OAuthFlowError {
  return new OAuthFlowError(
    'reauth_required',
    `The long-lived token (from \`setup-token\`) in ${variable} was revoked or has expired; with no refresh token beside it (${ENV_REFRESH_TOKEN}) it cannot be renewed. Make a new one with \`npx anthropic-oauth setup-token\` and update the CI secret (or wherever ${variable} is set) with it.`,
  );
}

function notLoggedIn(where: string): OAuthFlowError {
  return new OAuthFlowError('not_logged_in', `Not logged in: no OAuth tokens ${where}. ${LOGIN_HINT}`);
}

/** What sources of one login share (see `sameLoginAs`). */
interface SharedLogin {
  state: SourceState;
  inflight: Refresh | null;
  rejected: Set<string>;
  lastTransientFailure: number;
  /** The API-key login found on first use: it is used as it is, never refreshed, never locked. */
  keyLogin: ApiKeyLogin | null;
  /** The tokens came from the environment: without a refresh token they can never be renewed. */
  fromEnvironment: boolean;
  /** How the first source finds the login (its origin options, resolved). */
  origin: Pick<TokenSourceOptions, 'tokenStorage' | 'profile'> & { explicitStore: TokenStore | null };
}

const logins = new WeakMap<TokenSource, SharedLogin>();

export function createTokenSource(options: TokenSourceOptions = {}): TokenSource {
  const env = options.env ?? process.env;
  const config = resolveConfig(options.oauthConfig, env);
  const now = options.now ?? nowSeconds;
  // An invalid `profile` option is a configuration mistake: say so at once, not on first use.
  if (options.profile !== undefined) tokenPathForProfile(options.profile, env);
  const shared: SharedLogin = (options.sameLoginAs && logins.get(options.sameLoginAs)) ?? newLogin(options);
  const { state, rejected } = shared;
  const { origin } = shared;
  const { explicitStore } = origin;

  const expiring = (tokens: OAuthTokens): boolean =>
    tokens.expiresAt !== null && now() + refreshBuffer(tokens.expiresIn) >= tokens.expiresAt;
  const renewal = createRenewal(state, {
    config,
    fetch: options.fetch,
    env,
    now,
    timer: options.timer,
    expiring,
    // Tokens found in the store that can be used as they are: not expiring, not rejected by the API.
    usable: (tokens) => !expiring(tokens) && !rejected.has(tokens.accessToken),
  });

  /** Keeps a login found in a store: an API key aside, tokens as the current ones. */
  function adopt(stored: StoredLogin): StoredLogin {
    state.storeHeld = true;
    if (isApiKeyLogin(stored)) shared.keyLogin = stored;
    else state.current = stored;
    return stored;
  }

  async function loadLogin(): Promise<StoredLogin> {
    if (shared.keyLogin) return shared.keyLogin;
    if (state.current) return state.current;
    if (explicitStore) {
      const stored = await explicitStore.load();
      if (!stored) throw notLoggedIn(`in ${storeName(explicitStore)}`);
      return adopt(stored);
    }
    if (origin.tokenStorage === undefined || origin.tokenStorage === null) {
      const fromEnv = loadTokensFromEnv(env);
      if (fromEnv) {
        shared.fromEnvironment = true;
        state.current = fromEnv;
        return fromEnv;
      }
    }
    if (origin.tokenStorage === null) throw notLoggedIn('were given and none are in the environment');
    const file = new TokenStorage(tokenPathForProfile(origin.profile ?? profileFromEnv(env), env));
    const stored = await file.load();
    if (!stored) throw notLoggedIn(`in the environment or in ${file.path}`);
    state.store = file;
    return adopt(stored);
  }

  async function load(): Promise<OAuthTokens> {
    const login = await loadLogin();
    if (isApiKeyLogin(login)) throw apiKeyLoginError();
    return login;
  }

  function refresh(stale: OAuthTokens): Refresh {
    if (shared.inflight) return shared.inflight;
    if (shared.fromEnvironment && !stale.refreshToken) {
      const ended: Refresh = {
        stale,
        sent: false,
        promise: Promise.reject(longLivedTokenEnded(accessTokenVariable(env))),
      };
      ended.promise.catch(() => {});
      return ended;
    }
    const run: Refresh = { stale, sent: false, promise: Promise.resolve(stale) };
    const { store } = state;
    // While another process holds the lock, the tokens it saves end the wait.
    const locked = store?.lock
      ? store.lock(
          () => renewal.renew(run),
          () => renewal.usableInStore(stale),
        )
      : renewal.renew(run);
    run.promise = locked.then(
      (tokens) => {
        state.current = tokens;
        shared.inflight = null;
        return tokens;
      },
      (error: unknown) => {
        shared.inflight = null;
        throw error;
      },
    );
    shared.inflight = run;
    return run;
  }

  /** True while the token can still be used even though it is inside the refresh buffer. */
  const stillValid = (tokens: OAuthTokens): boolean =>
    tokens.expiresAt === null || now() + STILL_VALID_MARGIN_SECONDS < tokens.expiresAt;

  async function getTokens(): Promise<OAuthTokens> {
    const joined = shared.inflight;
    const tokens = joined ? joined.stale : await load();
    if (!joined) {
      if (!expiring(tokens)) return tokens;
      // An outage of the token endpoint must not stop requests while the token still works.
      if (now() - shared.lastTransientFailure < FAILURE_BACKOFF_SECONDS && stillValid(tokens)) return tokens;
    }
    // Whoever started the refresh and whoever joined it get the same answer.
    const run = joined ?? refresh(tokens);
    try {
      return await run.promise;
    } catch (error) {
      if (!isOutage(error, run) || !stillValid(tokens) || rejected.has(tokens.accessToken)) throw error;
      shared.lastTransientFailure = now();
      return tokens;
    }
  }

  async function refreshAfterRejection(rejectedToken: string): Promise<OAuthTokens> {
    if (shared.inflight) return shared.inflight.promise;
    const tokens = await load();
    return tokens.accessToken === rejectedToken ? refresh(tokens).promise : getTokens();
  }

  function markRejected(accessToken: string): void {
    rejected.add(accessToken);
    if (rejected.size > MAX_REJECTED) {
      const oldest = rejected.values().next().value;
      if (oldest !== undefined) rejected.delete(oldest);
    }
  }

  async function getLogin(): Promise<StoredLogin> {
    const login = await loadLogin();
    return isApiKeyLogin(login) ? login : getTokens();
  }

  const source: TokenSource = {
    getTokens,
    getLogin,
    peekLogin: loadLogin,
    markRejected,
    isRejected: (accessToken) => rejected.has(accessToken),
    get anyRejected() {
      return rejected.size > 0;
    },
    replacementFor(accessToken) {
      const { current } = state;
      if (!rejected.has(accessToken) || !current || current.accessToken === accessToken) return undefined;
      return current.accessToken;
    },
    refreshAfterRejection,
    config,
    get store() {
      return state.store;
    },
  };
  logins.set(source, shared);
  return source;
}

function newLogin(options: TokenSourceOptions): SharedLogin {
  const explicitStore =
    options.tokenStorage === undefined || options.tokenStorage === null ? null : resolveStore(options.tokenStorage);
  return {
    state: {
      store: explicitStore,
      current: options.oauthTokens ? { ...checkGivenTokens(options.oauthTokens) } : null,
      storeHeld: false,
      spent: new Set(),
    },
    inflight: null,
    rejected: new Set(),
    lastTransientFailure: Number.NEGATIVE_INFINITY,
    keyLogin: null,
    fromEnvironment: false,
    origin: { tokenStorage: options.tokenStorage, profile: options.profile, explicitStore },
  };
}
