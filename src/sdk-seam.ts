/**
 * Everything `AnthropicOAuth` relies on in `@anthropic-ai/sdk` beyond its documented options, in one
 * place, as read from @anthropic-ai/sdk 1.14.0 (`src/client.ts`, `src/core/middleware.ts`,
 * `src/lib/credentials/token-cache.ts`, `src/lib/credentials/types.ts`). `tests/sdk-seam.test.ts`
 * checks each fact against the installed SDK and fails naming the fact when a new version changes it.
 *
 * 1. `credentials` (public): an `AccessTokenProvider` the SDK wraps in its `TokenCache`. The cache
 *    serves a cached token while more than 120 s of it remain, serves it and refreshes in the
 *    background from 120 s down to 30 s, and blocks on a refresh below 30 s
 *    (`ADVISORY_REFRESH_THRESHOLD_IN_SECONDS`, `MANDATORY_REFRESH_THRESHOLD_IN_SECONDS`; private
 *    to the SDK, copied here). It reads the system clock.
 * 2. After a 401 on a request the cache authenticated, the request loop retries once per top-level
 *    call (when it has a retry left), asking the provider again with `{ forceRefresh: true }`.
 * 3. `X-Stainless-Retry-Count` (documented for middleware): the attempt number of a request
 *    within its top-level call, from 0.
 * 4. `fetchWithTimeout(url, init, ms, controller, requestOptions, logCtx)` (public, undocumented):
 *    called once per attempt with `init.headers` a `Headers` holding the attempt's headers (the
 *    token from the cache, the retry count) and `requestOptions` the call's `FinalRequestOptions`,
 *    the object `prepareRequest()` gets as `context.options`, the same for every attempt of a call.
 *    Its response is the one the loop handles; whatever it throws becomes an `APIConnectionError`.
 *    Calling the base method again sends the request again (`prepareRequest()` included).
 * 5. `makeStatusError(status, body, message, headers)` (protected): called for an error response
 *    the loop does not retry, with that `Response`'s own `headers` object; what it throws reaches
 *    the caller as it is.
 * 6. `withOptions()` builds its copy with `new this.constructor(options)`, passing the parent's
 *    `credentials` and sharing its token cache unless the copy is given a credential; a credential
 *    passed to the copy (the SDK's own helpers pass `authToken`) replaces the parent's.
 */
import type { Anthropic } from '@anthropic-ai/sdk';
import type { AccessToken, AccessTokenProvider } from '@anthropic-ai/sdk/lib/credentials';
import { refreshBuffer, type TokenSource } from './provider.js';
import type { OAuthTokens } from './types.js';

/** The SDK version the facts above were read from. */
export const SDK_VERSION_READ = '1.14.0';

/** The SDK's `TokenCache` serves a cached token while more than this many seconds of it remain. */
export const SDK_TOKEN_CACHE_ADVISORY_SECONDS = 120;
/** …and blocks on a refresh once fewer than this many remain. */
export const SDK_TOKEN_CACHE_MANDATORY_SECONDS = 30;

/** The request header carrying the attempt number (fact 3). */
export const RETRY_COUNT_HEADER = 'x-stainless-retry-count';

/** The credential options of `ClientOptions`: any one of them replaces a client's credential. */
export const SDK_CREDENTIAL_OPTIONS = ['apiKey', 'authToken', 'credentials', 'config', 'profile'] as const;
export type SdkCredentialOption = (typeof SDK_CREDENTIAL_OPTIONS)[number];

export type FetchWithTimeoutArgs = Parameters<Anthropic['fetchWithTimeout']>;
/** The SDK's options of one call, as `fetchWithTimeout` and `prepareRequest` get them (fact 4). */
export type SdkRequestOptions = NonNullable<FetchWithTimeoutArgs[4]>;

/** The attempt number of a request, from its headers (fact 3); 0 when absent. */
export function attemptOf(headers: Headers): number {
  const value = headers.get(RETRY_COUNT_HEADER);
  return value === null ? 0 : Number(value) || 0;
}

/**
 * The SDK's `AccessToken` for our tokens. The expiry is shifted so that the cache's advisory window
 * opens exactly when our refresh buffer starts: it keeps serving the still-valid token (>= 210 s
 * left) while one background refresh runs. When the buffer is shorter than the advisory window (a
 * token that lives minutes), our threshold becomes its blocking point instead, so no request uses a
 * token past it. With a clock of the caller's own (`ownClock`), the expiry is put in the past: the
 * cache reads the system clock, which that clock does not move, so it must ask the token source
 * (and through it that clock) before every request.
 */
function toAccessToken(tokens: OAuthTokens, ownClock: boolean): AccessToken {
  if (tokens.expiresAt === null) return { token: tokens.accessToken, expiresAt: null };
  if (ownClock) return { token: tokens.accessToken, expiresAt: 0 };
  const buffer = refreshBuffer(tokens.expiresIn);
  const shift =
    buffer >= SDK_TOKEN_CACHE_ADVISORY_SECONDS ? SDK_TOKEN_CACHE_ADVISORY_SECONDS : SDK_TOKEN_CACHE_MANDATORY_SECONDS;
  return { token: tokens.accessToken, expiresAt: tokens.expiresAt - buffer + shift };
}

/**
 * The `credentials` handed to the SDK (fact 1). A forced refresh (the SDK after a 401, fact 2) spends
 * the refresh token only when the current token is the one the API rejected; otherwise a newer one
 * already exists and is returned.
 */
export function sdkCredentials(source: TokenSource, ownClock: boolean): AccessTokenProvider {
  return async (opts) => {
    const tokens = await source.getTokens();
    if (opts?.forceRefresh && source.isRejected(tokens.accessToken)) {
      return toAccessToken(await source.refreshAfterRejection(tokens.accessToken), ownClock);
    }
    return toAccessToken(tokens, ownClock);
  };
}
