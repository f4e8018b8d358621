/**
 * The stored login's two kinds, mapped to and from the token file's JSON (`tokens.ts` keeps the
 * OAuth tokens' own fields).
 *
 * - `oauth` (the default: a file without `type`, or `type: "oauth_token"`): tokens that are refreshed.
 *   Their account summary (`AccountSummary`, what `status` shows without a network call) is kept
 *   under `account: { email, organization_name, organization_uuid, plan, fetched_at }`.
 * - `api_key` (`type: "api_key"`, from `login --console`): `{ api_key, organization_uuid,
 *   organization_name, organization_role, workspace_role, created_at }`. The key is checked as tokens
 *   are (`isValidToken`: 1 to 4096 visible ASCII characters); anything malformed is `corrupt_file`,
 *   never quoting the key. Display fields that are not strings are dropped, as the token response's are.
 */
import { LONG_LIVED_SCOPE } from './constants.js';
import { TokenStorageError } from './errors.js';
import {
  checkGivenTokens,
  fromStoredCredentials,
  isValidToken,
  MAX_EPOCH_SECONDS,
  type StoredCredentials,
  TOKEN_FILE_VERSION,
  TOKEN_RULE,
  toStoredCredentials,
} from './oauth-tokens.js';
import type { AccountSummary, ApiKeyLogin, OAuthTokens, StoredLogin } from './types.js';

/** The file's JSON for an `api_key` login. */
export interface StoredApiKey {
  version: string;
  type: 'api_key';
  api_key: string;
  organization_uuid?: string;
  organization_name?: string;
  organization_role?: string;
  workspace_role?: string;
  created_at: number;
}

/** The file's `account` object of an OAuth login. */
export interface StoredSummary {
  email?: string;
  organization_name?: string;
  organization_uuid?: string;
  plan?: string;
  fetched_at: number;
}

/** Display text kept in a file: at most this many characters. */
const MAX_DISPLAY_CHARS = 1024;

export function isApiKeyLogin(login: StoredLogin | null | undefined): login is ApiKeyLogin {
  return login?.kind === 'api_key';
}

/**
 * A long-lived login (`setup-token --save`: the scope `user:inference` alone), made again with
 * `setup-token --save` when it ends, never with `login` (which would put a subscription login in
 * its place).
 */
export function isLongLivedLogin(tokens: OAuthTokens): boolean {
  return tokens.scope.trim() === LONG_LIVED_SCOPE;
}

/** `sk-ant-api03-…wxyz`: the key's public prefix and its last 4 characters, for people. */
export function maskApiKey(key: string): string {
  const prefix = /^sk-ant-[a-z]+\d*-/.exec(key)?.[0] ?? '';
  return key.length >= 24 ? `${prefix}…${key.slice(-4)}` : `${prefix}…`;
}

/** The secret naming a stored login (its refresh token, or its key), for comparisons and hashes. */
export function loginSecret(login: StoredLogin): string {
  return isApiKeyLogin(login) ? `api_key:${login.apiKey}` : login.refreshToken;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' && value.length <= MAX_DISPLAY_CHARS ? value : undefined;

const epoch = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_EPOCH_SECONDS ? value : undefined;

function assign<T extends object>(target: T, values: Partial<T>): T {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (target as Record<string, unknown>)[key] = value;
  }
  return target;
}

export function toStoredApiKey(login: ApiKeyLogin): StoredApiKey {
  return assign<StoredApiKey>(
    { version: TOKEN_FILE_VERSION, type: 'api_key', api_key: login.apiKey, created_at: login.createdAt },
    {
      organization_uuid: login.organization.uuid,
      organization_name: login.organization.name,
      organization_role: login.role.organization,
      workspace_role: login.role.workspace,
    },
  );
}

export function fromStoredApiKey(data: Record<string, unknown>, path: string): ApiKeyLogin {
  const corrupt = (what: string) =>
    new TokenStorageError(
      'corrupt_file',
      `The token file ${path} is not a valid login (${what}). Run \`npx anthropic-oauth login --console\` to replace it.`,
      { path },
    );
  if (typeof data.api_key !== 'string' || data.api_key === '') throw corrupt('no api_key');
  if (!isValidToken(data.api_key)) throw corrupt(`\`api_key\` is not a key: ${TOKEN_RULE} characters`);
  const createdAt = epoch(data.created_at);
  if (data.created_at !== undefined && createdAt === undefined) {
    throw corrupt('`created_at` is not a time in epoch seconds');
  }
  return {
    kind: 'api_key',
    apiKey: data.api_key,
    organization: assign({}, { uuid: text(data.organization_uuid), name: text(data.organization_name) }),
    role: assign({}, { organization: text(data.organization_role), workspace: text(data.workspace_role) }),
    createdAt: createdAt ?? 0,
  };
}

export function toStoredSummary(summary: AccountSummary): StoredSummary {
  return assign<StoredSummary>(
    { fetched_at: summary.fetchedAt },
    {
      email: summary.email,
      organization_name: summary.organizationName,
      organization_uuid: summary.organizationUuid,
      plan: summary.plan,
    },
  );
}

/** The file's `account` object; a malformed one is dropped (it is display only), never an error. */
export function fromStoredSummary(value: unknown): AccountSummary | undefined {
  if (!isRecord(value)) return undefined;
  const fetchedAt = epoch(value.fetched_at);
  if (fetchedAt === undefined) return undefined;
  return assign<AccountSummary>(
    { fetchedAt },
    {
      email: text(value.email),
      organizationName: text(value.organization_name),
      organizationUuid: text(value.organization_uuid),
      plan: text(value.plan),
    },
  );
}

/** An `api_key` login given in code, checked where it enters (as `checkGivenTokens` does for tokens). */
export function isWellFormedApiKeyLogin(login: ApiKeyLogin): boolean {
  return (
    isRecord(login) &&
    isValidToken(login.apiKey) &&
    isRecord(login.organization) &&
    isRecord(login.role) &&
    epoch(login.createdAt) !== undefined
  );
}

/**
 * The token file's JSON for a login of either kind. Tokens a store could not give back (not tokens,
 * an expiry in milliseconds) are refused first, as `oauthTokens` are (`invalid_config`, naming the
 * field): every store writes through here, so what it held stays as it was.
 */
export function toStoredLogin(login: StoredLogin): StoredCredentials | StoredApiKey {
  if (isApiKeyLogin(login)) return toStoredApiKey(login);
  checkGivenTokens(login, 'tokens');
  const out: StoredCredentials & { account?: StoredSummary } = toStoredCredentials(login);
  if (login.summary) out.account = toStoredSummary(login.summary);
  return out;
}

/** Reads the token file's JSON of either kind; anything unexpected is `corrupt_file`, never quoting it. */
export function fromStoredLogin(data: unknown, path: string): StoredLogin {
  if (isRecord(data) && data.type === 'api_key') {
    if (data.version !== undefined && (typeof data.version !== 'string' || !data.version.startsWith('1.'))) {
      return fromStoredCredentials(data, path); // its error: unknown version
    }
    return fromStoredApiKey(data, path);
  }
  const tokens = fromStoredCredentials(data, path);
  const summary = isRecord(data) ? fromStoredSummary(data.account) : undefined;
  if (summary) tokens.summary = summary;
  return tokens;
}
