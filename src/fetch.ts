/**
 * `createOAuthFetch`: a `fetch` that behaves like `AnthropicOAuth`, for clients other than the
 * official SDK (the Vercel AI SDK, LangChain, plain `fetch` calls).
 *
 * Every call: the current access token as `Authorization: Bearer` (refreshed first when close to
 * expiry), the configured betas merged with the request's own, the configured `User-Agent`,
 * `beta=true` in the query, and no `x-api-key` (clients that insist on an API key can be given any
 * placeholder). A 401 marks the token rejected, refreshes (once for any number of callers: they
 * share one token source) and replays the request once; a second 401 is returned as is.
 */
import { DEFAULT_OAUTH_BETAS, DEFAULT_USER_AGENT } from './constants.js';
import { applyOAuthBetas } from './headers.js';
import { createTokenSource, type TokenSource } from './provider.js';
import type { Fetch, OAuthClientOptions, OAuthTokens } from './types.js';

export interface OAuthFetchOptions extends OAuthClientOptions {
  /** The `fetch` to wrap (default: the global one); also used for token requests. */
  fetch?: Fetch | undefined;
}

export type OAuthFetch = Fetch & {
  /** The current tokens, refreshed first when close to expiry. */
  getTokens(): Promise<OAuthTokens>;
};

export function createOAuthFetch(options: OAuthFetchOptions = {}): OAuthFetch {
  const base: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const source: TokenSource = createTokenSource({
    oauthTokens: options.oauthTokens,
    oauthConfig: options.oauthConfig,
    tokenStorage: options.tokenStorage,
    fetch: base,
  });
  const betas = [...(options.betas ?? DEFAULT_OAUTH_BETAS)];
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;

  const send = (request: Request, token: string): Promise<Response> => {
    const url = new URL(request.url);
    url.searchParams.set('beta', 'true');
    const headers = new Headers(request.headers);
    applyOAuthBetas(headers, betas);
    headers.set('authorization', `Bearer ${token}`);
    headers.set('user-agent', userAgent);
    const init: RequestInit & { duplex?: 'half' } = {
      method: request.method,
      headers,
      body: request.body,
      signal: request.signal,
      redirect: request.redirect,
    };
    if (request.body) init.duplex = 'half';
    return base(url.toString(), init);
  };

  const oauthFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    // A spare copy of the body for the one replay after a 401.
    const spare = request.body ? request.clone() : request;
    const { accessToken } = await source.getTokens();
    const response = await send(request, accessToken);
    if (response.status !== 401) return response;
    source.markRejected(accessToken);
    const fresh = await source.refreshAfterRejection(accessToken);
    if (fresh.accessToken === accessToken) return response;
    await response.body?.cancel().catch(() => {});
    return send(spare, fresh.accessToken);
  };
  return Object.assign(oauthFetch, { getTokens: () => source.getTokens() });
}
