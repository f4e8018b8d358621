/**
 * Every environment variable the package reads, by name, in one place: the library, the Redis store
 * and the CLI read them through these constants (a test holds src/ to that). Where each is read:
 *
 * - The login given in the environment (`env.ts`): an access token, a refresh token and an expiry;
 *   never written anywhere.
 * - Where the login is kept: the default token file (`store/file.ts`), the profile
 *   (`store/profiles.ts`, the Redis store's key), the Redis URL and encryption key (`--store redis`).
 * - The OAuth configuration (`config.ts`) and the identity sent to the API (`identity.ts`), below
 *   the options given in code.
 * - The API's base URL and the account endpoints' whole URLs (`account/http.ts`, the CLI).
 * - The system's own, read with their usual meaning: whether a browser can be shown (`browser.ts`),
 *   where a rescue copy of a login may go (`store/pending.ts`), and whether output may be coloured.
 */

export const ENV_ACCESS_TOKEN = 'ANTHROPIC_OAUTH_ACCESS_TOKEN';
/** Read when `ANTHROPIC_OAUTH_ACCESS_TOKEN` is unset or empty. */
export const ENV_ACCESS_TOKEN_ALT = 'ANTHROPIC_ACCESS_TOKEN';
export const ENV_REFRESH_TOKEN = 'ANTHROPIC_REFRESH_TOKEN';
/** Epoch seconds. */
export const ENV_EXPIRES_AT = 'ANTHROPIC_TOKEN_EXPIRES_AT';

/** The default profile's token file (default `~/.anthropic/oauth_tokens.json`). */
export const ENV_TOKEN_FILE = 'ANTHROPIC_OAUTH_TOKEN_FILE';
export const ENV_PROFILE = 'ANTHROPIC_OAUTH_PROFILE';
export const ENV_REDIS_URL = 'ANTHROPIC_OAUTH_REDIS_URL';
export const ENV_REDIS_ENCRYPTION_KEY = 'ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY';

export const ENV_CLIENT_ID = 'ANTHROPIC_OAUTH_CLIENT_ID';
export const ENV_REDIRECT_URI = 'ANTHROPIC_OAUTH_REDIRECT_URI';
export const ENV_TOKEN_URL = 'ANTHROPIC_OAUTH_TOKEN_URL';
export const ENV_AUTHORIZE_URL = 'ANTHROPIC_OAUTH_AUTHORIZE_URL';
export const ENV_SCOPES = 'ANTHROPIC_OAUTH_SCOPES';

/** The identity sent with API requests (`identity.ts`), below the options given in code. */
export const ENV_USER_AGENT = 'ANTHROPIC_OAUTH_USER_AGENT';
/** Comma-separated; empty for none. */
export const ENV_BETAS = 'ANTHROPIC_OAUTH_BETAS';

/** The API's base URL, as the SDK reads it too. */
export const ENV_BASE_URL = 'ANTHROPIC_BASE_URL';
export const ENV_PROFILE_URL = 'ANTHROPIC_OAUTH_PROFILE_URL';
export const ENV_USAGE_URL = 'ANTHROPIC_OAUTH_USAGE_URL';
/** The Console login's calls and authorize page (`login --console`), whole URLs. */
export const ENV_ROLES_URL = 'ANTHROPIC_OAUTH_ROLES_URL';
export const ENV_CREATE_API_KEY_URL = 'ANTHROPIC_OAUTH_CREATE_API_KEY_URL';
export const ENV_CONSOLE_AUTHORIZE_URL = 'ANTHROPIC_OAUTH_CONSOLE_AUTHORIZE_URL';

export const ENV_BROWSER = 'BROWSER';
export const ENV_DISPLAY = 'DISPLAY';
export const ENV_WAYLAND_DISPLAY = 'WAYLAND_DISPLAY';
export const ENV_WSL_DISTRO_NAME = 'WSL_DISTRO_NAME';
export const ENV_XDG_STATE_HOME = 'XDG_STATE_HOME';
export const ENV_XDG_RUNTIME_DIR = 'XDG_RUNTIME_DIR';
export const ENV_NO_COLOR = 'NO_COLOR';
