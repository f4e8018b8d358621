/**
 * The identity of the OAuth client and the wire constants (docs/protocol.md).
 *
 * Every value here has changed at least once upstream, so each lives in exactly one named constant
 * and can be overridden by option (`oauthConfig`, `betas`, `userAgent`) and, for `OAuthConfig`, by
 * environment variable (`ANTHROPIC_OAUTH_*`, see `config.ts`).
 */

/** Betas sent on every API request made with an OAuth token (the seed's list). */
export const DEFAULT_OAUTH_BETAS: readonly string[] = Object.freeze([
  'oauth-2025-04-20',
  'interleaved-thinking-2025-05-14',
  'claude-code-20250219',
  'fine-grained-tool-streaming-2025-05-14',
]);

/** The beta without which the API refuses an OAuth bearer token. */
export const OAUTH_BETA = 'oauth-2025-04-20';

/** The public OAuth client (no secret). */
export const DEFAULT_CLIENT_ID = '9d1c250a-e61b-44d9-88ed-5944d1962f5e';

/** The manual redirect: this page shows the user `CODE#STATE` to paste. */
export const DEFAULT_REDIRECT_URI = 'https://platform.claude.com/oauth/code/callback';

/** The token endpoint (the seed's console.anthropic.com URL answers 404 since mid-2026). */
export const DEFAULT_TOKEN_URL = 'https://platform.claude.com/v1/oauth/token';

export const DEFAULT_AUTHORIZE_URL = 'https://claude.ai/oauth/authorize';

export const DEFAULT_SCOPES = 'org:create_api_key user:profile user:inference';

export const DEFAULT_USER_AGENT = 'claude-cli/2.1.2 (external, cli)';

/** A token within this many seconds of its expiry is refreshed before it is used. */
export const EXPIRY_BUFFER_SECONDS = 300;

/**
 * The API's base URL. Every `api.anthropic.com` URL follows `ANTHROPIC_BASE_URL` (as the SDK does)
 * and, on `AnthropicOAuth`, the client's `baseURL`.
 */
export const DEFAULT_API_BASE_URL = 'https://api.anthropic.com';

/** The account's profile (plan, organization); needs the `user:profile` scope. Overridable: `ANTHROPIC_OAUTH_PROFILE_URL`. */
export const PROFILE_PATH = '/api/oauth/profile';

/** The subscription's usage windows and extra usage; needs `user:profile`. Overridable: `ANTHROPIC_OAUTH_USAGE_URL`. */
export const USAGE_PATH = '/api/oauth/usage';

/** The API version header the SDK sends; sent on the account endpoints too. */
export const ANTHROPIC_VERSION = '2023-06-01';

/**
 * The Console login (`login --console`): the same client, PKCE and token endpoint as the
 * subscription login, authorized here (Claude Code 2.1.88 `CONSOLE_AUTHORIZE_URL`). Overridable:
 * `ANTHROPIC_OAUTH_CONSOLE_AUTHORIZE_URL`.
 */
export const CONSOLE_AUTHORIZE_URL = 'https://platform.claude.com/oauth/authorize';

/** Creates an API key with a Console login's access token (bearer, empty body → `{ raw_key }`). Overridable: `ANTHROPIC_OAUTH_CREATE_API_KEY_URL`. */
export const CREATE_API_KEY_PATH = '/api/oauth/claude_cli/create_api_key';

/** The Console login's organization and roles (`{ organization_role, workspace_role, organization_name }`). Overridable: `ANTHROPIC_OAUTH_ROLES_URL`. */
export const ROLES_PATH = '/api/oauth/claude_cli/roles';

/** The scope without which the service does not create an API key; dropped when the organization forbids it. */
export const CREATE_API_KEY_SCOPE = 'org:create_api_key';

/** The Console's API keys page: where a key made by `login --console` is revoked, or made by hand. */
export const CONSOLE_KEYS_URL = 'https://platform.claude.com/settings/keys';

/** The long-lived token (`setup-token`): inference only, asked for one year (`expires_in` in the code exchange). */
export const LONG_LIVED_SCOPE = 'user:inference';
export const LONG_LIVED_TOKEN_SECONDS = 365 * 24 * 60 * 60;
