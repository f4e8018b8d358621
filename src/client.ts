/**
 * `AnthropicOAuth`: the official `Anthropic` client, signed in with OAuth.
 *
 * It overrides as little as possible (the shape of the SDK's own platform clients). What it relies
 * on in the SDK beyond the documented options is listed, with the SDK version, in `sdk-seam.ts`.
 * - The token source is handed to the SDK as `credentials`, so the SDK's token cache, its refresh
 *   coalescing and its one retry after a 401 do the work.
 * - `getUserAgent()` returns the configured user agent, `buildURL()` adds `beta=true`, and
 *   `prepareRequest()` (before the SDK's own) merges the configured betas with the request's own,
 *   drops any `x-api-key`, and swaps a token that a rejection already replaced for its successor.
 * - `fetchWithTimeout()` watches for rejections (a 401, or a 403 for a revoked token: `replay.ts`).
 *   It marks the token rejected (so simultaneous rejections cause one refresh) and, where the SDK
 *   will not retry (`maxRetries: 0`, retries used up, any 403), refreshes and sends the request once
 *   more itself. One refresh per top-level call at most, like the SDK's own 401 retry, and the mark
 *   lasts that call only. A refresh that fails there reaches the caller as the `OAuthFlowError` or
 *   `TokenStorageError` it is (through `makeStatusError()`), as when the SDK's retry refreshes.
 * - `withOptions()` keeps the OAuth options, or takes new ones. Given one of the SDK's credentials
 *   instead (`apiKey`, `authToken`, …: the SDK's own helpers pass `authToken`), the copy is the SDK
 *   client with that credential, as `Anthropic.withOptions()` makes it: no OAuth token, betas,
 *   user agent, `beta=true` or replay.
 * - On an API-key login (`login --console`) `buildRequest()` reads the login's kind first and sets
 *   the SDK's own `apiKey`: the SDK sends it as `new Anthropic({ apiKey })` does, and nothing above
 *   applies (no betas, user agent, `beta=true`, refresh or replay).
 *
 * It never reads `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` or the SDK's config profiles, except in
 * a copy given an SDK credential, where the SDK does with it what it always does.
 */

import { inspect } from 'node:util';
import { Anthropic, type ClientOptions } from '@anthropic-ai/sdk';
import type { AccountRequestOptions } from './account/http.js';
import { type Profile, requestProfile } from './account/profile.js';
import { requestUsage, type Usage } from './account/usage.js';
import type { OAuthClientOptions } from './client-options.js';
import { loadTokensFromEnv } from './env.js';
import { LOGIN_HINT, OAuthFlowError } from './errors.js';
import { oauthBetaApplier } from './headers.js';
import { resolveBetas, resolveUserAgent } from './identity.js';
import { authorizeManually, type LoginIO } from './login.js';
import { createTokenSource, type TokenSource } from './provider.js';
import { discard, isReplayable, mayRejectToken, rejectsToken, tokenAfterRejection } from './replay.js';
import {
  attemptOf,
  type FetchWithTimeoutArgs,
  SDK_CREDENTIAL_OPTIONS,
  type SdkCredentialOption,
  type SdkRequestOptions,
  sdkCredentials,
} from './sdk-seam.js';
import { defaultTokenPath, TokenStorage } from './store/file.js';
import { resolveStore } from './store/profiles.js';
import type { TokenStore } from './store/types.js';
import { isApiKeyLogin } from './stored-login.js';
import type { OAuthConfig, OAuthTokens } from './types.js';

export type AnthropicOAuthOptions = Omit<ClientOptions, SdkCredentialOption> & OAuthClientOptions;

/** Where a client's tokens come from: what `withOptions()` copies or replaces. */
type Login = Pick<OAuthClientOptions, 'oauthTokens' | 'oauthConfig' | 'tokenStorage' | 'oauthProfile' | 'env' | 'now'>;

/** What `withOptions()` hands the copy's constructor; never part of the public options. */
interface Inherited {
  source: TokenSource;
  login: Login;
  betas: readonly string[];
  userAgent: string;
  /** The copy was given an SDK credential: it is the SDK client with that credential. */
  plain: boolean;
}
const INHERITED = Symbol('anthropic-oauth.inherited');
type InternalOptions = AnthropicOAuthOptions & Partial<Pick<ClientOptions, SdkCredentialOption>>;

/** The first SDK credential option set in `options`, if any. */
function sdkCredentialIn(options: object): SdkCredentialOption | undefined {
  return SDK_CREDENTIAL_OPTIONS.find((name) => (options as Record<string, unknown>)[name] != null);
}

function sourceFor(login: Login, fetch: ClientOptions['fetch'], sameLoginAs?: TokenSource): TokenSource {
  const { oauthProfile, ...rest } = login;
  return createTokenSource({ ...rest, profile: oauthProfile, fetch: fetch ?? undefined, sameLoginAs });
}

function bearerOf(headers: Headers): string | undefined {
  const value = headers.get('authorization');
  return value?.startsWith('Bearer ') ? value.slice(7) : undefined;
}

function headersOf(init: RequestInit | undefined): Headers {
  return init?.headers instanceof Headers ? init.headers : new Headers(init?.headers);
}

function isEmpty(value: object | null | undefined): boolean {
  if (!value) return true;
  for (const _ in value) return false;
  return true;
}

export class AnthropicOAuth extends Anthropic {
  readonly #source: TokenSource;
  readonly #login: Login;
  readonly #betas: readonly string[];
  readonly #userAgent: string;
  readonly #applyBetas: (headers: Headers) => void;
  readonly #plain: boolean;
  /** The caller's `fetch`, also used for token requests. */
  readonly #fetch: ClientOptions['fetch'];
  /** Calls (by their SDK options, the same for every attempt) that had their one refresh. */
  readonly #refreshedIn = new WeakSet<SdkRequestOptions>();
  /** Whether any call was put in `#refreshedIn`: until then there is nothing to forget per call. */
  #marked = false;
  /** The token `prepareRequest()` last put in place of a replaced one, per call. */
  readonly #swaps = new WeakMap<SdkRequestOptions, { from: string; to: string }>();
  /** A failed refresh, by the headers of the response it leaves unanswered (`makeStatusError`). */
  readonly #refreshFailures = new WeakMap<Headers, unknown>();
  /** The login's kind, read before the first request (it does not change once the source loaded it). */
  #kind: 'unknown' | 'oauth' | 'api_key' = 'unknown';

  constructor(options: AnthropicOAuthOptions = {}) {
    const internal = options as InternalOptions & { [INHERITED]?: Inherited };
    const inherited = internal[INHERITED];
    const { oauthTokens, oauthConfig, tokenStorage, oauthProfile, env, now, betas, userAgent, ...rest } = internal;
    delete (rest as typeof internal)[INHERITED];
    const refused = inherited ? undefined : sdkCredentialIn(rest);
    if (refused) {
      throw new TypeError(
        `AnthropicOAuth does not take \`${refused}\`: it authenticates with OAuth tokens (oauthTokens, tokenStorage, or the environment). Use \`Anthropic\` for API keys.`,
      );
    }
    const login = inherited?.login ?? { oauthTokens, oauthConfig, tokenStorage, oauthProfile, env, now };
    const source = inherited?.source ?? sourceFor(login, rest.fetch);
    const plain = inherited?.plain === true;
    super(
      plain
        ? rest
        : {
            ...rest,
            apiKey: null,
            authToken: null,
            // A copy sharing the parent's source gets the parent's `credentials` (and token cache).
            credentials: rest.credentials ?? sdkCredentials(source, login.now !== undefined),
          },
    );
    this.#source = source;
    this.#login = login;
    this.#plain = plain;
    this.#fetch = rest.fetch;
    this.#betas = inherited?.betas ?? resolveBetas(betas, login.env ?? process.env);
    this.#userAgent = inherited?.userAgent ?? resolveUserAgent(userAgent, login.env ?? process.env);
    this.#applyBetas = oauthBetaApplier(this.#betas);
  }

  /** Plain SDK behaviour: a copy given an SDK credential, or a login that is an API key. */
  get #asSdk(): boolean {
    return this.#plain || this.#kind === 'api_key';
  }

  /**
   * The login's kind first; a login that cannot be read fails here, as it would in the credentials.
   * Not `async`: once the kind is known, every request goes straight to the SDK's (no extra promise).
   */
  override buildRequest(...args: Parameters<Anthropic['buildRequest']>): ReturnType<Anthropic['buildRequest']> {
    if (this.#kind !== 'unknown' || this.#plain) return super.buildRequest(...args);
    return this.#source.peekLogin().then((login) => {
      this.#kind = isApiKeyLogin(login) ? 'api_key' : 'oauth';
      if (isApiKeyLogin(login)) this.apiKey = login.apiKey;
      return super.buildRequest(...args);
    });
  }

  /** The betas sent on every request. */
  get betas(): readonly string[] {
    return this.#betas;
  }

  /** The current tokens, refreshed first when they are close to expiry. */
  getTokens(): Promise<OAuthTokens> {
    return this.#source.getTokens();
  }

  // Account: plan and usage (src/account/).
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
    // The SDK's constructor asks for it before our fields exist (to resolve a `config`/`profile`).
    if (!(#plain in this) || this.#asSdk) return super.getUserAgent();
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
    if (this.#asSdk) return super.buildURL(path, query, defaultBaseURL);
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
    if (this.#asSdk) return super.prepareRequest(request, context);
    const headers = request.headers instanceof Headers ? request.headers : new Headers(request.headers);
    // The SDK's cache may still hold a token that a rejection elsewhere already replaced.
    const sent = this.#source.anyRejected ? bearerOf(headers) : undefined;
    const newer = sent === undefined ? undefined : this.#source.replacementFor(sent);
    if (sent !== undefined && newer !== undefined) {
      headers.set('authorization', `Bearer ${newer}`);
      this.#swaps.set(context.options, { from: sent, to: newer });
    }
    this.#applyBetas(headers);
    request.headers = headers;
    return super.prepareRequest(request, context);
  }

  /**
   * Watches for rejections around the SDK's own fetch (after its middleware and `prepareRequest`).
   * A wrapper here rather than a backend middleware: a middleware would turn the SDK's middleware
   * chain on for every request, which costs more than the whole of this class on the hot path.
   */
  override async fetchWithTimeout(
    url: FetchWithTimeoutArgs[0],
    init: FetchWithTimeoutArgs[1],
    ms: FetchWithTimeoutArgs[2],
    controller: FetchWithTimeoutArgs[3],
    options?: FetchWithTimeoutArgs[4],
    logCtx?: FetchWithTimeoutArgs[5],
  ): Promise<Response> {
    const response = await super.fetchWithTimeout(url, init, ms, controller, options, logCtx);
    if (this.#asSdk || options === undefined) return response;
    // A new top-level call (attempt 0) may reuse an options object: its refresh is not yet spent.
    if (this.#marked && attemptOf(headersOf(init)) === 0) this.#refreshedIn.delete(options);
    if (!mayRejectToken(response.status)) return response;
    return this.#afterRejection(response, url, init, ms, controller, options, logCtx);
  }

  async #afterRejection(
    response: Response,
    url: FetchWithTimeoutArgs[0],
    init: FetchWithTimeoutArgs[1],
    ms: FetchWithTimeoutArgs[2],
    controller: FetchWithTimeoutArgs[3],
    options: SdkRequestOptions,
    logCtx: FetchWithTimeoutArgs[5],
  ): Promise<Response> {
    if (!(await rejectsToken(response))) return response;
    const headers = headersOf(init);
    // The token on the wire: `init`'s, unless prepareRequest() swapped it in a copy of the headers.
    const inInit = bearerOf(headers);
    const swap = this.#swaps.get(options);
    const used = swap !== undefined && swap.from === inInit ? swap.to : inInit;
    if (used === undefined) return response;
    this.#source.markRejected(used);
    if (this.#refreshedIn.has(options)) return response;
    this.#refreshedIn.add(options);
    this.#marked = true;
    // A 401 the SDK will retry: it empties its cache and asks the provider to refresh (sdk-seam.ts).
    const maxRetries = options.maxRetries ?? this.maxRetries;
    if (response.status === 401 && maxRetries - attemptOf(headers) > 0) return response;
    if (!isReplayable(init?.body)) return response;
    let fresh: string | undefined;
    try {
      fresh = await tokenAfterRejection(this.#source, used);
    } catch (error) {
      // Thrown from here, the SDK would wrap it in an APIConnectionError: makeStatusError throws it.
      this.#refreshFailures.set(response.headers, error);
      return response;
    }
    if (fresh === undefined) return response;
    await discard(response);
    // prepareRequest() puts the fresh token in place of the rejected one.
    return super.fetchWithTimeout(url, init, ms, controller, options, logCtx);
  }

  protected override makeStatusError(
    ...[status, error, message, headers]: Parameters<Anthropic['makeStatusError']>
  ): ReturnType<Anthropic['makeStatusError']> {
    const failure = this.#refreshFailures.get(headers);
    if (failure !== undefined) throw failure;
    return super.makeStatusError(status, error, message, headers);
  }

  override withOptions(
    options: Partial<AnthropicOAuthOptions> & Partial<Pick<ClientOptions, SdkCredentialOption>>,
  ): this {
    const { oauthTokens, oauthConfig, tokenStorage, oauthProfile, env, now, betas, userAgent, ...rest } = options;
    const credential = sdkCredentialIn(rest);
    const newOrigin = oauthTokens !== undefined || tokenStorage !== undefined || oauthProfile !== undefined;
    const newLogin = newOrigin || oauthConfig !== undefined || env !== undefined || now !== undefined;
    if (credential && newLogin) {
      throw new TypeError(`AnthropicOAuth.withOptions takes OAuth options or \`${credential}\`, not both.`);
    }
    const parent = this.#login;
    const login: Login = newLogin
      ? {
          // A new origin (tokens, a store, a profile) replaces the parent's whole origin.
          ...(newOrigin
            ? { oauthTokens, tokenStorage, oauthProfile }
            : {
                oauthTokens: parent.oauthTokens,
                tokenStorage: parent.tokenStorage,
                oauthProfile: parent.oauthProfile,
              }),
          oauthConfig: { ...parent.oauthConfig, ...oauthConfig },
          env: env ?? parent.env,
          now: now ?? parent.now,
        }
      : parent;
    // A copy that keeps the login (new config, clock or environment only) shares it with this client:
    // tokens given in code or read from the environment live in memory, and a second copy of them
    // would spend a refresh token this client already spent. A new environment may name another
    // login (other variables, another profile), except where the tokens were given in code.
    const keepsLogin = !newOrigin && (env === undefined || parent.oauthTokens !== undefined);
    const source = newLogin
      ? sourceFor(login, rest.fetch ?? this.#fetch, keepsLogin ? this.#source : undefined)
      : this.#source;
    const inherited: Inherited = {
      source,
      login,
      betas: betas ? [...betas] : this.#betas,
      userAgent: userAgent ?? this.#userAgent,
      plain: credential !== undefined || (!newLogin && this.#plain),
    };
    const passed: Partial<ClientOptions> & { [INHERITED]: Inherited } = { ...rest, [INHERITED]: inherited };
    if (newLogin) passed.credentials = sdkCredentials(source, login.now !== undefined);
    return super.withOptions(passed);
  }

  /** A client on the tokens in the environment (`env`, default `process.env`); throws `not_logged_in` (synchronously) when there are none. */
  static fromEnv(options: Omit<AnthropicOAuthOptions, 'oauthTokens' | 'tokenStorage'> = {}): AnthropicOAuth {
    if (!loadTokensFromEnv(options.env)) {
      throw new OAuthFlowError(
        'not_logged_in',
        `No OAuth token in the environment: set ANTHROPIC_OAUTH_ACCESS_TOKEN (and ANTHROPIC_REFRESH_TOKEN). ${LOGIN_HINT}`,
      );
    }
    // Read again by the source (no store, so from the environment): it then knows the token came
    // from a variable, and a long-lived one that is rejected says to make a new one.
    return new AnthropicOAuth({ ...options, tokenStorage: null });
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
      tokenStorage:
        storeOrPath === undefined ? new TokenStorage(defaultTokenPath(options.env)) : resolveStore(storeOrPath),
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
    if (this.#plain) return `AnthropicOAuth { baseURL: ${JSON.stringify(this.baseURL)}, credential: 'sdk' }`;
    return `AnthropicOAuth { baseURL: ${JSON.stringify(this.baseURL)}, betas: ${JSON.stringify(this.#betas)}, userAgent: ${JSON.stringify(this.#userAgent)} }`;
  }
}
