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

export interface OAuthTokens {
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
}

/** What the authorize step must remember until the code comes back. */
export interface OAuthState {
  codeVerifier: string;
  state: string;
  redirectUri: string;
}

/** A `fetch`-compatible function; tests and proxies pass their own. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
