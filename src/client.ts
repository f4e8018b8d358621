/**
 * `AnthropicOAuth`: the official `Anthropic` client, signed in with OAuth.
 *
 * It overrides as little as possible (the shape of the SDK's own platform clients):
 * - the token source is handed to the SDK as `credentials`, so the SDK's token cache, its refresh
 *   coalescing and its one retry after a 401 do the work;
 * - `getUserAgent()` returns the configured user agent, `defaultQuery()` adds `beta=true`, and
 *   `prepareRequest()` (after the SDK's own) merges the configured betas with the request's own and
 *   drops any `x-api-key`;
 * - one backend middleware watches for 401: it marks the token rejected (so simultaneous 401s cause
 *   a single refresh), and, where the SDK will not retry (`maxRetries: 0`, or retries used up),
 *   refreshes and replays the request once itself. Never more than once per request.
 *
 * It never reads `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` or the SDK's config profiles.
 */

import { inspect } from 'node:util';
import { Anthropic, type ClientOptions, type Middleware } from '@anthropic-ai/sdk';
import type { Env } from './config.js';
import { DEFAULT_OAUTH_BETAS, DEFAULT_USER_AGENT } from './constants.js';
import { loadTokensFromEnv } from './env.js';
import { LOGIN_HINT, OAuthFlowError } from './errors.js';
import { applyOAuthBetas } from './headers.js';
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
type InternalOptions = AnthropicOAuthOptions & { credentials?: ClientOptions['credentials']; [INHERITED]?: Inherited };

function bearerOf(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
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
  /** Requests (by their SDK options object) that already had their one 401 replay. */
  readonly #replayed = new WeakSet<object>();
  readonly #backend: readonly Middleware[];
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
    this.#backend = [this.#onUnauthorized];
  }

  /** The betas sent on every request. */
  get betas(): readonly string[] {
    return this.#betas;
  }

  /** The current tokens, refreshed first when they are close to expiry. */
  getTokens(): Promise<OAuthTokens> {
    return this.#source.getTokens();
  }

  protected override getUserAgent(): string {
    return this.#userAgent;
  }

  protected override defaultQuery(): Record<string, string | undefined> {
    return { ...super.defaultQuery(), beta: 'true' };
  }

  protected override async prepareRequest(
    request: RequestInit,
    context: Parameters<Anthropic['prepareRequest']>[1],
  ): Promise<void> {
    await super.prepareRequest(request, context);
    const headers = request.headers instanceof Headers ? request.headers : new Headers(request.headers);
    applyOAuthBetas(headers, this.#betas);
    request.headers = headers;
  }

  protected override backendMiddleware(): readonly Middleware[] {
    return this.#backend;
  }

  readonly #onUnauthorized: Middleware = async (request, next, context) => {
    const headers = request.headers as Headers;
    const sent = bearerOf(headers);
    // The SDK's cache may still hold a token that a 401 elsewhere already replaced.
    const newer = sent === undefined ? undefined : this.#source.replacementFor(sent);
    if (newer !== undefined) headers.set('authorization', `Bearer ${newer}`);
    const response = await next(request);
    if (response.status !== 401) return response;
    const used = bearerOf(headers);
    const options = context.options;
    if (used === undefined || options === undefined) return response;
    this.#source.markRejected(used);
    if (this.#replayed.has(options)) return response;
    this.#replayed.add(options);
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const attempt = Number(headers.get('x-stainless-retry-count') ?? 0);
    // Where the SDK retries, it invalidates its cache and the provider refreshes (once, see provider.ts).
    if (maxRetries - attempt > 0 || !isReplayable(request.body)) return response;
    const fresh = await this.#source.refreshAfterRejection(used);
    if (fresh.accessToken === used) return response;
    await response.body?.cancel().catch(() => {});
    headers.set('authorization', `Bearer ${fresh.accessToken}`);
    return next(request);
  };

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
