/**
 * The account endpoints' wire (`/api/oauth/profile`, `/api/oauth/usage`): where they are, how a
 * request is sent with a bare access token, and how an answer is read. The parsers of each body are
 * in `profile.ts` and `usage.ts`; `AnthropicOAuth` sends through the SDK instead (`requestVia`).
 *
 * Policy:
 * - URL: the path constant on the API base URL (option `baseURL`, else `ANTHROPIC_BASE_URL`, else
 *   `DEFAULT_API_BASE_URL`); a whole URL given as option `url` or in `ANTHROPIC_OAUTH_PROFILE_URL` /
 *   `ANTHROPIC_OAUTH_USAGE_URL` wins. https only, http on loopback: a bearer token never travels in
 *   clear text.
 * - Headers: `Authorization: Bearer`, `anthropic-beta: oauth-2025-04-20`, `anthropic-version`, the
 *   configured `User-Agent`. Redirects are not followed (the token would follow them).
 * - Every call has a timeout (default 10 s) on top of the caller's signal, covering the body too;
 *   bodies are read up to 1 MiB.
 * - A non-2xx answer becomes the SDK's own `APIError` subclass (a 403 is a `PermissionDeniedError`),
 *   as `AnthropicOAuth` would throw it, so `describeApiError` serves both. Transport failures are the
 *   SDK's `APIConnectionError` / `APIConnectionTimeoutError` / `APIUserAbortError`.
 * - A 2xx answer that is too big, not JSON or not the documented shape is `OAuthFlowError`
 *   `invalid_response`; unknown keys are kept, never an error.
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk/core/error';
import { requireSecureUrl } from '../config.js';
import { ANTHROPIC_VERSION, DEFAULT_API_BASE_URL, DEFAULT_USER_AGENT, OAUTH_BETA } from '../constants.js';
import {
  ENV_BASE_URL,
  ENV_CREATE_API_KEY_URL,
  ENV_PROFILE_URL,
  ENV_ROLES_URL,
  ENV_USAGE_URL,
} from '../env-variables.js';
import { OAuthFlowError } from '../errors.js';
import { isRedirect, parseJsonOrUndefined, readCappedText } from '../http-body.js';
import { endpointName } from '../mask-token.js';
import type { Env, FetchLike, HeadersLike, ResponseLike } from '../types.js';

export const MAX_ACCOUNT_RESPONSE_BYTES = 1 << 20;
export const DEFAULT_ACCOUNT_TIMEOUT_MS = 10_000;

export type AccountEndpoint = 'profile' | 'usage' | 'roles' | 'create_api_key';

export const ENDPOINT_URL_VARIABLES: Readonly<Record<AccountEndpoint, string>> = {
  profile: ENV_PROFILE_URL,
  usage: ENV_USAGE_URL,
  roles: ENV_ROLES_URL,
  create_api_key: ENV_CREATE_API_KEY_URL,
};

/** Options of `fetchProfile` / `fetchUsage`: everything but the token is optional. */
export interface AccountFetchOptions {
  /** The API base URL. Default `ANTHROPIC_BASE_URL`, else `https://api.anthropic.com`. */
  baseURL?: string | undefined;
  /** The endpoint's whole URL, instead of the base URL and the path constant. */
  url?: string | undefined;
  fetch?: FetchLike | undefined;
  signal?: AbortSignal | undefined;
  /** Milliseconds before the call (body included) is abandoned. Default 10 000. */
  timeoutMs?: number | undefined;
  /** Default `DEFAULT_USER_AGENT`. */
  userAgent?: string | undefined;
  /** Where `ANTHROPIC_BASE_URL` and the URL variables are read. Default `process.env`. */
  env?: Env | undefined;
}

const LABEL: Readonly<Record<AccountEndpoint, string>> = {
  profile: 'profile',
  usage: 'usage',
  roles: 'roles',
  create_api_key: 'API key creation',
};

/** The whole URL given for an endpoint (option, else its environment variable), checked; else undefined. */
export function endpointOverride(endpoint: AccountEndpoint, url: string | undefined, env: Env): string | undefined {
  const given = url ?? (env[ENDPOINT_URL_VARIABLES[endpoint]]?.trim() || undefined);
  return given === undefined ? undefined : requireSecureUrl(given, `${LABEL[endpoint]} endpoint URL`).toString();
}

/** Where a bare-token call for `endpoint` goes. */
export function endpointUrl(endpoint: AccountEndpoint, path: string, options: AccountFetchOptions = {}): string {
  const env = options.env ?? process.env;
  const override = endpointOverride(endpoint, options.url, env);
  if (override !== undefined) return override;
  const base = (options.baseURL ?? (env[ENV_BASE_URL]?.trim() || DEFAULT_API_BASE_URL)).replace(/\/+$/, '');
  return requireSecureUrl(`${base}${path}`, 'API base URL').toString();
}

/** The headers of an account call with a bare token (the client's own are the SDK's). */
export function accountHeaders(accessToken: string, userAgent: string = DEFAULT_USER_AGENT): Record<string, string> {
  return {
    Authorization: `Bearer ${accessToken}`,
    'anthropic-beta': OAUTH_BETA,
    'anthropic-version': ANTHROPIC_VERSION,
    'User-Agent': userAgent,
    Accept: 'application/json',
  };
}

function invalid(endpoint: AccountEndpoint, what: string, status: number): OAuthFlowError {
  return new OAuthFlowError(
    'invalid_response',
    `The ${LABEL[endpoint]} endpoint ${what}. Check the API base URL (ANTHROPIC_BASE_URL); if it is right, the service changed: update anthropic-oauth.`,
    { status },
  );
}

/** An answer's headers as the SDK's errors take them (a `Headers`); built on the error path only. */
function sdkHeaders(headers: HeadersLike): Headers {
  const copy = new Headers();
  headers.forEach((value, name) => {
    copy.append(name, value);
  });
  return copy;
}

/** The JSON object of a 2xx answer, or `invalid_response`. A non-2xx answer becomes the SDK's APIError. */
export async function readJsonObject(
  response: ResponseLike,
  endpoint: AccountEndpoint,
): Promise<Record<string, unknown>> {
  const { status } = response;
  if (await isRedirect(response)) {
    throw invalid(endpoint, `answered with a redirect (HTTP ${status}), which is never followed`, status);
  }
  const text = await readCappedText(response, MAX_ACCOUNT_RESPONSE_BYTES);
  if (text === null) throw invalid(endpoint, 'sent a response larger than 1 MiB', status);
  const json = parseJsonOrUndefined(text);
  if (status < 200 || status >= 300) {
    // As the SDK builds it: the parsed body, else the text as the message.
    throw APIError.generate(
      status,
      json as object | undefined,
      json === undefined ? text.slice(0, 2000) : undefined,
      sdkHeaders(response.headers),
    );
  }
  if (json === undefined) throw invalid(endpoint, `did not answer with JSON (HTTP ${status})`, status);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw invalid(endpoint, 'answered with JSON that is not an object', status);
  }
  return json as Record<string, unknown>;
}

/** A field of an answer that is not what the service documents: `invalid_response` naming it. */
export function invalidField(endpoint: AccountEndpoint, field: string, expected: string): OAuthFlowError {
  return invalid(endpoint, `answered with ${field} that is not ${expected}`, 200);
}

/**
 * Sends `GET url` (or `request.method`) with a bare token and interprets the answer with `interpret`,
 * under one timeout (the body too). Transport failures become the SDK's connection errors. The
 * headers are the account endpoints' (`accountHeaders`) unless `request.headers` replaces them.
 */
export async function getWithToken<T>(
  endpoint: AccountEndpoint,
  url: string,
  accessToken: string,
  options: AccountFetchOptions,
  interpret: (response: ResponseLike) => Promise<T>,
  request: { method?: 'GET' | 'POST'; headers?: Record<string, string> } = {},
): Promise<T> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_ACCOUNT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  try {
    const response = await doFetch(url, {
      method: request.method ?? 'GET',
      redirect: 'manual',
      headers: request.headers ?? accountHeaders(accessToken, options.userAgent),
      signal,
    });
    return await interpret(response);
  } catch (cause) {
    if (cause instanceof APIError || cause instanceof OAuthFlowError) throw cause;
    if (options.signal?.aborted) throw new APIUserAbortError();
    if (timeout.aborted) throw new APIConnectionTimeoutError();
    throw new APIConnectionError({
      message: `Could not reach the ${LABEL[endpoint]} endpoint (${endpointName(url)}). Check your connection (and any proxy) and try again.`,
      cause: cause instanceof Error ? new Error(cause.message) : undefined,
    });
  }
}

/** The part of `AnthropicOAuth` the account calls use: its request path, through the SDK. */
export interface SdkGetter {
  get(
    path: string,
    options?: {
      headers?: Record<string, string>;
      signal?: AbortSignal | undefined;
      timeout?: number;
      maxRetries?: number;
    },
  ): { asResponse(): Promise<Response> };
}

/** Options of `client.getProfile()` / `client.getUsage()`, passed to the SDK's request. */
export interface AccountRequestOptions {
  signal?: AbortSignal | undefined;
  /** Milliseconds, as the SDK's `timeout` (per attempt). Default 10 000. */
  timeout?: number | undefined;
  maxRetries?: number | undefined;
}

/**
 * `GET` through the client (its token source, refresh, 401 retry, betas, user agent, base URL),
 * then `interpret`. The SDK answers a non-2xx with its own errors; the body stays ours to cap.
 */
export async function requestVia<T>(
  client: SdkGetter,
  endpoint: AccountEndpoint,
  path: string,
  options: AccountRequestOptions,
  interpret: (response: Response) => Promise<T>,
): Promise<T> {
  const target = endpointOverride(endpoint, undefined, process.env) ?? path;
  const response = await client
    .get(target, {
      headers: { Accept: 'application/json' },
      signal: options.signal,
      timeout: options.timeout ?? DEFAULT_ACCOUNT_TIMEOUT_MS,
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    })
    .asResponse();
  const timeout = AbortSignal.timeout(options.timeout ?? DEFAULT_ACCOUNT_TIMEOUT_MS);
  const stalled = new Promise<never>((_, reject) => {
    timeout.addEventListener('abort', () => {
      response.body?.cancel().catch(() => {});
      reject(new APIConnectionTimeoutError());
    });
  });
  stalled.catch(() => {});
  return Promise.race([interpret(response), stalled]);
}

/**
 * The three ways to an account endpoint, built from its parser: `process` interprets a `Response`
 * (send apart from interpret: testable with `new Response()`), `fetch` sends with a bare token,
 * `request` sends through the client's request path. `profile.ts` and `usage.ts` export them.
 */
export function accountEndpoint<T>(endpoint: AccountEndpoint, path: string, parse: (json: unknown) => T) {
  const process = async (response: ResponseLike): Promise<T> => parse(await readJsonObject(response, endpoint));
  return {
    process,
    fetch: async (accessToken: string, options: AccountFetchOptions = {}): Promise<T> =>
      getWithToken(endpoint, endpointUrl(endpoint, path, options), accessToken, options, process),
    request: async (client: SdkGetter, options: AccountRequestOptions = {}): Promise<T> =>
      requestVia(client, endpoint, path, options, process),
  };
}
