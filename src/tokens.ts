/**
 * The `OAuthTokens` shape: built from a token response, checked for expiry, and mapped to and from
 * the token file's JSON.
 *
 * - Strict at the edge (as oauth4webapi is): a token response must be a JSON object with a string
 *   `access_token`, a `token_type` of Bearer when present, a finite positive `expires_in` (a numeric
 *   string is accepted), and a non-empty string `refresh_token` when present. Display-only fields
 *   (`organization`, `account`) that are malformed are dropped rather than failing a login.
 * - `expiresAt` is epoch SECONDS; `null` means unknown and counts as not expired (a 401 then
 *   triggers the refresh). `expiresIn` is the lifetime the token was issued with (a plain field, so
 *   a copy keeps it); the file keeps it as `expires_in`, a value that is not a positive number there
 *   is ignored (it only tunes the refresh buffer).
 * - The file format follows the SDK's credentials file (`type: "oauth_token"`, snake_case fields)
 *   plus `token_type` and `account_uuid`, so the official SDK's `user_oauth` path can read it too.
 */
import { EXPIRY_BUFFER_SECONDS } from './constants.js';
import { OAuthFlowError, TokenStorageError } from './errors.js';
import type { AccountInfo, OAuthTokens, OrganizationInfo } from './types.js';

export const nowSeconds = (): number => Date.now() / 1000;

function invalid(what: string): OAuthFlowError {
  return new OAuthFlowError(
    'invalid_response',
    `The token endpoint sent an invalid response (${what}). Try again; if it persists, check the token URL.`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function organizationFrom(value: unknown): OrganizationInfo | undefined {
  if (!isRecord(value) || typeof value.uuid !== 'string' || typeof value.name !== 'string') return undefined;
  return { uuid: value.uuid, name: value.name };
}

function accountFrom(value: unknown): AccountInfo | undefined {
  if (!isRecord(value) || typeof value.uuid !== 'string' || typeof value.email_address !== 'string') return undefined;
  return { uuid: value.uuid, emailAddress: value.email_address };
}

/** Parses `expires_in` (RFC 6749 §5.1): a finite number of seconds, or a numeric string. */
function expiresInFrom(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const seconds = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw invalid('`expires_in` is not a finite, non-negative number');
  }
  if (seconds === 0) throw invalid('the access token is already expired');
  return seconds;
}

/** The seed's `from_token_response`: validates every field of a successful token response. */
export function tokensFromResponse(body: unknown, now: number = nowSeconds()): OAuthTokens {
  if (!isRecord(body)) throw invalid('not a JSON object');
  const { access_token, refresh_token, token_type, scope } = body;
  if (typeof access_token !== 'string' || access_token === '') throw invalid('`access_token` is missing');
  if (token_type !== undefined && (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer')) {
    throw invalid('`token_type` is not Bearer');
  }
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || refresh_token === '')) {
    throw invalid('`refresh_token` is not a non-empty string');
  }
  if (scope !== undefined && typeof scope !== 'string') throw invalid('`scope` is not a string');
  const expiresIn = expiresInFrom(body.expires_in);
  const tokens: OAuthTokens = {
    accessToken: access_token,
    refreshToken: refresh_token ?? '',
    expiresAt: expiresIn === undefined ? null : now + expiresIn,
    ...(expiresIn === undefined ? {} : { expiresIn }),
    tokenType: 'Bearer',
    scope: scope ?? '',
  };
  const organization = organizationFrom(body.organization);
  if (organization) tokens.organization = organization;
  const account = accountFrom(body.account);
  if (account) tokens.account = account;
  return tokens;
}

/** True within `bufferSeconds` (default 300) of expiry. Unknown expiry is not expired. */
export function isExpired(
  tokens: Pick<OAuthTokens, 'expiresAt'>,
  now: number = nowSeconds(),
  bufferSeconds: number = EXPIRY_BUFFER_SECONDS,
): boolean {
  return tokens.expiresAt !== null && now + bufferSeconds >= tokens.expiresAt;
}

export const TOKEN_FILE_VERSION = '1.0';

/** The token file's JSON, field for field. */
export interface StoredCredentials {
  version: string;
  type: 'oauth_token';
  access_token: string;
  refresh_token?: string;
  expires_at?: number;
  /** The lifetime the access token was issued with, in seconds (not in the SDK's format; it ignores it). */
  expires_in?: number;
  token_type?: string;
  scope?: string;
  organization_uuid?: string;
  organization_name?: string;
  account_uuid?: string;
  account_email?: string;
}

export function toStoredCredentials(tokens: OAuthTokens): StoredCredentials {
  const out: StoredCredentials = { version: TOKEN_FILE_VERSION, type: 'oauth_token', access_token: tokens.accessToken };
  if (tokens.refreshToken) out.refresh_token = tokens.refreshToken;
  if (tokens.expiresAt !== null) out.expires_at = tokens.expiresAt;
  if (tokens.expiresIn !== undefined) out.expires_in = tokens.expiresIn;
  out.token_type = tokens.tokenType;
  out.scope = tokens.scope;
  if (tokens.organization) {
    out.organization_uuid = tokens.organization.uuid;
    out.organization_name = tokens.organization.name;
  }
  if (tokens.account) {
    out.account_uuid = tokens.account.uuid;
    out.account_email = tokens.account.emailAddress;
  }
  return out;
}

/** Reads the token file's JSON; anything unexpected is `corrupt_file`, never quoting the contents. */
export function fromStoredCredentials(data: unknown, path: string): OAuthTokens {
  const corrupt = (what: string) =>
    new TokenStorageError(
      'corrupt_file',
      `The token file ${path} is not a valid login (${what}). Run \`npx anthropic-oauth login\` to replace it.`,
      { path },
    );
  if (!isRecord(data)) throw corrupt('not a JSON object');
  if (data.version !== undefined && (typeof data.version !== 'string' || !data.version.startsWith('1.'))) {
    throw corrupt('unknown version');
  }
  if (data.type !== undefined && data.type !== 'oauth_token') throw corrupt('unknown type');
  if (typeof data.access_token !== 'string' || data.access_token === '') throw corrupt('no access_token');
  const optionalString = (key: string): string | undefined => {
    const value = data[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw corrupt(`\`${key}\` is not a string`);
    return value;
  };
  const refreshToken = optionalString('refresh_token') ?? '';
  const expires = data.expires_at;
  if (expires !== undefined && expires !== null && (typeof expires !== 'number' || !Number.isFinite(expires))) {
    throw corrupt('`expires_at` is not a number');
  }
  const tokens: OAuthTokens = {
    accessToken: data.access_token,
    refreshToken,
    expiresAt: typeof expires === 'number' ? expires : null,
    tokenType: optionalString('token_type') ?? 'Bearer',
    scope: optionalString('scope') ?? '',
  };
  const orgUuid = optionalString('organization_uuid');
  const orgName = optionalString('organization_name');
  if (orgUuid !== undefined || orgName !== undefined)
    tokens.organization = { uuid: orgUuid ?? '', name: orgName ?? '' };
  const accountUuid = optionalString('account_uuid');
  const accountEmail = optionalString('account_email');
  if (accountUuid !== undefined || accountEmail !== undefined) {
    tokens.account = { uuid: accountUuid ?? '', emailAddress: accountEmail ?? '' };
  }
  const lifetime = data.expires_in;
  if (typeof lifetime === 'number' && Number.isFinite(lifetime) && lifetime > 0) tokens.expiresIn = lifetime;
  return tokens;
}
