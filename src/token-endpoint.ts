/**
 * The token endpoint: the authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.5) and the
 * refresh grant (RFC 6749 §6), sent as JSON bodies as the service requires.
 *
 * Sending is apart from interpreting, as oauth4webapi does it: `postTokenRequest` performs the call
 * and `processTokenResponse` validates the `Response`, and every grant goes through both (under one
 * timeout), so the validation that runs is the one tested with `new Response()` alone.
 *
 * - A `state` that differs from the one we sent fails before any request (`checkState`, RFC 6749 §10.12).
 * - Redirects are not followed (a 3xx is an invalid response), bodies are read up to 1 MiB, and
 *   every call has a timeout (default 30 s) on top of the caller's `AbortSignal`.
 * - Error bodies keep only `error`, `error_description`, `error_uri`. `invalid_grant` is terminal;
 *   429 carries `retryAfter`; 5xx and network failures are marked transient by their code.
 * - An endpoint may echo what it was sent: every secret of the grant (code, verifier, refresh
 *   token, state) is scrubbed, in any encoding, from the error body before it is truncated and
 *   from every error the request throws (message, stack, body, causes; see `withoutSecrets`).
 * - The refresh grant sends no `scope` (the service answers `invalid_scope` to it), and a response
 *   without `refresh_token` keeps the old one.
 */
import { checkState } from './callback.js';
import { resolveConfig } from './config.js';
import { LOGIN_HINT, OAuthFlowError, redactErrorBody, withoutSecrets } from './errors.js';
import { isRedirect, parseJsonOrUndefined, readCappedText } from './http-body.js';
import { endpointName } from './mask-token.js';
import { nowSeconds, tokensFromResponse } from './oauth-tokens.js';
import type { Env, FetchLike, OAuthConfig, OAuthState, OAuthTokens, ResponseLike } from './types.js';
import { VERSION } from './version.js';

export const MAX_TOKEN_RESPONSE_BYTES = 1 << 20;
export const DEFAULT_TOKEN_TIMEOUT_MS = 30_000;
const MAX_RETRY_AFTER_SECONDS = 300;

export interface TokenRequestOptions {
  config?: Partial<OAuthConfig> | undefined;
  fetch?: FetchLike | undefined;
  signal?: AbortSignal | undefined;
  /** Milliseconds before the call is abandoned (default 30 000). */
  timeoutMs?: number | undefined;
  env?: Env | undefined;
  /** The clock (epoch seconds) the new tokens' expiry is counted from. Default: the system clock. */
  now?: (() => number) | undefined;
}

/** `Retry-After` in seconds (RFC 9110 §10.2.3: seconds, or an HTTP date read against `now`), clamped. */
function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) : Date.parse(header) / 1000 - now;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_SECONDS);
}

/**
 * Validates a token endpoint `Response` (the interpreting half: `postTokenRequest` sends): tokens,
 * or a typed `OAuthFlowError`. `now` (epoch seconds) dates the expiry and reads a `Retry-After`
 * date; `secrets`, what the request carried, are scrubbed from an error body in any encoding.
 */
export async function processTokenResponse(
  response: ResponseLike,
  now: number = nowSeconds(),
  secrets: readonly string[] = [],
): Promise<OAuthTokens> {
  const status = response.status;
  if (await isRedirect(response)) {
    throw new OAuthFlowError(
      'invalid_response',
      `The token endpoint answered with a redirect (HTTP ${status}), which is never followed. Check the token URL.`,
      { status },
    );
  }
  const text = await readCappedText(response, MAX_TOKEN_RESPONSE_BYTES);
  if (text === null) {
    throw new OAuthFlowError(
      'invalid_response',
      'The token endpoint sent a response larger than 1 MiB. Check the token URL.',
      { status },
    );
  }
  const json = parseJsonOrUndefined(text);
  if (status === 200 || status === 201) {
    if (json === undefined) {
      throw new OAuthFlowError(
        'invalid_response',
        'The token endpoint did not answer with JSON. Check the token URL.',
        {
          status,
        },
      );
    }
    return tokensFromResponse(json, now);
  }
  const body = redactErrorBody(json, secrets);
  const detail = body ? `: ${body.error}${body.error_description ? ` (${body.error_description})` : ''}` : '';
  if (status === 429) {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now);
    throw new OAuthFlowError(
      'rate_limited',
      `The token endpoint is rate limiting requests (HTTP 429)${retryAfter !== undefined ? `; retry after ${Math.ceil(retryAfter)} s` : ''}. Wait and try again.`,
      { status, body, retryAfter },
    );
  }
  if (body?.error === 'invalid_grant') {
    throw new OAuthFlowError(
      'invalid_grant',
      `The token endpoint rejected the grant${detail}. The login has expired or was revoked. ${LOGIN_HINT}`,
      { status, body },
    );
  }
  const transient = status >= 500;
  throw new OAuthFlowError(
    'token_endpoint_error',
    `The token endpoint answered HTTP ${status}${detail}. ${transient ? 'This is usually temporary: try again shortly.' : 'Check the OAuth configuration (client id, URLs).'}`,
    { status, body },
  );
}

/** Turns a transport failure into `timeout`/`network_error`; a caller's abort keeps its own reason. */
function transportError(
  cause: unknown,
  callerSignal: AbortSignal | undefined,
  timeout: AbortSignal,
  tokenUrl: string,
): unknown {
  if (cause instanceof OAuthFlowError) return cause;
  if (callerSignal?.aborted) return callerSignal.reason ?? cause;
  if (timeout.aborted) {
    return new OAuthFlowError(
      'timeout',
      `The token endpoint (${endpointName(tokenUrl)}) did not answer in time. Check your connection and try again.`,
      { cause },
    );
  }
  return new OAuthFlowError(
    'network_error',
    `Could not reach the token endpoint (${endpointName(tokenUrl)}). Check your connection (and any proxy) and try again.`,
    { cause: cause instanceof Error ? new Error(describeTransport(cause)) : undefined },
  );
}

/**
 * `fetch failed (ECONNREFUSED)`: the transport failure and its system error code, for `--debug`.
 * A fresh error rather than the original, whose nested causes can carry request details.
 */
function describeTransport(error: Error): string {
  let code: string | undefined;
  let reason: string | undefined;
  for (let e: unknown = error.cause; e instanceof Error; e = e.cause) {
    reason ??= e.message;
    if (code === undefined && 'code' in e && typeof e.code === 'string') code = e.code;
  }
  return `${error.message}${reason ? `: ${reason}` : ''}${code && !reason?.includes(code) ? ` (${code})` : ''}`;
}

/** Runs `run` under the caller's signal plus the timeout; transport failures become typed errors. */
async function withTransport<T>(
  tokenUrl: string,
  options: Pick<TokenRequestOptions, 'signal' | 'timeoutMs'>,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await run(signal);
  } catch (cause) {
    throw transportError(cause, options.signal, timeout, tokenUrl);
  }
}

/**
 * Sends a grant to the token endpoint (the sending half: `processTokenResponse` interprets the
 * answer): a JSON body, redirects not followed, under `signal`. Resolves the `Response` unread;
 * rejects with what `fetch` rejects with (`requestTokens` turns that into a typed error).
 */
export function postTokenRequest(
  tokenUrl: string,
  grant: Readonly<Record<string, string | number>>,
  options: { fetch?: FetchLike | undefined; signal?: AbortSignal | undefined } = {},
): Promise<ResponseLike> {
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return doFetch(tokenUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'User-Agent': `anthropic-oauth/${VERSION}`,
    },
    body: JSON.stringify(grant),
    signal: options.signal,
  });
}

/** The fields of a grant that are secrets; `client_id`, `redirect_uri` and `grant_type` are public. */
const SECRET_FIELDS = ['code', 'code_verifier', 'refresh_token', 'state'];

/**
 * Sends a grant, then validates the answer, under one timeout: a body that stalls or is cut off
 * after the headers is a `timeout`/`network_error` too, not a raw stream error. No error it throws
 * holds a secret of the grant, whatever the endpoint (or a custom `fetch`) echoed.
 */
async function requestTokens(
  tokenUrl: string,
  grant: Record<string, string | number>,
  options: TokenRequestOptions,
): Promise<OAuthTokens> {
  const secrets = SECRET_FIELDS.map((field) => String(grant[field] ?? '')).filter(Boolean);
  const now = options.now ?? nowSeconds;
  try {
    return await withTransport(tokenUrl, options, async (signal) => {
      const response = await postTokenRequest(tokenUrl, grant, { fetch: options.fetch, signal });
      return processTokenResponse(response, now(), secrets);
    });
  } catch (error) {
    throw withoutSecrets(error, secrets);
  }
}

export interface ExchangeCodeOptions extends TokenRequestOptions {
  code: string;
  state: string;
  oauthState: OAuthState;
  /**
   * The lifetime to ask for, in seconds: sent as `expires_in` (a number) only when given. Only the
   * long-lived flow (`setupToken`, scope `user:inference` alone) sends it: the service refuses a
   * custom lifetime for wider scopes (400 `invalid_request`).
   */
  expiresIn?: number | undefined;
}

/** Exchanges an authorization code for tokens, after checking `state`. */
export async function exchangeCodeForTokens(options: ExchangeCodeOptions): Promise<OAuthTokens> {
  const { code, state, oauthState } = options;
  checkState({ code, state }, oauthState.state, 'browser');
  const config = resolveConfig(options.config, options.env);
  return requestTokens(
    config.tokenUrl,
    {
      grant_type: 'authorization_code',
      code,
      state,
      client_id: config.clientId,
      redirect_uri: oauthState.redirectUri,
      code_verifier: oauthState.codeVerifier,
      ...(options.expiresIn === undefined ? {} : { expires_in: options.expiresIn }),
    },
    options,
  );
}

export interface RefreshOptions extends TokenRequestOptions {
  refreshToken: string;
}

/** Spends a refresh token for new tokens. The caller must persist the result before using it. */
export async function refreshAccessToken(options: RefreshOptions): Promise<OAuthTokens> {
  const { refreshToken } = options;
  if (!refreshToken) {
    throw new OAuthFlowError('reauth_required', `There is no refresh token to renew the login with. ${LOGIN_HINT}`);
  }
  const config = resolveConfig(options.config, options.env);
  const tokens = await requestTokens(
    config.tokenUrl,
    { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.clientId },
    options,
  );
  return tokens.refreshToken ? tokens : { ...tokens, refreshToken };
}
