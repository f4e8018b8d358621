/**
 * The public types of `anthropic-oauth/testing`: the emulator's options, its handle, the request log
 * entry, the counters and the fault controls. Everything else under `src/testing/` is internal.
 */

import type { OAuthConfig } from '../index.js';

export interface EmulatorOptions {
  /** Port to listen on (127.0.0.1 only). Default 0: a free port. */
  port?: number;
  /**
   * Called once per request when it is answered (or, for a hang or reset fault, dropped: status 0),
   * with the entry `requests` holds: to watch traffic (`anthropic-oauth emulator` prints each).
   * The entry keeps headers and body, secrets included: print only what you mean to show.
   */
  onRequest?: (request: Readonly<EmulatorRequest>) => void;
  /** The only accepted client id. Default the real public client's id (the library's `DEFAULT_CLIENT_ID`). */
  clientId?: string;
  /** Seconds an access token lives (fractions allowed). Default 28800 (8 h). */
  accessTokenTtl?: number;
  /** Seconds an authorization code lives (fractions allowed). Default 300. */
  codeTtl?: number;
  /** The signed-in user. Default a fixed fake user, `user@example.com`. */
  account?: { uuid: string; emailAddress: string };
  /** The user's organization. Default a fixed fake "Example Org". */
  organization?: { uuid: string; name: string };
  /** Scope echoed in token responses. Default the real default scopes (the library's `DEFAULT_SCOPES`). */
  scopes?: string;
  /** `GET /oauth/authorize` redirects at once, as if Approve was clicked. Default false. */
  autoApprove?: boolean;
  /** The subscription `GET /api/oauth/profile` describes. Default `max` (5x). */
  plan?: EmulatorPlan;
  /** What `GET /api/oauth/usage` and the rate-limit headers of `/v1/messages` report. */
  usage?: EmulatorUsage;
  /**
   * The organization forbids creating API keys: a Console login is granted its scopes without
   * `org:create_api_key`, and `create_api_key` answers 403. Default false.
   */
  consoleForbidsApiKeys?: boolean;
  /** The roles `GET /api/oauth/claude_cli/roles` reports. Default `developer` / `workspace_developer`. */
  roles?: { organization: string; workspace: string };
  /** The long-lived exchange (custom `expires_in`) also returns a refresh token. Default false. */
  longLivedRefreshToken?: boolean;
}

/** An API key minted by `create_api_key`. */
export interface EmulatorApiKey {
  key: string;
  /** Epoch milliseconds. */
  createdAt: number;
  organizationUuid: string;
  /** False once `revokeApiKey` was called: the API answers 401 to it. */
  live: boolean;
}

export type EmulatorPlan = 'pro' | 'max' | 'max_20x' | 'team' | 'enterprise';

/** Percent used (0–100), or `null` for a window the answer reports as `null`. */
export type EmulatorWindow = number | null | { utilization: number; resetsInSeconds?: number };

/**
 * Usage to report. Windows default to 5-hour 37 %, weekly 12 %, weekly Sonnet 4 %, weekly Opus
 * `null`; a window at 0 % has no reset time, as on the real service. At 100 % of the 5-hour or
 * weekly window, `/v1/messages` answers 429 unless extra usage is on and not spent.
 */
export interface EmulatorUsage {
  fiveHour?: EmulatorWindow;
  sevenDay?: EmulatorWindow;
  sevenDayOpus?: EmulatorWindow;
  sevenDaySonnet?: EmulatorWindow;
  /**
   * Default off. `monthlyLimitCents: null` is no limit. `null` answers `extra_usage: null`. Amounts
   * are minor units of `currency` (default `USD`: cents); `decimalPlaces` is sent as
   * `decimal_places` (default: the currency's ISO 4217 digits; `null` leaves the field out).
   */
  extraUsage?: {
    enabled: boolean;
    monthlyLimitCents?: number | null;
    usedCents?: number;
    currency?: string;
    decimalPlaces?: number | null;
  } | null;
}

/** One request as the emulator received it. */
export interface EmulatorRequest {
  method: string;
  path: string;
  /** Query parameters (the last value wins when one repeats). */
  query: Record<string, string>;
  /** Header names lower-cased; repeated headers joined with ", ". `authorization` is kept. */
  headers: Record<string, string>;
  /** Parsed JSON for JSON requests, else the raw text; `undefined` when there was no body. */
  body: unknown;
  /** HTTP status answered; 0 while unanswered and for requests never answered (hang, reset). */
  status: number;
  /** Arrival time, epoch milliseconds. */
  time: number;
}

export interface EmulatorStats {
  /** Successful authorization_code grants. */
  authorizationCode: number;
  /** Successful refresh_token grants (including ones whose response was then lost on purpose). */
  refresh: number;
  /** Token requests refused with `invalid_grant`. */
  invalidGrant: number;
  /** Successful `/v1/messages` calls (streaming or not). */
  messages: number;
  /** Every 401 the emulator produced (API auth failures and `invalid_client`). */
  unauthorized: number;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives, as in `expires_in`. */
  expiresIn: number;
  /** When the access token expires, epoch SECONDS (rounded down). */
  expiresAt: number;
}

/** Faults for the token endpoint. Queued faults apply in order, each to its next `count` calls. */
export interface EmulatorFaults {
  /** Answer 500 (or the given 5xx) with `{"error":"server_error"}`. */
  tokenServerError(count?: number, status?: number): void;
  /** Answer 429 with a `Retry-After` header. */
  tokenRateLimited(retryAfterSeconds: number, count?: number): void;
  /** Answer exactly this raw body (default status 200) as `application/json`. */
  tokenMalformed(body: string, count?: number, status?: number): void;
  /**
   * `/v1/messages` answers 400 "Third-party apps now draw from your extra usage…" (`organization`:
   * the variant for a team member, "…Ask your workspace admin…").
   */
  messagesExtraUsageRequired(count?: number, variant?: 'personal' | 'organization'): void;
  /** `/v1/messages` answers 400 "You're out of extra usage…". */
  messagesOutOfExtraUsage(count?: number): void;
  /** `/v1/messages` answers 400 "This credential is only authorized for use with Claude Code…". */
  messagesClaudeCodeOnly(count?: number): void;
  /** `/v1/messages` answers 401 "OAuth authentication is currently not supported." (a 401: clients refresh once). */
  messagesOAuthNotSupported(count?: number): void;
  /**
   * `/v1/messages` answers 429 `rate_limit_error` with the unified headers (`status: rejected`, the
   * window as `representative-claim`, its reset in epoch seconds) and `Retry-After`.
   */
  messagesRateLimited(count?: number, options?: { window?: string; resetsInSeconds?: number }): void;
  /** `/api/oauth/profile` answers exactly this raw body (default status 200, `application/json`). */
  profileMalformed(body: string, count?: number, status?: number, contentType?: string): void;
  /** `/api/oauth/usage` answers exactly this raw body (default status 200, `application/json`). */
  usageMalformed(body: string, count?: number, status?: number, contentType?: string): void;
  /** `create_api_key` answers exactly this raw body (default status 200, `application/json`); no key is minted. */
  apiKeyMalformed(body: string, count?: number, status?: number, contentType?: string): void;
  /** Read the request and never answer (until `close()`). */
  tokenHang(count?: number): void;
  /** Read and PROCESS the request (a refresh really rotates), then drop the connection unanswered. */
  tokenResetAfterRequest(count?: number): void;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`, no trailing slash; also the API base URL for the SDK. */
  url: string;
  authorizeUrl: string;
  tokenUrl: string;
  manualRedirectUri: string;
  /** The Console's authorize page (`loginToConsole`'s `oauthConfig.authorizeUrl`). */
  consoleAuthorizeUrl: string;
  /** Ready to pass to the library: `{ clientId, redirectUri: manualRedirectUri, tokenUrl, authorizeUrl, scopes }`. */
  oauthConfig: OAuthConfig;
  /** Every request received, in arrival order (the last 10,000). */
  requests: EmulatorRequest[];
  stats(): EmulatorStats;
  /**
   * Visits `authorizeUrl` like a browser (GET the page, POST the form over real HTTP) and clicks
   * Approve. Resolves to the redirect target: `redirect_uri?code=…&state=…`, or the manual code
   * page URL. Rejects when the page refuses the request or the URL is not this emulator's.
   */
  approve(authorizeUrl: string): Promise<string>;
  /** Same as `approve`, clicking Deny: resolves to `redirect_uri?error=access_denied&…&state=…`. */
  deny(authorizeUrl: string): Promise<string>;
  /**
   * Mints a fresh token family, as if a user had logged in. `ttl` overrides `accessTokenTtl`; `scope`
   * (space-separated) overrides `scopes` for this login: without `user:profile`, the profile and
   * usage endpoints answer 403.
   */
  issueTokens(opts?: { ttl?: number; scope?: string }): IssuedTokens;
  /** From now on the profile describes this plan. */
  setPlan(plan: EmulatorPlan): void;
  /** From now on usage and the rate-limit headers report this (merged over the current usage). */
  setUsage(usage: EmulatorUsage): void;
  /** That access token gets 401 from now on. */
  revokeAccessToken(token: string): void;
  /** Every access token issued so far gets 401 from now on, as if expired; refresh tokens stay valid. */
  expireAccessTokens(): void;
  /** True when the refresh token exists, is unspent and its family is not revoked. */
  isRefreshTokenLive(token: string): boolean;
  /** Every API key `create_api_key` minted, oldest first. */
  apiKeys(): EmulatorApiKey[];
  /** That API key gets 401 from now on. */
  revokeApiKey(key: string): void;
  faults: EmulatorFaults;
  /** Closes the server and destroys every open or hanging connection. Idempotent. */
  close(): Promise<void>;
}
