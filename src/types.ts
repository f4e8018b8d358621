/** The plain data shapes of the public API. No behaviour lives here. */

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
