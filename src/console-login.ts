/**
 * The two logins beside the subscription login (`login.ts`), through the same loopback or manual flow:
 *
 * - `loginToConsole`: authorized at the Console (`CONSOLE_AUTHORIZE_URL`; the same client, PKCE,
 *   scopes and token endpoint), then one API key is created with the access token and the login
 *   saved is that key (`ApiKeyLogin`): the OAuth tokens that minted it are discarded, never saved.
 *   When the granted `scope` lacks `org:create_api_key` (the organization, or the account's role,
 *   does not allow creating keys) it stops with `api_key_not_allowed` before calling the endpoint;
 *   a 403 from it is the same error. Any other failure is `api_key_failed`. In every failure nothing
 *   is saved and the stored login is as it was. The roles call is display only and never fatal.
 * - `setupToken`: the long-lived token. The authorization asks `user:inference` alone, and the code
 *   exchange asks `expires_in` = one year. Saved only when `tokenStorage` is given. A refresh token
 *   is kept if one comes; nothing relies on one.
 *
 * No message holds the access token, the code or the verifier: errors of the key calls are
 * scrubbed of the access token (`withoutSecrets`) and never quote the key.
 */
import { describeApiError } from './account/api-errors.js';
import { createApiKey, fetchRoles, type Roles } from './account/console.js';
import type { AccountFetchOptions } from './account/http.js';
import {
  CONSOLE_AUTHORIZE_URL,
  CONSOLE_KEYS_URL,
  CREATE_API_KEY_SCOPE,
  LONG_LIVED_SCOPE,
  LONG_LIVED_TOKEN_SECONDS,
} from './constants.js';
import { ENV_CONSOLE_AUTHORIZE_URL } from './env-variables.js';
import { OAuthFlowError, withoutSecrets } from './errors.js';
import {
  type InteractiveLoginOptions,
  type LoginFlow,
  type LoopbackLoginOptions,
  loopbackFlow,
  manualFlow,
} from './login.js';
import { nowSeconds } from './oauth-tokens.js';
import type { ApiKeyLogin, Env, OAuthTokens, StoredLogin } from './types.js';

/** Where `loginToConsole` authorizes, unless `oauthConfig.authorizeUrl` is given. */
export { ENV_CONSOLE_AUTHORIZE_URL };

export interface ConsoleLoginOptions extends LoopbackLoginOptions {
  /** Paste only (the manual redirect page shows `CODE#STATE`); needs `pastedAnswers`. Default: loopback. */
  manual?: boolean | undefined;
  /** The API base URL of the key calls. Default `ANTHROPIC_BASE_URL`, else `https://api.anthropic.com`. */
  baseURL?: string | undefined;
  /** Sent on the key calls. Default `DEFAULT_USER_AGENT`. */
  userAgent?: string | undefined;
  /** Milliseconds each key call may take. Default 10 000. */
  apiTimeoutMs?: number | undefined;
}

export interface SetupTokenOptions extends ConsoleLoginOptions {
  /**
   * The scopes asked for. Default `user:inference` alone (`oauthConfig.scopes` is not used: the
   * service honours a custom lifetime for inference only).
   */
  scope?: string | undefined;
}

function run<L extends StoredLogin>(options: ConsoleLoginOptions, flow: LoginFlow<L>): Promise<L> {
  return options.manual ? manualFlow(options as InteractiveLoginOptions, flow) : loopbackFlow(options, flow);
}

function apiOptions(options: ConsoleLoginOptions, accessToken: string): AccountFetchOptions & { accessToken: string } {
  return {
    accessToken,
    baseURL: options.baseURL,
    fetch: options.fetch,
    signal: options.signal,
    timeoutMs: options.apiTimeoutMs,
    userAgent: options.userAgent,
    env: options.env,
  };
}

/** The organization does not let this account create API keys. */
export function apiKeyNotAllowed(options: ErrorOptions & { status?: number } = {}): OAuthFlowError {
  return new OAuthFlowError(
    'api_key_not_allowed',
    `Your organization does not allow creating API keys for this account or its role (the Console login was not granted ${CREATE_API_KEY_SCOPE}). Ask an organization admin for the developer or admin role, or create a key in the Console at ${CONSOLE_KEYS_URL}. Nothing was saved.`,
    options,
  );
}

function keyFailed(error: unknown): OAuthFlowError {
  const described = describeApiError(error);
  const status = (error as { status?: unknown }).status;
  const why =
    error instanceof OAuthFlowError
      ? 'the answer was not a key'
      : typeof status === 'number'
        ? `HTTP ${status}${described ? `: ${described.code}` : ''}`
        : 'the API could not be reached';
  return new OAuthFlowError(
    'api_key_failed',
    `The Console login worked, but the API key could not be created (${why}). Nothing was saved. Run the login again; if it keeps failing, create a key in the Console at ${CONSOLE_KEYS_URL}.`,
    { status: typeof status === 'number' ? status : undefined, cause: error },
  );
}

function defined<T extends object>(value: T): T {
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) delete (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Creates the key with the Console login's tokens, then reads the roles (never fatal). */
async function keyLogin(tokens: OAuthTokens, options: ConsoleLoginOptions): Promise<ApiKeyLogin> {
  const granted = tokens.scope.split(/\s+/).filter(Boolean);
  // An answer without `scope` does not say; the endpoint decides then.
  if (granted.length > 0 && !granted.includes(CREATE_API_KEY_SCOPE)) throw apiKeyNotAllowed();
  const secrets = [tokens.accessToken, tokens.refreshToken];
  let apiKey: string;
  try {
    apiKey = await createApiKey(apiOptions(options, tokens.accessToken));
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const clean = withoutSecrets(error, secrets);
    const status = (error as { status?: unknown }).status;
    throw status === 403 ? apiKeyNotAllowed({ status, cause: clean }) : keyFailed(clean);
  }
  let roles: Roles = {};
  try {
    roles = await fetchRoles(apiOptions(options, tokens.accessToken));
  } catch {
    // Display only: a limited token may not read its roles.
  }
  return {
    kind: 'api_key',
    apiKey,
    organization: defined({
      uuid: tokens.organization?.uuid || undefined,
      name: roles.organizationName ?? (tokens.organization?.name || undefined),
    }),
    role: defined({ organization: roles.organizationRole, workspace: roles.workspaceRole }),
    createdAt: Math.floor(nowSeconds()),
  };
}

function consoleAuthorizeUrl(options: ConsoleLoginOptions): string {
  const env: Env = options.env ?? process.env;
  return options.oauthConfig?.authorizeUrl ?? (env[ENV_CONSOLE_AUTHORIZE_URL]?.trim() || CONSOLE_AUTHORIZE_URL);
}

/**
 * The Console login: browser (or paste) → code → tokens → an API key, saved as the login when
 * `tokenStorage` is given. Resolves the `ApiKeyLogin`.
 */
export function loginToConsole(options: ConsoleLoginOptions = {}): Promise<ApiKeyLogin> {
  const oauthConfig = { ...options.oauthConfig, authorizeUrl: consoleAuthorizeUrl(options) };
  return run({ ...options, oauthConfig }, { finish: (tokens) => keyLogin(tokens, options) });
}

/**
 * The long-lived token (`setup-token`): inference only, asked for one year. Resolves the tokens;
 * saved only when `tokenStorage` is given.
 */
export function setupToken(options: SetupTokenOptions = {}): Promise<OAuthTokens> {
  const oauthConfig = { ...options.oauthConfig, scopes: options.scope ?? LONG_LIVED_SCOPE };
  return run({ ...options, oauthConfig }, { expiresIn: LONG_LIVED_TOKEN_SECONDS, finish: async (tokens) => tokens });
}
