/**
 * The emulator's own copy of the wire facts (PROTOCOL.md): the public client's id, the default
 * scopes, the OAuth beta, the endpoint paths, the token prefixes and the fake identity.
 *
 * Written out here on purpose rather than imported from the library's `constants.ts`: an emulator
 * that borrowed the client's constants would agree with a wrong one, and the tests that run the
 * library against it could no longer catch it.
 */

export const HOST = '127.0.0.1';

/** The real public OAuth client (no secret): accepted unless `clientId` says otherwise. */
export const PUBLIC_CLIENT = Object.freeze({
  id: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  /** What the token endpoint echoes as `scope` unless `scopes` says otherwise. */
  scopes: 'org:create_api_key user:profile user:inference',
});

/** The beta without which the API refuses an OAuth bearer token. */
export const OAUTH_BETA = 'oauth-2025-04-20';

/** The paths the real services serve these endpoints at (the origin is the emulator's). */
export const PATHS = Object.freeze({
  authorize: '/oauth/authorize',
  manualCallback: '/oauth/code/callback',
  token: '/v1/oauth/token',
  messages: '/v1/messages',
  models: '/v1/models',
});

/** Real tokens start like this; the emulator's fake ones do too, so redaction code sees the real shape. */
export const TOKEN_PREFIX = Object.freeze({ access: 'sk-ant-oat01-', refresh: 'sk-ant-ort01-' });

/** Seconds an access token lives (about 8 hours, like the real ones). */
export const DEFAULT_ACCESS_TOKEN_TTL = 28_800;
/** Seconds an authorization code lives. */
export const DEFAULT_CODE_TTL = 300;
export const DEFAULT_ACCOUNT = Object.freeze({
  uuid: '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  emailAddress: 'user@example.com',
});
export const DEFAULT_ORGANIZATION = Object.freeze({
  uuid: '9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1',
  name: 'Example Org',
});

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_LOGGED_REQUESTS = 10_000;
