import { describe, expect, it } from 'vitest';
import { buildAuthorizationUrl } from '../src/authorize.js';
import { DEFAULT_AUTHORIZE_URL, DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, DEFAULT_SCOPES } from '../src/constants.js';
import { OAuthFlowError } from '../src/errors.js';
import { pkceChallenge } from '../src/pkce.js';

/** An empty environment, so the developer's own ANTHROPIC_OAUTH_* variables never leak in. */
const NO_ENV = {};

describe('buildAuthorizationUrl (seed: TestOAuthAuth.test_build_authorization_url)', () => {
  it('sends exactly the documented query parameters', async () => {
    const { url, oauthState } = await buildAuthorizationUrl({}, { env: NO_ENV });
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(DEFAULT_AUTHORIZE_URL);
    const params = parsed.searchParams;
    expect([...params.keys()].sort()).toEqual(
      [
        'client_id',
        'code',
        'code_challenge',
        'code_challenge_method',
        'redirect_uri',
        'response_type',
        'scope',
        'state',
      ].sort(),
    );
    expect(params.get('code')).toBe('true');
    expect(params.get('client_id')).toBe(DEFAULT_CLIENT_ID);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('redirect_uri')).toBe(DEFAULT_REDIRECT_URI);
    expect(params.get('scope')).toBe(DEFAULT_SCOPES);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toBe(await pkceChallenge(oauthState.codeVerifier));
    expect(params.get('state')).toBe(oauthState.state);
    expect(oauthState.redirectUri).toBe(DEFAULT_REDIRECT_URI);
  });

  it('uses a random state that is not the PKCE verifier', async () => {
    const a = await buildAuthorizationUrl({}, { env: NO_ENV });
    const b = await buildAuthorizationUrl({}, { env: NO_ENV });
    expect(a.oauthState.state).not.toBe(a.oauthState.codeVerifier);
    expect(a.oauthState.state).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(a.oauthState.codeVerifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(a.oauthState.state).not.toBe(b.oauthState.state);
    expect(a.oauthState.codeVerifier).not.toBe(b.oauthState.codeVerifier);
    expect(new URL(a.url).searchParams.get('code_challenge')).not.toBe(
      new URL(b.url).searchParams.get('code_challenge'),
    );
  });

  it('puts the redirectUri option in the URL and in oauthState', async () => {
    const redirectUri = 'http://localhost:54545/callback';
    const { url, oauthState } = await buildAuthorizationUrl({}, { redirectUri, env: NO_ENV });
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(redirectUri);
    expect(oauthState.redirectUri).toBe(redirectUri);
  });

  it('redirectUri option beats config.redirectUri', async () => {
    const { url, oauthState } = await buildAuthorizationUrl(
      { redirectUri: 'https://example.com/from-config' },
      { redirectUri: 'http://localhost:1234/callback', env: NO_ENV },
    );
    expect(new URL(url).searchParams.get('redirect_uri')).toBe('http://localhost:1234/callback');
    expect(oauthState.redirectUri).toBe('http://localhost:1234/callback');
  });

  it('merges a partial config over the defaults', async () => {
    const { url, oauthState } = await buildAuthorizationUrl(
      { clientId: 'my-client', scopes: 'user:inference', redirectUri: 'https://example.com/cb' },
      { env: NO_ENV },
    );
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(DEFAULT_AUTHORIZE_URL);
    expect(parsed.searchParams.get('client_id')).toBe('my-client');
    expect(parsed.searchParams.get('scope')).toBe('user:inference');
    expect(parsed.searchParams.get('redirect_uri')).toBe('https://example.com/cb');
    expect(oauthState.redirectUri).toBe('https://example.com/cb');
  });

  it('takes the authorize URL from ANTHROPIC_OAUTH_AUTHORIZE_URL in the env option', async () => {
    const { url } = await buildAuthorizationUrl(
      {},
      { env: { ANTHROPIC_OAUTH_AUTHORIZE_URL: 'https://auth.example.com/oauth/authorize' } },
    );
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://auth.example.com/oauth/authorize');
    expect(parsed.searchParams.get('code')).toBe('true');
  });

  it('an explicit authorizeUrl beats the environment', async () => {
    const { url } = await buildAuthorizationUrl(
      { authorizeUrl: 'http://127.0.0.1:9999/oauth/authorize' },
      { env: { ANTHROPIC_OAUTH_AUTHORIZE_URL: 'https://auth.example.com/oauth/authorize' } },
    );
    expect(url.startsWith('http://127.0.0.1:9999/oauth/authorize?')).toBe(true);
  });

  it('keeps query parameters already in the authorize URL', async () => {
    const { url } = await buildAuthorizationUrl(
      { authorizeUrl: 'https://auth.example.com/authorize?tenant=abc' },
      { env: NO_ENV },
    );
    const params = new URL(url).searchParams;
    expect(params.get('tenant')).toBe('abc');
    expect(params.get('response_type')).toBe('code');
  });

  it('refuses an http authorize URL off loopback', async () => {
    const promise = buildAuthorizationUrl({ authorizeUrl: 'http://claude.ai/oauth/authorize' }, { env: NO_ENV });
    await expect(promise).rejects.toBeInstanceOf(OAuthFlowError);
    await expect(promise).rejects.toMatchObject({ code: 'insecure_url' });
  });
});
