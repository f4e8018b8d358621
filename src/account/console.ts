/**
 * The Console login's two calls (Claude Code 2.1.88 `createAndStoreApiKey`, `fetchAndStoreUserRoles`):
 *
 * - `POST {api}/api/oauth/claude_cli/create_api_key` with `Authorization: Bearer <access token>`
 *   only (no beta, no body) → `{ "raw_key": "sk-ant-api03-…" }`. The key must be a key (1 to 4096
 *   visible ASCII characters): anything else is `invalid_response`, never quoting it. Its error
 *   shapes are not documented: a non-2xx answer is the SDK's `APIError`, as for the account calls.
 * - `GET {api}/api/oauth/claude_cli/roles`, bearer, no beta → `{ organization_role, workspace_role,
 *   organization_name }`. Display only: fields that are not short strings are dropped. It may fail for
 *   limited-scope tokens: `loginToConsole` never lets it fail the login.
 *
 * URLs as the other account endpoints (`http.ts`): the path on `ANTHROPIC_BASE_URL`, or the whole URL
 * in `ANTHROPIC_OAUTH_CREATE_API_KEY_URL` / `ANTHROPIC_OAUTH_ROLES_URL`; https, http on loopback only.
 */
import { CREATE_API_KEY_PATH, DEFAULT_USER_AGENT, ROLES_PATH } from '../constants.js';
import { isValidToken, TOKEN_RULE } from '../oauth-tokens.js';
import {
  type AccountEndpoint,
  type AccountFetchOptions,
  endpointUrl,
  getWithToken,
  invalidField,
  readJsonObject,
} from './http.js';

export interface Roles {
  organizationRole?: string | undefined;
  workspaceRole?: string | undefined;
  organizationName?: string | undefined;
}

const MAX_DISPLAY_CHARS = 1024;
const display = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' && value.length <= MAX_DISPLAY_CHARS ? value : undefined;

/** The headers Claude Code sends on both calls: the bearer token alone (and ours: a user agent, JSON). */
function headers(accessToken: string, userAgent: string | undefined): Record<string, string> {
  return {
    Authorization: `Bearer ${accessToken}`,
    'User-Agent': userAgent ?? DEFAULT_USER_AGENT,
    Accept: 'application/json',
  };
}

function send<T>(
  endpoint: AccountEndpoint,
  method: 'GET' | 'POST',
  url: string,
  accessToken: string,
  options: AccountFetchOptions,
  interpret: (json: Record<string, unknown>) => T,
): Promise<T> {
  return getWithToken(
    endpoint,
    url,
    accessToken,
    options,
    async (response) => interpret(await readJsonObject(response, endpoint)),
    { method, headers: headers(accessToken, options.userAgent) },
  );
}

/** `{ raw_key }` → the key, checked. */
export function parseCreatedKey(json: Record<string, unknown>): string {
  const key = json.raw_key;
  if (typeof key !== 'string' || key === '') {
    throw invalidField('create_api_key', '`raw_key`', 'a key (the server accepted the request but did not return one)');
  }
  if (!isValidToken(key)) throw invalidField('create_api_key', '`raw_key`', `a key: ${TOKEN_RULE} characters`);
  return key;
}

export function parseRoles(json: Record<string, unknown>): Roles {
  const roles: Roles = {};
  const organizationRole = display(json.organization_role);
  const workspaceRole = display(json.workspace_role);
  const organizationName = display(json.organization_name);
  if (organizationRole !== undefined) roles.organizationRole = organizationRole;
  if (workspaceRole !== undefined) roles.workspaceRole = workspaceRole;
  if (organizationName !== undefined) roles.organizationName = organizationName;
  return roles;
}

/**
 * Creates an API key with the access token of a Console login (scope `org:create_api_key`).
 * Resolves the key (`sk-ant-api03-…`); a non-2xx answer is the SDK's `APIError` (a 403 when the
 * organization or the role does not allow it), a malformed one `invalid_response`.
 */
export function createApiKey(options: AccountFetchOptions & { accessToken: string }): Promise<string> {
  const url = endpointUrl('create_api_key', CREATE_API_KEY_PATH, options);
  return send('create_api_key', 'POST', url, options.accessToken, options, parseCreatedKey);
}

/** The organization and roles of a Console login's account. */
export function fetchRoles(options: AccountFetchOptions & { accessToken: string }): Promise<Roles> {
  const url = endpointUrl('roles', ROLES_PATH, options);
  return send('roles', 'GET', url, options.accessToken, options, parseRoles);
}
