/**
 * `AnthropicOAuth`: the official `Anthropic` client, signed in with OAuth.
 *
 * It overrides as little as possible (the shape of the SDK's own platform clients):
 * - the token source is handed to the SDK as `credentials`, so the SDK's token cache, its refresh
 *   coalescing and its one retry after a 401 do the work;
 * - `getUserAgent()` returns the configured user agent, `buildURL()` adds `beta=true`, and
 *   `prepareRequest()` (before the SDK's own) merges the configured betas with the request's own,
 *   drops any `x-api-key`, and swaps a token that a 401 already replaced for its successor;
 * - `fetchWithTimeout()` watches for 401: it marks the token rejected (so simultaneous 401s cause
 *   a single refresh), and, where the SDK will not retry (`maxRetries: 0`, or retries used up),
 *   refreshes and sends the request once more itself. Never more than once per request.
 *
 * It never reads `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` or the SDK's config profiles.
 */

import { inspect } from 'node:util';
import { Anthropic, type ClientOptions } from '@anthropic-ai/sdk';
import type { AccountRequestOptions } from './account/http.js';
import { type Profile, requestProfile } from './account/profile.js';
import { requestUsage, type Usage } from './account/usage.js';
import type { Env } from './config.js';
import { DEFAULT_OAUTH_BETAS, DEFAULT_USER_AGENT } from './constants.js';
import { loadTokensFromEnv } from './env.js';
import { LOGIN_HINT, OAuthFlowError } from './errors.js';
import { oauthBetaApplier } from './headers.js';
import { authorizeManually, type LoginIO } from './login.js';
import { createTokenSource, resolveStore, type TokenSource } from './provider.js';
import { TokenStorage } from './store/file.js';
import type { TokenStore } from './store/types.js';
import type { OAuthClientOptions, OAuthConfig, OAuthTokens } from './types.js';

type ForbiddenOption = 'apiKey' | 'authToken' | 'credentials' | 'config' | 'profile';
const FORBIDDEN_OPTIONS: readonly ForbiddenOption[] = ['apiKey', 'authToken', 'credentials', 'config', 'profile'];

export type AnthropicOAuthOptions = Omit<ClientOptions, ForbiddenOption> & OAuthClientOptions;

/** What `withOptions()` hands the clone's constructor; never part of the public options. */
interface Inherited {
  source: TokenSource;
  oauth: Pick<OAuthClientOptions, 'oauthTokens' | 'oauthConfig' | 'tokenStorage' | 'oauthProfile'>;
  betas: readonly string[];
  userAgent: string;
}
const INHERITED = Symbol('anthropic-oauth.inherited');
/**
 * The headers a request was last sent with (its own middleware may have replaced the SDK's), read
 * after a 401. Kept on the SDK's options object of the request, non-enumerable: the SDK's debug log
 * copies that object with a spread, which leaves it out. Not a WeakMap keyed by the request: an
 * entry per request costs about twice as much, and its keys die young in a long-lived table.
 */
const SENT = Symbol('anthropic-oauth.sent');
type InternalOptions = AnthropicOAuthOptions & { credentials?: ClientOptions['credentials']; [INHERITED]?: Inherited };

function bearerOf(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

function isEmpty(value: object | null | undefined): boolean {
  if (!value) return true;
  for (const _ in value) return false;
  return true;
}

function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams
  );
}

export class AnthropicOAuth extends Anthropic {
  readonly #source: TokenSource;
  readonly #oauth: Inherited['oauth'];
  readonly #betas: readonly string[];
  readonly #userAgent: string;
  readonly #applyBetas: (headers: Headers) => void;
  /** Requests (by their SDK options object) that already had their one 401 replay. */
  readonly #replayed = new WeakSet<object>();
  /** The caller's `fetch`, also used for token requests. */
  readonly #fetch: ClientOptions['fetch'];

  constructor(options: AnthropicOAuthOptions = {}) {
    const internal = options as InternalOptions;
    const inherited = internal[INHERITED];
    const { oauthTokens, oauthConfig, tokenStorage, oauthProfile, betas, userAgent, ...rest } = internal;
    delete (rest as InternalOptions)[INHERITED];
    for (const name of FORBIDDEN_OPTIONS) {
      if (name === 'credentials' && inherited) continue;
      if ((rest as Record<string, unknown>)[name] != null) {
        throw new TypeError(
          `AnthropicOAuth does not take \`${name}\`: it authenticates with OAuth tokens (oauthTokens, tokenStorage, or the environment). Use \`Anthropic\` for API keys.`,
        );
      }
    }
    const source =
      inherited?.source ??
      createTokenSource({
        oauthTokens,
        oauthConfig,
        tokenStorage,
        profile: oauthProfile,
        fetch: rest.fetch ?? undefined,
      });
    super({
      ...rest,
      apiKey: null,
      authToken: null,
      credentials: inherited ? (internal.credentials ?? source.provider) : source.provider,
    });
    this.#source = source;
    this.#fetch = rest.fetch;
    this.#oauth = inherited?.oauth ?? { oauthTokens, oauthConfig, tokenStorage, oauthProfile };
    this.#betas = inherited?.betas ?? [...(betas ?? DEFAULT_OAUTH_BETAS)];
    this.#userAgent = inherited?.userAgent ?? userAgent ?? DEFAULT_USER_AGENT;
    this.#applyBetas = oauthBetaApplier(this.#betas);
  }

  /** The betas sent on every request. */
  get betas(): readonly string[] {
    return this.#betas;
  }

  /** The current tokens, refreshed first when they are close to expiry. */
  getTokens(): Promise<OAuthTokens> {
    return this.#source.getTokens();
  }

  // ── Account: plan and usage (src/account/) ─────────────────────────────────────────────────
  /**
   * The signed-in account's profile: account, organization and plan (`GET /api/oauth/profile`, scope
   * `user:profile`). Sent like any request of this client: its token (refreshed), betas, user
   * agent, base URL, retries and 401 retry; HTTP errors are the SDK's own (`describeApiError`).
   */
  getProfile(options?: AccountRequestOptions): Promise<Profile> {
    return requestProfile(this, options);
  }

  /** The subscription's usage limits and extra usage (`GET /api/oauth/usage`, scope `user:profile`). */
  getUsage(options?: AccountRequestOptions): Promise<Usage> {
    return requestUsage(this, options);
  }

  protected override getUserAgent(): string {
    return this.#userAgent;
  }

  /**
   * Adds `beta=true` to every URL, as a `defaultQuery()` override would (a request's own `beta`
   * query wins), without sending every plain URL through the SDK's query encoder.
   */
  override buildURL(
    path: string,
    query: Record<string, unknown> | null | undefined,
    defaultBaseURL?: string | undefined,
  ): string {
    if (isEmpty(query) && isEmpty(this.defaultQuery())) {
      const url = super.buildURL(path, query, defaultBaseURL);
      if (!url.includes('?') && !url.includes('#')) return `${url}?beta=true`;
    }
    return super.buildURL(path, { beta: 'true', ...query }, defaultBaseURL);
  }

  /**
   * Runs before the SDK's own, without an extra async step: the SDK's only adds the OAuth beta when
   * it is missing, and the merged `anthropic-beta` set here always has it, in its place.
   */
  protected override prepareRequest(
    request: RequestInit,
    context: Parameters<Anthropic['prepareRequest']>[1],
  ): Promise<void> {
    const headers = request.headers instanceof Headers ? request.headers : new Headers(request.headers);
    // The SDK's cache may still hold a token that a 401 elsewhere already replaced.
    const sent = bearerOf(headers);
    const newer = sent === undefined ? undefined : this.#source.replacementFor(sent);
    if (newer !== undefined) headers.set('authorization', `Bearer ${newer}`);
    this.#applyBetas(headers);
    request.headers = headers;
    Object.defineProperty(context.options, SENT, { value: headers, writable: true, configurable: true });
    return super.prepareRequest(request, context);
  }

  /**
   * Watches for 401 around the SDK's own fetch (after its middleware and `prepareRequest`): marks
   * the token rejected (so simultaneous 401s cause a single refresh) and, where the SDK will not
   * retry (`maxRetries: 0`, or retries used up), refreshes and sends the request once more itself.
   * Never more than once per request. A wrapper here rather than a backend middleware: a backend
   * middleware would turn the SDK's middleware chain on for every request.
   */
  override async fetchWithTimeout(
    url: RequestInfo,
    init: RequestInit | undefined,
    ms: number,
    controller: AbortController,
    requestOptions?: Parameters<Anthropic['fetchWithTimeout']>[4],
    logCtx?: Parameters<Anthropic['fetchWithTimeout']>[5],
  ): Promise<Response> {
    const response = await super.fetchWithTimeout(url, init, ms, controller, requestOptions, logCtx);
    if (response.status !== 401 || requestOptions === undefined) return response;
    const headers = (requestOptions as { [SENT]?: Headers })[SENT];
    const used = headers && bearerOf(headers);
    if (headers === undefined || used === undefined) return response;
    this.#source.markRejected(used);
    if (this.#replayed.has(requestOptions)) return response;
    this.#replayed.add(requestOptions);
    const maxRetries = requestOptions.maxRetries ?? this.maxRetries;
    const attempt = Number(headers.get('x-stainless-retry-count') ?? 0);
    // Where the SDK retries, it invalidates its cache and the provider refreshes (once, see provider.ts).
    if (maxRetries - attempt > 0 || !isReplayable(init?.body)) return response;
    const fresh = await this.#source.refreshAfterRejection(used);
    if (fresh.accessToken === used) return response;
    await response.body?.cancel().catch(() => {});
    // prepareRequest() puts the fresh token in place of the rejected one.
    return super.fetchWithTimeout(url, init, ms, controller, requestOptions, logCtx);
  }

  override withOptions(options: Partial<AnthropicOAuthOptions>): this {
    const { oauthTokens, oauthConfig, tokenStorage, oauthProfile, betas, userAgent, ...rest } = options;
    for (const name of FORBIDDEN_OPTIONS) {
      if ((rest as Record<string, unknown>)[name] != null) {
        throw new TypeError(`AnthropicOAuth.withOptions does not take \`${name}\`.`);
      }
    }
    const newSource =
      oauthTokens !== undefined ||
      tokenStorage !== undefined ||
      oauthConfig !== undefined ||
      oauthProfile !== undefined;
    const oauth = newSource
      ? {
          oauthTokens: oauthTokens ?? (tokenStorage !== undefined ? undefined : this.#oauth.oauthTokens),
          tokenStorage: tokenStorage !== undefined ? tokenStorage : this.#oauth.tokenStorage,
          oauthConfig: { ...this.#oauth.oauthConfig, ...oauthConfig },
          oauthProfile: oauthProfile ?? this.#oauth.oauthProfile,
        }
      : this.#oauth;
    const source = newSource
      ? createTokenSource({ ...oauth, profile: oauth.oauthProfile, fetch: rest.fetch ?? this.#fetch })
      : this.#source;
    const inherited: Inherited = {
      source,
      oauth,
      betas: betas ? [...betas] : this.#betas,
      userAgent: userAgent ?? this.#userAgent,
    };
    const passed: Partial<ClientOptions> & { [INHERITED]: Inherited } = { ...rest, [INHERITED]: inherited };
    if (newSource) passed.credentials = source.provider;
    return super.withOptions(passed);
  }

  /** A client on the tokens in the environment; throws `not_logged_in` (synchronously) when there are none. */
  static fromEnv(
    options: Omit<AnthropicOAuthOptions, 'oauthTokens' | 'tokenStorage'> & { env?: Env } = {},
  ): AnthropicOAuth {
    const { env, ...rest } = options;
    const tokens = loadTokensFromEnv(env);
    if (!tokens) {
      throw new OAuthFlowError(
        'not_logged_in',
        `No OAuth token in the environment: set ANTHROPIC_OAUTH_ACCESS_TOKEN (and ANTHROPIC_REFRESH_TOKEN). ${LOGIN_HINT}`,
      );
    }
    return new AnthropicOAuth({ ...rest, oauthTokens: tokens, tokenStorage: null });
  }

  /**
   * A client on a store (a `TokenStore` or a file path; default: the default token file).
   * The store is read on first use; an empty store makes that request fail with `not_logged_in`.
   */
  static fromStorage(
    storeOrPath?: TokenStore | string,
    options: Omit<AnthropicOAuthOptions, 'oauthTokens' | 'tokenStorage'> = {},
  ): AnthropicOAuth {
    return new AnthropicOAuth({
      ...options,
      tokenStorage: storeOrPath === undefined ? new TokenStorage() : resolveStore(storeOrPath),
    });
  }

  /**
   * The seed's manual flow: open the browser on the authorize URL, ask for the `CODE#STATE` the page
   * shows, exchange it, save the tokens when a store is given, and return them.
   */
  static async authorizeInteractive(
    options: { oauthConfig?: Partial<OAuthConfig>; tokenStorage?: TokenStore | string; io?: Partial<LoginIO> } = {},
  ): Promise<OAuthTokens> {
    const { io, ...rest } = options;
    return authorizeManually({ ...rest, ask: io?.ask, openBrowser: io?.openBrowser });
  }

  [inspect.custom](): string {
    return `AnthropicOAuth { baseURL: ${JSON.stringify(this.baseURL)}, betas: ${JSON.stringify(this.#betas)}, userAgent: ${JSON.stringify(this.#userAgent)} }`;
  }
}
