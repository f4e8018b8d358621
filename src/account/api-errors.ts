/**
 * `describeApiError`: what an API error means for a subscription login, and what to do about it.
 *
 * An aid, not a wrapper: the SDK's errors are thrown unchanged, and this reads one afterwards. It
 * returns `{ code, message, hint, … }` with a stable `code`, or `null` for errors it does not know.
 *
 * Policy:
 * - Matched on the HTTP status, the error `type` and short stable phrases of the server's message,
 *   never on a whole sentence (the wording changes: "draw from your extra usage" and "draw from
 *   extra usage" are both in use). A 5xx is never matched.
 * - The described error stays reachable (`cause`) and untouched; `serverMessage` is the server's text
 *   as sent (untrusted: strip control characters before printing it).
 * - A `Response` body can be read only once, so a `Response` goes to the async
 *   `describeApiResponse`, which reads a clone (64 KiB at most) and leaves the caller's body unread.
 *   `describeApiError` given a `Response` throws a `TypeError` saying so.
 */
import { LOGIN_HINT, OAuthFlowError, SETUP_TOKEN_SAVE_HINT } from '../errors.js';
import { saysTokenRevoked } from '../replay.js';
import { parseRateLimitHeaders, type RateLimitInfo } from './rate-limit.js';

export type ApiErrorCode =
  /** Subscription use by third-party apps is billed as extra usage, and there is none (yet). */
  | 'extra_usage_required'
  /** The extra usage is spent. */
  | 'extra_usage_exhausted'
  /** OAuth is refused for this request: Claude Code only, the beta missing, or the organization. */
  | 'oauth_not_allowed'
  /** A usage limit (or the API's rate limit) is reached; `resetsAt` says until when, if known. */
  | 'rate_limited'
  /** The token lacks a scope the endpoint needs (`user:profile` for plan and usage). */
  | 'scope_missing'
  | 'token_revoked'
  | 'token_expired';

export type OAuthRefusal = 'claude_code_only' | 'beta_missing' | 'organization_disabled';

export interface ApiErrorDescription {
  code: ApiErrorCode;
  /** What happened, in our words. */
  message: string;
  /** What to do next. */
  hint: string;
  /** The HTTP status, when there was an answer. */
  status: number | undefined;
  /** The server's `error.message`, as sent (untrusted text). */
  serverMessage: string | null;
  /** `rate_limited`: when the limit resets (from the headers), if known. */
  resetsAt: Date | null;
  /** `rate_limited`: the window that is full (`five_hour`, `seven_day`, …), if known. */
  window: string | null;
  /** `scope_missing`: the scope the endpoint asked for. */
  scope: string | null;
  /** `oauth_not_allowed`: why. */
  reason: OAuthRefusal | null;
  /** The unified rate-limit headers of the answer, typed, if it carried them. */
  rateLimit: RateLimitInfo | null;
  /** The error (or `Response`) described, unchanged. */
  cause: unknown;
}

interface Answer {
  status: number;
  headers: Headers | null;
  type: string | null;
  message: string;
}

const WINDOW_NAMES: Readonly<Record<string, string>> = {
  five_hour: '5-hour',
  seven_day: 'weekly',
  seven_day_opus: 'weekly Opus',
  seven_day_sonnet: 'weekly Sonnet',
  seven_day_oauth_apps: 'weekly third-party apps',
  overage: 'extra usage',
};

const SETTINGS = 'claude.ai/settings/usage';

/** `error.type` and `error.message` of an API error body, if it is one. */
function envelope(body: unknown): { type: string | null; message: string | null } {
  const inner = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof inner !== 'object' || inner === null) return { type: null, message: null };
  const { type, message } = inner as { type?: unknown; message?: unknown };
  return {
    type: typeof type === 'string' ? type : null,
    message: typeof message === 'string' ? message : null,
  };
}

/** A `Date` at `ms`, or null when no `Date` can hold it (a `Retry-After` of 10^14 seconds). */
function dateAt(ms: number): Date | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date;
}

function retryAfter(headers: Headers | null): Date | null {
  const value = headers?.get('retry-after') ?? null;
  if (value === null) return null;
  if (/^\s*\d+\s*$/.test(value)) return dateAt(Date.now() + Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : new Date(date);
}

function describeAnswer(answer: Answer, cause: unknown): ApiErrorDescription | null {
  const { status, headers, type, message } = answer;
  if (status < 400 || status >= 500) return null;
  const rateLimit = headers ? parseRateLimitHeaders(headers) : null;
  const base = {
    status,
    serverMessage: message || null,
    resetsAt: null,
    window: null,
    scope: null,
    reason: null,
    rateLimit,
    cause,
  };
  const is = (...statuses: number[]) => statuses.includes(status);
  const says = (pattern: RegExp) => pattern.test(message);

  if (is(400, 402, 403, 429) && says(/\bout of extra usage\b/i)) {
    return {
      ...base,
      code: 'extra_usage_exhausted',
      message: 'The extra usage of this subscription is spent.',
      hint: `Add more at ${SETTINGS} (an organization's admin does this for a team), or wait until the plan's limits reset: \`npx anthropic-oauth usage\` shows when.`,
    };
  }
  if (is(400, 402, 403, 429) && says(/\bextra usage\b/i) && says(/third[- ]party|\bdraws? from\b|\brequired\b/i)) {
    return {
      ...base,
      code: 'extra_usage_required',
      message: 'Anthropic bills this subscription use (a third-party app) as extra usage, and none is available.',
      hint: `Turn on or claim extra usage at ${SETTINGS} (for a team, ask the organization's admin), or use an API key instead.`,
    };
  }
  if (is(400, 401, 403) && says(/\bonly authorized for use with Claude Code\b/i)) {
    return {
      ...base,
      code: 'oauth_not_allowed',
      reason: 'claude_code_only',
      message: 'This credential is only authorized for Claude Code, not for other API requests.',
      hint: 'Use an API key (console.anthropic.com) for this program, or sign in with an account whose plan allows other apps.',
    };
  }
  if (is(400, 401, 403) && says(/\bOAuth authentication is currently not supported\b/i)) {
    return {
      ...base,
      code: 'oauth_not_allowed',
      reason: 'beta_missing',
      message: 'The API did not accept an OAuth token for this request: the oauth-2025-04-20 beta was missing.',
      hint: 'Send `anthropic-beta: oauth-2025-04-20` with the token (AnthropicOAuth and createOAuthFetch do; a per-request `betas` list replaces a default anthropic-beta header).',
    };
  }
  if (is(401, 403) && says(/\bOAuth authentication is currently not allowed\b/i)) {
    return {
      ...base,
      code: 'oauth_not_allowed',
      reason: 'organization_disabled',
      message: 'OAuth sign-in is not allowed for this organization.',
      hint: "Ask the organization's admin, or use an API key instead.",
    };
  }
  if (is(403) && (type === null || type === 'permission_error') && says(/\bscope requirement\b/i)) {
    const scope = /\bscope requirement\s+([A-Za-z0-9:_.-]+)/i.exec(message)?.[1] ?? null;
    return {
      ...base,
      code: 'scope_missing',
      scope,
      message: `This login lacks the ${scope ? `\`${scope}\`` : 'required'} scope (a long-lived or inference-only login has only \`user:inference\`).`,
      hint: `Sign in again to grant it: ${LOGIN_HINT}`,
    };
  }
  // Also every answer that replay.ts takes for a revoked token (the client and the CLI refresh once on it).
  if (is(401, 403) && (says(/\btoken has been revoked\b/i) || saysTokenRevoked({ type, message }))) {
    return {
      ...base,
      code: 'token_revoked',
      message: 'The OAuth token was revoked.',
      // Nothing here says which kind of login sent it, and the two are made again differently.
      hint: `${LOGIN_HINT} A long-lived token (from \`setup-token\`) has no refresh token: make a new one with \`${SETUP_TOKEN_SAVE_HINT}\`.`,
    };
  }
  if (is(401) && says(/\btoken has expired\b/i)) {
    return {
      ...base,
      code: 'token_expired',
      message: 'The OAuth access token has expired.',
      hint: `AnthropicOAuth and createOAuthFetch refresh it on their own; a bare token must be refreshed (\`npx anthropic-oauth token\` prints a fresh one). If that fails: ${LOGIN_HINT}`,
    };
  }
  if (is(429)) {
    const claim = rateLimit?.representativeClaim ?? null;
    const resetsAt = (claim ? rateLimit?.resetsAt : null) ?? retryAfter(headers) ?? rateLimit?.resetsAt ?? null;
    const name = claim ? (WINDOW_NAMES[claim] ?? claim.replace(/_/g, ' ')) : null;
    return {
      ...base,
      code: 'rate_limited',
      resetsAt,
      window: claim,
      message: name
        ? `The ${name} limit of this subscription is reached.`
        : 'The API is rate limiting requests (HTTP 429).',
      hint: `Wait until it resets${claim ? `, or turn on extra usage at ${SETTINGS}` : ''}; \`npx anthropic-oauth usage\` shows every limit.`,
    };
  }
  return null;
}

function isResponse(value: unknown): value is Response {
  return typeof Response !== 'undefined' && value instanceof Response;
}

/** An SDK `APIError` (by shape, so a second copy of the SDK works too): status, headers, body. */
function answerOfApiError(error: unknown): Answer | null {
  if (!(error instanceof Error)) return null;
  const { status, headers } = error as { status?: unknown; headers?: unknown };
  if (typeof status !== 'number') return null;
  const { type, message } = envelope((error as { error?: unknown }).error);
  return {
    status,
    headers: headers instanceof Headers ? headers : null,
    type,
    message: message ?? error.message,
  };
}

/**
 * What an error thrown by the SDK (`AnthropicOAuth`, `Anthropic`, `fetchProfile`, `fetchUsage`) means
 * for a subscription login, or `null` when it is not one of the known cases. Also reads our own
 * `OAuthFlowError` `rate_limited` (the token endpoint). For a `Response`, use `describeApiResponse`.
 */
export function describeApiError(error: unknown): ApiErrorDescription | null {
  if (isResponse(error)) {
    throw new TypeError(
      'describeApiError() takes an error; for a Response use `await describeApiResponse(response)`, which reads a clone of its body.',
    );
  }
  if (error instanceof OAuthFlowError) {
    if (error.code !== 'rate_limited') return null;
    const resetsAt = error.retryAfter === undefined ? null : dateAt(Date.now() + error.retryAfter * 1000);
    return {
      code: 'rate_limited',
      message: 'The token endpoint is rate limiting requests (HTTP 429).',
      hint: 'Wait and try again; the login is kept.',
      status: error.status,
      serverMessage: error.body?.error_description ?? null,
      resetsAt,
      window: null,
      scope: null,
      reason: null,
      rateLimit: null,
      cause: error,
    };
  }
  const answer = answerOfApiError(error);
  return answer === null ? null : describeAnswer(answer, error);
}

const MAX_DESCRIBED_BODY_BYTES = 64 * 1024;

/**
 * `describeApiError` for a `Response` (from `createOAuthFetch` or any fetch): reads a CLONE of the
 * body, at most 64 KiB, so `response` itself can still be read. `null` for a 2xx or an unknown case.
 */
export async function describeApiResponse(response: Response): Promise<ApiErrorDescription | null> {
  if (response.status < 400 || response.status >= 500) return null;
  let text = '';
  if (response.body && !response.bodyUsed) {
    const reader = response.clone().body?.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (reader && size < MAX_DESCRIBED_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    await reader?.cancel().catch(() => {});
    text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_DESCRIBED_BODY_BYTES);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const { type, message } = envelope(body);
  return describeAnswer({ status: response.status, headers: response.headers, type, message: message ?? '' }, response);
}
