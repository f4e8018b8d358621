/** The options `AnthropicOAuth` and `createOAuthFetch` share: where the login comes from, and how requests look. */
import type { TokenStore } from './store/types.js';
import type { Env, OAuthConfig, OAuthTokens } from './types.js';

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
