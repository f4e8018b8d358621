/**
 * One error family with stable string codes.
 *
 * - Both classes extend the SDK's `AnthropicError`, so `catch (e) { if (e instanceof AnthropicError) … }`
 *   keeps working for code written against the official client.
 * - `code` is stable and meant for programs; `message` is for people and says what to do next.
 * - Nothing secret is ever put into a message: token-endpoint error bodies keep only the RFC 6749
 *   §5.2 fields (`error`, `error_description`, `error_uri`), truncated.
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
  | 'invalid_env';

export type TokenStorageErrorCode =
  | 'corrupt_file'
  | 'permission_denied'
  | 'write_failed'
  | 'read_failed'
  | 'lock_timeout'
  | 'keychain_unavailable'
  | 'keychain_not_installed'
  | 'timeout';

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

/**
 * Keeps only the RFC 6749 §5.2 fields of an error body: anything else may echo a secret
 * (a refresh token, a code) back at us. Returns `undefined` when there is no usable `error`.
 */
export function redactErrorBody(body: unknown): OAuthErrorBody | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.error !== 'string' || record.error === '') return undefined;
  const out: OAuthErrorBody = { error: truncate(record.error) };
  if (typeof record.error_description === 'string') out.error_description = truncate(record.error_description);
  if (typeof record.error_uri === 'string') out.error_uri = truncate(record.error_uri);
  return out;
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
    this.code = code;
    this.path = path;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, path: this.path };
  }
}

/** The system error code (`ENOENT`, `EACCES`, …) of a Node error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The one place that says how to log in, so every message agrees. */
export const LOGIN_HINT = 'Run `npx anthropic-oauth login` to sign in.';
