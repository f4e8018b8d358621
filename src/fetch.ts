/**
 * `createOAuthFetch`: a `fetch` that behaves like `AnthropicOAuth`, for clients other than the
 * official SDK (the Vercel AI SDK, LangChain, plain `fetch` calls).
 *
 * Every call: the current access token as `Authorization: Bearer` (refreshed first when close to
 * expiry), the configured betas merged with the request's own, the configured `User-Agent`,
 * `beta=true` in the query (unless the request sets `beta` itself), and no `x-api-key` (clients
 * that insist on an API key can be given any placeholder). A rejection (a 401, or a 403 for a
 * revoked token: `replay.ts`) marks the token rejected, refreshes (once for any number of callers:
 * they share one token source) and replays the request once; a second rejection is returned as is.
 * With no usable login (not logged in, login needed again, a corrupt file) it answers a 401 itself.
 * `env` and `now` are as for the token source.
 *
 * On an API-key login (`login --console`) it sends the key as the installed SDK sends one
 * (`api-key-auth.ts`) in place of any `x-api-key` or `Authorization` the caller set, and nothing
 * else of the OAuth shape: no betas added, no user agent, no `beta=true`, no refresh or replay.
 */

import type { OAuthClientOptions } from './client-options.js';
import { OAuthFlowError, TokenStorageError } from './errors.js';
import { oauthBetaApplier } from './headers.js';
import { resolveBetas, resolveUserAgent } from './identity.js';
import { createTokenSource, type TokenSource } from './provider.js';
import { discard, mayRejectToken, rejectsToken, tokenAfterRejection } from './replay.js';
import { isApiKeyLogin } from './stored-login.js';
import type { Fetch, OAuthTokens } from './types.js';

export interface OAuthFetchOptions extends OAuthClientOptions {
  /** The `fetch` to wrap (default: the global one); also used for token requests. */
  fetch?: Fetch | undefined;
}

export type OAuthFetch = Fetch & {
  /** The current tokens, refreshed first when close to expiry. */
  getTokens(): Promise<OAuthTokens>;
};

/** Failures no retry can fix: there is no usable login until the user acts. */
const FINAL_CODES = new Set(['not_logged_in', 'reauth_required', 'invalid_env', 'corrupt_file', 'permission_denied']);

/**
 * A login that cannot be used is answered as the API would answer a bad token: a 401 with an
 * `authentication_error` body carrying our message (what to do next) and `x-should-retry: false`.
 * Thrown instead, clients take it for a connection error and retry it (LangChain: for ~90 s).
 * Anything else (network, timeouts, 5xx of the token endpoint) is thrown and may be retried.
 */
function finalAuthFailure(error: unknown): Response {
  if (!(error instanceof OAuthFlowError || error instanceof TokenStorageError) || !FINAL_CODES.has(error.code)) {
    throw error;
  }
  const body = { type: 'error', error: { type: 'authentication_error', message: error.message, code: error.code } };
  return new Response(JSON.stringify(body), {
    status: 401,
    headers: { 'content-type': 'application/json', 'x-should-retry': 'false' },
  });
}

export function createOAuthFetch(options: OAuthFetchOptions = {}): OAuthFetch {
  const base: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const source: TokenSource = createTokenSource({
    oauthTokens: options.oauthTokens,
    oauthConfig: options.oauthConfig,
    tokenStorage: options.tokenStorage,
    profile: options.oauthProfile,
    env: options.env,
    now: options.now,
    fetch: base,
  });
  const applyBetas = oauthBetaApplier(resolveBetas(options.betas, options.env ?? process.env));
  const userAgent = resolveUserAgent(options.userAgent, options.env ?? process.env);

  const send = (request: Request, body: ArrayBuffer | undefined, token: string): Promise<Response> => {
    const url = new URL(request.url);
    // A request's own `beta` query wins, as it does in `AnthropicOAuth` (and over the SDK's `defaultQuery`).
    if (!url.searchParams.has('beta')) url.searchParams.set('beta', 'true');
    const headers = new Headers(request.headers);
    applyBetas(headers);
    headers.set('authorization', `Bearer ${token}`);
    headers.set('user-agent', userAgent);
    return base(url.toString(), {
      method: request.method,
      headers,
      body,
      signal: request.signal,
      redirect: request.redirect,
    });
  };

  const sendWithKey = async (request: Request, body: ArrayBuffer | undefined, apiKey: string): Promise<Response> => {
    const { apiKeyHeaders } = await import('./api-key-auth.js');
    const headers = new Headers(request.headers);
    headers.delete('x-api-key');
    headers.delete('authorization');
    for (const [name, value] of await apiKeyHeaders(apiKey)) headers.set(name, value);
    return base(request.url, {
      method: request.method,
      headers,
      body,
      signal: request.signal,
      redirect: request.redirect,
    });
  };

  const oauthFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    // Read once: sent with a Content-Length like the SDK's own requests, and replayable after a 401.
    const body = request.body ? await request.arrayBuffer() : undefined;
    let accessToken: string;
    try {
      const login = await source.getLogin();
      if (isApiKeyLogin(login)) return sendWithKey(request, body, login.apiKey);
      ({ accessToken } = login);
    } catch (error) {
      return finalAuthFailure(error);
    }
    const response = await send(request, body, accessToken);
    if (!mayRejectToken(response.status) || !(await rejectsToken(response))) return response;
    source.markRejected(accessToken);
    let fresh: string | undefined;
    try {
      fresh = await tokenAfterRejection(source, accessToken);
    } catch (error) {
      await discard(response);
      return finalAuthFailure(error);
    }
    if (fresh === undefined) return response;
    await discard(response);
    return send(request, body, fresh);
  };
  return Object.assign(oauthFetch, { getTokens: () => source.getTokens() });
}
