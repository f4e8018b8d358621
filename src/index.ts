/** The public surface of `anthropic-oauth`, listed by hand. */

export {
  type ApiErrorCode,
  type ApiErrorDescription,
  describeApiError,
  describeApiResponse,
  type OAuthRefusal,
} from './account/api-errors.js';
export { createApiKey, fetchRoles, type Roles } from './account/console.js';
export type { AccountFetchOptions, AccountRequestOptions } from './account/http.js';
export {
  fetchProfile,
  type Plan,
  type Profile,
  type ProfileAccount,
  type ProfileOrganization,
  processProfileResponse,
} from './account/profile.js';
export { parseRateLimitHeaders, type RateLimitInfo, type RateLimitWindow } from './account/rate-limit.js';
export { type ExtraUsage, fetchUsage, processUsageResponse, type Usage, type UsageWindow } from './account/usage.js';

export { buildAuthorizationUrl } from './authorize.js';
export { openBrowser } from './browser.js';
export { parseAuthCode } from './callback.js';
export { AnthropicOAuth, type AnthropicOAuthOptions } from './client.js';
export type { OAuthClientOptions } from './client-options.js';
export { resolveConfig } from './config.js';
export {
  type ConsoleLoginOptions,
  ENV_CONSOLE_AUTHORIZE_URL,
  loginToConsole,
  type SetupTokenOptions,
  setupToken,
} from './console-login.js';
export {
  CONSOLE_AUTHORIZE_URL,
  CONSOLE_KEYS_URL,
  CREATE_API_KEY_PATH,
  DEFAULT_API_BASE_URL,
  DEFAULT_AUTHORIZE_URL,
  DEFAULT_CLIENT_ID,
  DEFAULT_OAUTH_BETAS,
  DEFAULT_REDIRECT_URI,
  DEFAULT_SCOPES,
  DEFAULT_TOKEN_URL,
  DEFAULT_USER_AGENT,
  EXPIRY_BUFFER_SECONDS,
  LONG_LIVED_SCOPE,
  LONG_LIVED_TOKEN_SECONDS,
  PROFILE_PATH,
  ROLES_PATH,
  USAGE_PATH,
} from './constants.js';
export { loadTokensFromEnv } from './env.js';
export {
  OAuthFlowError,
  type OAuthFlowErrorCode,
  TokenStorageError,
  type TokenStorageErrorCode,
} from './errors.js';
export { createOAuthFetch, type OAuthFetch, type OAuthFetchOptions } from './fetch.js';
export {
  authorizeManually,
  DEFAULT_LOGIN_TIMEOUT_MS,
  type InteractiveLoginOptions,
  type LoginEvent,
  type LoginIO,
  type LoopbackLoginOptions,
  loginManually,
  loginWithLoopback,
} from './login.js';
export { type LoopbackListener, type LoopbackOptions, startLoopbackListener } from './loopback.js';
export { maskToken } from './mask-token.js';
export { isExpired, tokensFromResponse } from './oauth-tokens.js';
export { generatePkce } from './pkce.js';
export { defaultTokenPath, TokenStorage } from './store/file.js';
export { KeychainTokenStore, type KeychainTokenStoreOptions } from './store/keychain.js';
export { MemoryTokenStore } from './store/memory.js';
export { listProfiles, type ProfileInfo, tokenPathForProfile } from './store/profiles.js';
export type { LoadedLogin, PreparedSave, TokenStore } from './store/types.js';
export { isApiKeyLogin, maskApiKey } from './stored-login.js';
export { exchangeCodeForTokens, processTokenResponse, refreshAccessToken } from './token-endpoint.js';
export type {
  AccountInfo,
  AccountSummary,
  ApiKeyLogin,
  Fetch,
  FetchLike,
  HeadersLike,
  OAuthConfig,
  OAuthState,
  OAuthTokens,
  OrganizationInfo,
  ResponseLike,
  StoredLogin,
} from './types.js';
