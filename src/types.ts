/** The plain data shapes of the public API. No behaviour lives here, and nothing is imported. */

/** Environment variables, as `process.env` holds them; every option named `env` takes one. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface OAuthConfig {
  clientId: string;
  redirectUri: string;
  tokenUrl: string;
  authorizeUrl: string;
  /** Space-separated scopes, as sent in the authorize URL. */
  scopes: string;
}

export interface OrganizationInfo {
  uuid: string;
  name: string;
}

export interface AccountInfo {
  uuid: string;
  emailAddress: string;
}

/**
 * What the login last learned of its account (the profile at `login`, the roles at `login --console`),
 * saved with it so that `status` needs no network. Display only; every field may be missing.
 */
export interface AccountSummary {
  email?: string | undefined;
  organizationName?: string | undefined;
  organizationUuid?: string | undefined;
  /** The plan's label (`Max`, `Pro`, …). */
  plan?: string | undefined;
  /** Epoch SECONDS: when it was fetched. */
  fetchedAt: number;
}

/** An OAuth login (a subscription login, `login`): tokens that are refreshed. */
export interface OAuthTokens {
  /** The login's kind: OAuth tokens. Optional: tokens without a kind are OAuth tokens. */
  kind?: 'oauth' | undefined;
  accessToken: string;
  refreshToken: string;
  /** Epoch SECONDS, or `null` when unknown (treated as not expired). */
  expiresAt: number | null;
  /**
   * The lifetime the access token was issued with, in seconds (the token response's `expires_in`),
   * when known. A short-lived token is refreshed a quarter of its lifetime before `expiresAt`
   * rather than 300 s before it; the token file keeps it as `expires_in`. Optional: tokens built
   * by hand may leave it out.
   */
  expiresIn?: number | undefined;
  tokenType: string;
  scope: string;
  organization?: OrganizationInfo | undefined;
  account?: AccountInfo | undefined;
  /** The account as of the last login (`AccountSummary`), kept unchanged by every refresh. */
  summary?: AccountSummary | undefined;
}

/**
 * A Console login (`login --console`): an API key created with the OAuth tokens of the Console login,
 * which were then discarded. It is never refreshed; it stays valid until revoked in the Console.
 */
export interface ApiKeyLogin {
  kind: 'api_key';
  /** The API key (`sk-ant-api03-…`): the credential. */
  apiKey: string;
  organization: { uuid?: string | undefined; name?: string | undefined };
  role: { organization?: string | undefined; workspace?: string | undefined };
  /** Epoch SECONDS: when the key was created. */
  createdAt: number;
  /**
   * Never set: an API-key login has no OAuth tokens. Declared so that code written for
   * `OAuthTokens` (`(await store.load())?.accessToken`) still compiles, and reads `undefined`.
   */
  accessToken?: undefined;
  refreshToken?: undefined;
  expiresAt?: undefined;
  account?: undefined;
}

/** A stored login of either kind; tell them apart by `kind` (`isApiKeyLogin`). */
export type StoredLogin = OAuthTokens | ApiKeyLogin;

/** What the authorize step must remember until the code comes back. */
export interface OAuthState {
  codeVerifier: string;
  state: string;
  redirectUri: string;
}

/** A `fetch`-compatible function; tests and proxies pass their own. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * What the package reads of an answer to its own requests (the token, account and Console
 * endpoints): status, headers and a body stream. A `Response` is one.
 */
export interface ResponseLike {
  readonly status: number;
  readonly headers: HeadersLike;
  readonly body: ReadableStream<Uint8Array> | null;
}

/** What the package reads of an answer's headers: a `Headers` is one. */
export interface HeadersLike {
  get(name: string): string | null;
  forEach(callback: (value: string, name: string) => void): void;
}

/**
 * How the package sends its own requests: a `fetch`, or any function that sends like one and answers
 * with what the package reads (the CLI's, src/cli/http-fetch.ts, never loads Node's `fetch`).
 */
export type FetchLike = (input: string, init: RequestInit) => Promise<ResponseLike>;
