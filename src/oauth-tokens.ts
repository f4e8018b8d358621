/**
 * The `OAuthTokens` shape: built from a token response, checked for expiry, and mapped to and from
 * the token file's JSON.
 *
 * - Strict at the edge (as oauth4webapi is): a token response must be a JSON object with an
 *   `access_token`, a `token_type` of Bearer when present, a finite positive `expires_in` (a numeric
 *   string is accepted), a `refresh_token` when present, and a `scope` of printable ASCII. Display-only
 *   fields (`organization`, `account`) that are malformed or over 1024 characters are dropped rather
 *   than failing a login.
 * - A token (access or refresh, from a response, the file or the environment) is 1 to 4096 visible
 *   ASCII characters (`isValidToken`): it goes into an `Authorization` header, where CR/LF, spaces,
 *   control or non-ASCII characters would break every request. Each source refuses a bad one with
 *   its own error (`invalid_response`, `corrupt_file`, `invalid_env`), never quoting it.
 * - Lifetimes are clamped to 10 years (`MAX_LIFETIME_SECONDS`) and file expiries must lie between
 *   0 and `MAX_EPOCH_SECONDS`, so every expiry is a valid `Date` (`expires_in: 1e308` once was not).
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

/**
 * The longest token accepted. Anthropic's are about 110 characters; 4096 leaves room for JWT-style
 * tokens while `Authorization: Bearer …` stays under the common 8 KiB limit on a header line.
 */
export const MAX_TOKEN_CHARS = 4096;
/** Visible ASCII (RFC 6749 Appendix A's VSCHAR without the space): what a header value can carry. */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;
/** What a valid token looks like, for error messages. */
export const TOKEN_RULE = `visible ASCII characters only (no spaces, line breaks or control characters), at most ${MAX_TOKEN_CHARS}`;

/** A usable access or refresh token: 1 to 4096 visible ASCII characters. */
export function isValidToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TOKEN_CHARS && TOKEN_SYNTAX.test(value);
}

/**
 * Lifetimes are clamped to 10 years. The longest Anthropic issues is one year (the `setup-token`
 * flow); a server that says more is wrong, and a token believed valid too long only costs a 401
 * and a refresh. Clamping keeps `now + expires_in` a valid `Date` (1e308 seconds is not one).
 */
export const MAX_LIFETIME_SECONDS = 10 * 365 * 86_400;
/** Epoch seconds beyond this (the year 5138) are not a time in seconds: most likely milliseconds. */
export const MAX_EPOCH_SECONDS = 1e11;
/** Organization and account fields are shown to people; longer ones are dropped as malformed. */
const MAX_DISPLAY_CHARS = 1024;
const SCOPE_SYNTAX = /^[\x20-\x7e]*$/;

function invalid(what: string): OAuthFlowError {
  return new OAuthFlowError(
    'invalid_response',
    `The token endpoint sent an invalid response (${what}). Try again; if it persists, check the token URL.`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const isDisplayText = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_DISPLAY_CHARS;

function organizationFrom(value: unknown): OrganizationInfo | undefined {
  if (!isRecord(value) || !isDisplayText(value.uuid) || !isDisplayText(value.name)) return undefined;
  return { uuid: value.uuid, name: value.name };
}

function accountFrom(value: unknown): AccountInfo | undefined {
  if (!isRecord(value) || !isDisplayText(value.uuid) || !isDisplayText(value.email_address)) return undefined;
  return { uuid: value.uuid, emailAddress: value.email_address };
}

/**
 * Parses `expires_in` (RFC 6749 §5.1): a finite number of seconds, or a numeric string; clamped to
 * `MAX_LIFETIME_SECONDS`.
 */
function expiresInFrom(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const seconds = typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw invalid('`expires_in` is not a finite, non-negative number');
  }
  if (seconds === 0) throw invalid('the access token is already expired');
  return Math.min(seconds, MAX_LIFETIME_SECONDS);
}

/** The seed's `from_token_response`: validates every field of a successful token response. */
export function tokensFromResponse(body: unknown, now: number = nowSeconds()): OAuthTokens {
  if (!isRecord(body)) throw invalid('not a JSON object');
  const { access_token, refresh_token, token_type, scope } = body;
  if (typeof access_token !== 'string' || access_token === '') throw invalid('`access_token` is missing');
  if (!isValidToken(access_token)) throw invalid(`\`access_token\` is not a token: ${TOKEN_RULE} characters`);
  if (token_type !== undefined && (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer')) {
    throw invalid('`token_type` is not Bearer');
  }
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || refresh_token === '')) {
    throw invalid('`refresh_token` is not a non-empty string');
  }
  if (refresh_token !== undefined && !isValidToken(refresh_token)) {
    throw invalid(`\`refresh_token\` is not a token: ${TOKEN_RULE} characters`);
  }
  if (scope !== undefined && typeof scope !== 'string') throw invalid('`scope` is not a string');
  if (scope !== undefined && (scope.length > MAX_TOKEN_CHARS || !SCOPE_SYNTAX.test(scope))) {
    throw invalid('`scope` is not a list of scope names in printable ASCII');
  }
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

/**
 * Tokens given in code (`oauthTokens`), checked where they enter as the file, the environment and a
 * token response are: an access token and a refresh token (when there is one) that are tokens
 * (`isValidToken`), and an expiry in epoch seconds or `null`. Anything else is an `invalid_config`
 * error naming the field and what to do, never quoting a token: such a token would otherwise fail
 * every request later, with the `TypeError` of `Headers`.
 */
export function checkGivenTokens(tokens: OAuthTokens, option = 'oauthTokens'): OAuthTokens {
  const refuse = (what: string) => new OAuthFlowError('invalid_config', `${option}${what}`);
  if (!isRecord(tokens)) throw refuse(' must be an object with accessToken, refreshToken and expiresAt.');
  const rule = `${TOKEN_RULE} characters. Pass the token alone (no \`Bearer \` prefix, no line break).`;
  if (!isValidToken(tokens.accessToken)) throw refuse(`.accessToken is not a token: ${rule}`);
  const { refreshToken, expiresAt } = tokens;
  if (refreshToken !== undefined && refreshToken !== '' && !isValidToken(refreshToken)) {
    throw refuse(`.refreshToken is not a token: ${rule} Use '' when there is none.`);
  }
  if (expiresAt !== null && expiresAt !== undefined) {
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt < 0) {
      throw refuse('.expiresAt must be the expiry in epoch seconds, or null when unknown.');
    }
    if (expiresAt > MAX_EPOCH_SECONDS) {
      throw refuse('.expiresAt is too large for epoch seconds: milliseconds are not accepted (divide by 1000).');
    }
  }
  return tokens;
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
  if (!isValidToken(data.access_token)) throw corrupt(`\`access_token\` is not a token: ${TOKEN_RULE} characters`);
  const optionalString = (key: string): string | undefined => {
    const value = data[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw corrupt(`\`${key}\` is not a string`);
    return value;
  };
  const refreshToken = optionalString('refresh_token') ?? '';
  if (refreshToken !== '' && !isValidToken(refreshToken)) {
    throw corrupt(`\`refresh_token\` is not a token: ${TOKEN_RULE} characters`);
  }
  const expires = data.expires_at;
  if (expires !== undefined && expires !== null) {
    if (typeof expires !== 'number' || !Number.isFinite(expires)) throw corrupt('`expires_at` is not a number');
    if (expires < 0) throw corrupt('`expires_at` is negative');
    if (expires > MAX_EPOCH_SECONDS) {
      throw corrupt('`expires_at` is too large for epoch seconds; milliseconds are not accepted');
    }
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
  if (typeof lifetime === 'number' && Number.isFinite(lifetime) && lifetime > 0) {
    tokens.expiresIn = Math.min(lifetime, MAX_LIFETIME_SECONDS);
  }
  return tokens;
}
