/** The plain data shapes of the public API. No behaviour lives here. */
import type { Env } from './config.js';
import type { TokenStore } from './store/types.js';

export interface OAuthConfig {
  clientId: string;
  redirectUri: string;
  tokenUrl: string;
  authorizeUrl: string;
  /** Space-separated scopes, as sent in the authorize URL. */
  scopes: string;
}

export interface OrganizationInfo {
  uuid: string;
  name: string;
}

export interface AccountInfo {
  uuid: string;
  emailAddress: string;
}

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch SECONDS, or `null` when unknown (treated as not expired). */
  expiresAt: number | null;
  /**
   * The lifetime the access token was issued with, in seconds (the token response's `expires_in`),
   * when known. A short-lived token is refreshed a quarter of its lifetime before `expiresAt`
   * rather than 300 s before it; the token file keeps it as `expires_in`. Optional: tokens built
   * by hand may leave it out.
   */
  expiresIn?: number | undefined;
  tokenType: string;
  scope: string;
  organization?: OrganizationInfo | undefined;
  account?: AccountInfo | undefined;
}

/** What the authorize step must remember until the code comes back. */
export interface OAuthState {
  codeVerifier: string;
  state: string;
  redirectUri: string;
}

/** A `fetch`-compatible function; tests and proxies pass their own. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The OAuth options shared by `AnthropicOAuth` and `createOAuthFetch`. */
export interface OAuthClientOptions {
  /** Tokens to use; rotated tokens go to `tokenStorage` when given, else stay in memory. */
  oauthTokens?: OAuthTokens | undefined;
  /** Merged over the defaults and the `ANTHROPIC_OAUTH_*` environment variables. */
  oauthConfig?: Partial<OAuthConfig> | undefined;
  /** A `TokenStore`, a token file path, or `null` for none. Default: env variables, else the default file. */
  tokenStorage?: TokenStore | string | null | undefined;
  /**
   * The named login (`~/.anthropic/profiles/<name>.json`) used when neither `oauthTokens` nor
   * `tokenStorage` is given; default `ANTHROPIC_OAUTH_PROFILE`, else the default login.
   */
  oauthProfile?: string | undefined;
  /** Betas sent on every request; replaces `DEFAULT_OAUTH_BETAS`. Per-request betas are always added. */
  betas?: readonly string[] | undefined;
  /** Default: `DEFAULT_USER_AGENT`. */
  userAgent?: string | undefined;
  /**
   * Where the `ANTHROPIC_OAUTH_*` configuration, the token variables and the profile are read.
   * Default: `process.env`. (The SDK's own variables, such as `ANTHROPIC_BASE_URL` or
   * `ANTHROPIC_LOG`, are read by the SDK from `process.env` as always.)
   */
  env?: Env | undefined;
  /** The clock deciding when tokens are refreshed, in epoch seconds. Default: the system clock. */
  now?: (() => number) | undefined;
}
