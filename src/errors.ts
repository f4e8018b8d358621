/**
 * One error family with stable string codes.
 *
 * - Both classes extend the SDK's `AnthropicError`, so `catch (e) { if (e instanceof AnthropicError) … }`
 *   keeps working for code written against the official client.
 * - `code` is stable and meant for programs; `message` is for people and says what to do next.
 * - Nothing secret is ever put into a message: token-endpoint error bodies keep only the RFC 6749
 *   §5.2 fields (`error`, `error_description`, `error_uri`), truncated.
 * - A server may echo what it was sent, in any of those fields or in a transport error: the token
 *   request scrubs every secret it carried (code, verifier, refresh token, state), in any encoding
 *   (`scrubSecrets`), from the body before truncating it, and from the message, stack and cause
 *   chain of any error it throws (`withoutSecrets`), so no shape of secret survives.
 */
import { AnthropicError } from '@anthropic-ai/sdk/core/error';

export type OAuthFlowErrorCode =
  | 'state_mismatch'
  | 'invalid_code'
  | 'access_denied'
  | 'invalid_grant'
  | 'reauth_required'
  | 'invalid_response'
  | 'token_endpoint_error'
  | 'rate_limited'
  | 'network_error'
  | 'timeout'
  | 'insecure_url'
  | 'invalid_config'
  | 'not_logged_in'
  | 'invalid_env'
  /** The organization does not let this account create API keys (`login --console`). */
  | 'api_key_not_allowed'
  /** Creating the API key failed (`login --console`); nothing was saved. */
  | 'api_key_failed'
  /** OAuth tokens were asked of an API-key login (`login --console`): use `getLogin()`. */
  | 'api_key_login';

export type TokenStorageErrorCode =
  | 'corrupt_file'
  | 'permission_denied'
  | 'write_failed'
  | 'read_failed'
  | 'lock_timeout'
  | 'keychain_unavailable'
  | 'keychain_not_installed'
  | 'timeout'
  /** Renewed tokens could not go to their store; they were kept elsewhere, which the message names. */
  | 'saved_elsewhere'
  /** The cross-process lock cannot be created (read-only or full directory, something in its place). */
  | 'lock_unavailable'
  /** The store's server cannot be reached or refuses us (Redis down, a wrong password); nothing was changed. */
  | 'store_unavailable';

/** The RFC 6749 §5.2 fields of an error response, and nothing else. */
export interface OAuthErrorBody {
  error: string;
  error_description?: string | undefined;
  error_uri?: string | undefined;
}

export interface OAuthFlowErrorOptions extends ErrorOptions {
  status?: number | undefined;
  body?: OAuthErrorBody | undefined;
  /** Seconds, from a 429's `Retry-After`. */
  retryAfter?: number | undefined;
}

const MAX_FIELD_CHARS = 300;

function truncate(value: string): string {
  return value.length <= MAX_FIELD_CHARS ? value : `${value.slice(0, MAX_FIELD_CHARS)}…`;
}

/** What a scrubbed secret becomes. */
export const REDACTED = '[redacted]';

const hex = (code: number, width: number): string => code.toString(16).padStart(width, '0');
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/**
 * A pattern for `secret` in any of the forms a server may echo it in, even mixed within one value:
 * as is, percent-encoded (either case, `+` for a space), JSON-escaped (`\u00XX`, `\/`, `\\`, `\"`).
 */
function secretPattern(secret: string): RegExp {
  const parts = Array.from(secret, (char) => {
    const code = char.codePointAt(0) ?? 0;
    const forms = [escapeRegExp(char), escapeRegExp(encodeURIComponent(char))];
    if (char.length === 1) forms.push(`%${hex(code, 2)}`, `\\\\u${hex(code, 4)}`);
    // JSON's own escapes: `\/` (optional), `\\` and `\"`.
    if (char === '/' || char === '\\' || char === '"') forms.push(`\\\\${escapeRegExp(char)}`);
    if (char === ' ') forms.push('\\+');
    return `(?:${[...new Set(forms)].join('|')})`;
  });
  return new RegExp(parts.join(''), 'gi');
}

/** `text` with every secret of `secrets` (in any encoding, see `secretPattern`) replaced by `[redacted]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].filter(Boolean).sort((a, b) => b.length - a.length)) {
    out = out.replace(secretPattern(secret), REDACTED);
  }
  return out;
}

/**
 * Keeps only the RFC 6749 §5.2 fields of an error body: anything else may echo a secret
 * (a refresh token, a code) back at us. The kept fields are scrubbed of `secrets` before they are
 * truncated, so no part of a secret survives a cut. Returns `undefined` when there is no usable `error`.
 */
export function redactErrorBody(body: unknown, secrets: readonly string[] = []): OAuthErrorBody | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.error !== 'string' || record.error === '') return undefined;
  const field = (value: string): string => truncate(scrubSecrets(value, secrets));
  const out: OAuthErrorBody = { error: field(record.error) };
  if (typeof record.error_description === 'string') out.error_description = field(record.error_description);
  if (typeof record.error_uri === 'string') out.error_uri = field(record.error_uri);
  return out;
}

/**
 * Each entry point of the built package (`anthropic-oauth`, `anthropic-oauth/redis`, the CLI) carries
 * its own copy of these classes. A brand in the global symbol registry makes `instanceof` hold across
 * the copies: an error thrown by the Redis store is a `TokenStorageError` of `anthropic-oauth` too.
 */
const BRAND = Symbol.for('anthropic-oauth.error');

function hasBrand(value: unknown, name: string): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === name;
}

/** `value instanceof cls`: by its prototype chain, or by the brand `name` when `cls` is that class itself. */
function brandInstances(cls: abstract new (...args: never[]) => unknown, name: string): void {
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, value: unknown): boolean {
      return Function.prototype[Symbol.hasInstance].call(this, value) || (this === cls && hasBrand(value, name));
    },
  });
}

/** Something in the OAuth flow or a token refresh went wrong. */
export class OAuthFlowError extends AnthropicError {
  static readonly _errorName: string = 'OAuthFlowError';
  readonly code: OAuthFlowErrorCode;
  /** HTTP status of the token endpoint's answer, when there was one. */
  readonly status: number | undefined;
  /** The redacted RFC 6749 error body, when there was one. */
  readonly body: OAuthErrorBody | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: OAuthFlowErrorCode, message: string, options: OAuthFlowErrorOptions = {}) {
    const { status, body, retryAfter, ...errorOptions } = options;
    super(message, errorOptions);
    Object.defineProperty(this, BRAND, { value: 'OAuthFlowError' });
    this.code = code;
    this.status = status;
    this.body = body;
    this.retryAfter = retryAfter;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, status: this.status, body: this.body };
  }
}

/** The token store could not be read or written. The stored login is never deleted because of it. */
export class TokenStorageError extends AnthropicError {
  static readonly _errorName: string = 'TokenStorageError';
  readonly code: TokenStorageErrorCode;
  /** The file (or store) concerned. */
  readonly path: string | undefined;

  constructor(code: TokenStorageErrorCode, message: string, options: ErrorOptions & { path?: string } = {}) {
    const { path, ...errorOptions } = options;
    super(message, errorOptions);
    Object.defineProperty(this, BRAND, { value: 'TokenStorageError' });
    this.code = code;
    this.path = path;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, path: this.path };
  }
}

brandInstances(OAuthFlowError, 'OAuthFlowError');
brandInstances(TokenStorageError, 'TokenStorageError');

const MAX_CAUSE_DEPTH = 8;

/** True when `text` holds any of `secrets` in any encoding. */
function holdsSecret(text: string, secrets: readonly string[]): boolean {
  return secrets.some((secret) => secret !== '' && secretPattern(secret).test(text));
}

/** Everything an error shows (message, stack, fields, causes), as `util.inspect` and JSON would. */
function everythingShown(error: unknown, depth = 0): string {
  if (depth > MAX_CAUSE_DEPTH) return '';
  if (!(error instanceof Error)) {
    try {
      return `${String(error)} ${JSON.stringify(error)}`;
    } catch {
      return String(error);
    }
  }
  const fields = Object.entries(error).map(([key, value]) => {
    try {
      return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
    } catch {
      return key;
    }
  });
  return [error.message, error.stack ?? '', ...fields, everythingShown(error.cause, depth + 1)].join('\n');
}

/**
 * A cause rebuilt without secrets: a plain `Error` keeping only the name, the scrubbed message and
 * stack, and the system error code (`--debug` shows them); other fields (a URL, a request) are dropped.
 */
function scrubbedCause(cause: unknown, secrets: readonly string[], depth: number): unknown {
  if (cause === undefined || cause === null) return cause;
  if (depth > MAX_CAUSE_DEPTH) return undefined;
  if (!(cause instanceof Error)) return scrubSecrets(String(cause), secrets);
  const next = scrubbedCause(cause.cause, secrets, depth + 1);
  const rebuilt = new Error(scrubSecrets(cause.message, secrets), next === undefined ? {} : { cause: next });
  rebuilt.name = cause.name;
  rebuilt.stack = scrubSecrets(cause.stack ?? '', secrets);
  const code = errnoCode(cause);
  if (code !== undefined) Object.assign(rebuilt, { code });
  return rebuilt;
}

/**
 * `error` with no trace of `secrets`: an `OAuthFlowError` that shows one anywhere (message, body,
 * stack, a cause at any depth) is rebuilt with the same code, status, body and retryAfter, scrubbed;
 * anything else, and an error that shows none, is returned as it is.
 */
export function withoutSecrets(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof OAuthFlowError) || !holdsSecret(everythingShown(error), secrets)) return error;
  const body = error.body && redactErrorBody(error.body, secrets);
  const cause = scrubbedCause(error.cause, secrets, 1);
  const rebuilt = new OAuthFlowError(error.code, scrubSecrets(error.message, secrets), {
    status: error.status,
    body,
    retryAfter: error.retryAfter,
    ...(cause === undefined ? {} : { cause }),
  });
  rebuilt.stack = scrubSecrets(error.stack ?? '', secrets);
  return rebuilt;
}

/** The system error code (`ENOENT`, `EACCES`, …) of a Node error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The one place that says how to log in, so every message agrees. */
export const LOGIN_HINT = 'Run `npx anthropic-oauth login` to sign in.';
/** The command that makes a long-lived login again and saves it (the CLI adds the options of the login it read). */
export const SETUP_TOKEN_SAVE_HINT = 'npx anthropic-oauth setup-token --save';
