/**
 * The authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3).
 *
 * Pure: builds the URL the browser opens and the `OAuthState` to keep until the code comes back.
 * `state` is its own random value, independent of the PKCE verifier (RFC 6749 §10.12), and
 * `code=true` asks the server to show the code on the manual redirect page.
 */
import { resolveConfig } from './config.js';
import { generatePkce, randomBase64url } from './pkce.js';
import type { Env, OAuthConfig, OAuthState } from './types.js';

export interface AuthorizationRequest {
  url: string;
  oauthState: OAuthState;
}

export async function buildAuthorizationUrl(
  config: Partial<OAuthConfig> = {},
  options: { redirectUri?: string; env?: Env } = {},
): Promise<AuthorizationRequest> {
  const resolved = resolveConfig(config, options.env);
  const redirectUri = options.redirectUri ?? resolved.redirectUri;
  const { verifier, challenge } = await generatePkce();
  const state = randomBase64url(32);
  const url = new URL(resolved.authorizeUrl);
  const params: Record<string, string> = {
    code: 'true',
    client_id: resolved.clientId,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: resolved.scopes,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return { url: url.toString(), oauthState: { codeVerifier: verifier, state, redirectUri } };
}
