import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isLoopbackHostname, requireSecureUrl, resolveConfig } from '../src/config.js';
import { OAuthFlowError } from '../src/errors.js';
import { thrownBy } from './helpers/fixtures.js';

const DEFAULTS = {
  clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  redirectUri: 'https://platform.claude.com/oauth/code/callback',
  tokenUrl: 'https://platform.claude.com/v1/oauth/token',
  authorizeUrl: 'https://claude.ai/oauth/authorize',
  scopes: 'org:create_api_key user:profile user:inference',
};

const configError = (fn: () => unknown) => thrownBy(OAuthFlowError, fn);

describe('resolveConfig', () => {
  it('defaults to the docs/protocol.md values', () => {
    expect(resolveConfig({}, {})).toEqual(DEFAULTS);
  });

  it('reads all five ANTHROPIC_OAUTH_* variables', () => {
    const env = {
      ANTHROPIC_OAUTH_CLIENT_ID: 'env-client',
      ANTHROPIC_OAUTH_REDIRECT_URI: 'http://localhost:5555/callback',
      ANTHROPIC_OAUTH_TOKEN_URL: 'https://tokens.example.com/v1/oauth/token',
      ANTHROPIC_OAUTH_AUTHORIZE_URL: 'https://auth.example.com/oauth/authorize',
      ANTHROPIC_OAUTH_SCOPES: 'user:inference',
    };
    expect(resolveConfig({}, env)).toEqual({
      clientId: 'env-client',
      redirectUri: 'http://localhost:5555/callback',
      tokenUrl: 'https://tokens.example.com/v1/oauth/token',
      authorizeUrl: 'https://auth.example.com/oauth/authorize',
      scopes: 'user:inference',
    });
  });

  it('trims environment values and treats empty ones as unset', () => {
    expect(resolveConfig({}, { ANTHROPIC_OAUTH_CLIENT_ID: '  env-client  ', ANTHROPIC_OAUTH_SCOPES: '' })).toEqual({
      ...DEFAULTS,
      clientId: 'env-client',
    });
    expect(resolveConfig({}, { ANTHROPIC_OAUTH_TOKEN_URL: '   ' }).tokenUrl).toBe(DEFAULTS.tokenUrl);
  });

  it('explicit values win over the environment', () => {
    const env = { ANTHROPIC_OAUTH_CLIENT_ID: 'env-client', ANTHROPIC_OAUTH_TOKEN_URL: 'https://env.example.com/t' };
    const config = resolveConfig({ clientId: 'explicit', tokenUrl: 'https://explicit.example.com/t' }, env);
    expect(config.clientId).toBe('explicit');
    expect(config.tokenUrl).toBe('https://explicit.example.com/t');
    expect(config.scopes).toBe(DEFAULTS.scopes);
  });

  it.each([
    ['tokenUrl', 'http://platform.claude.com/v1/oauth/token'],
    ['authorizeUrl', 'http://claude.ai/oauth/authorize'],
    ['tokenUrl', 'ftp://platform.claude.com/token'],
    ['tokenUrl', 'http://127.0.0.1.example.com/token'],
    ['tokenUrl', 'http://localhost.example.com/token'],
  ] as const)('refuses %s %s with insecure_url', (key, value) => {
    const err = configError(() => resolveConfig({ [key]: value }, {}));
    expect(err.code).toBe('insecure_url');
    expect(err.message).toContain('https');
  });

  it('refuses an http token URL that comes from the environment', () => {
    const err = configError(() => resolveConfig({}, { ANTHROPIC_OAUTH_TOKEN_URL: 'http://evil.example.com/token' }));
    expect(err.code).toBe('insecure_url');
  });

  it.each([
    'http://127.0.0.1:8080/v1/oauth/token',
    'http://127.5.6.7/v1/oauth/token',
    'http://localhost:8080/v1/oauth/token',
    'http://LOCALHOST/v1/oauth/token',
    'http://[::1]:8080/v1/oauth/token',
  ])('allows http on loopback: %s', (tokenUrl) => {
    expect(resolveConfig({ tokenUrl, authorizeUrl: tokenUrl }, {}).tokenUrl).toBe(tokenUrl);
  });

  it('refuses a URL that does not parse with invalid_config', () => {
    const err = configError(() => resolveConfig({ tokenUrl: 'not a url' }, {}));
    expect(err.code).toBe('invalid_config');
    expect(err.message).toContain('token URL');
    expect(configError(() => resolveConfig({ authorizeUrl: '://nope' }, {})).code).toBe('invalid_config');
  });

  it.each(['clientId', 'redirectUri', 'tokenUrl', 'authorizeUrl', 'scopes'] as const)(
    'refuses an empty explicit %s with invalid_config',
    (key) => {
      const err = configError(() => resolveConfig({ [key]: '' }, {}));
      expect(err.code).toBe('invalid_config');
      expect(err.message).toContain(key);
      expect(configError(() => resolveConfig({ [key]: '   ' }, {})).code).toBe('invalid_config');
    },
  );

  it('refuses a non-string explicit value with invalid_config', () => {
    const err = configError(() => resolveConfig({ clientId: 42 as unknown as string }, {}));
    expect(err.code).toBe('invalid_config');
  });

  it('treats an explicit undefined as "not given"', () => {
    expect(resolveConfig({ clientId: undefined } as unknown as Partial<typeof DEFAULTS>, {})).toEqual(DEFAULTS);
  });
});

describe('requireSecureUrl / isLoopbackHostname', () => {
  it('returns the parsed URL', () => {
    expect(requireSecureUrl('https://example.com/x', 'token URL').hostname).toBe('example.com');
  });

  it('names what it checks in the error', () => {
    const err = configError(() => requireSecureUrl('http://example.com/x', 'token URL'));
    expect(err.code).toBe('insecure_url');
    expect(err.message).toContain('token URL');
  });

  it('recognises loopback hosts only', () => {
    expect(isLoopbackHostname('localhost')).toBe(true);
    expect(isLoopbackHostname('127.0.0.1')).toBe(true);
    expect(isLoopbackHostname('[::1]')).toBe(true);
    expect(isLoopbackHostname('::1')).toBe(true);
    expect(isLoopbackHostname('example.com')).toBe(false);
    expect(isLoopbackHostname('127.0.0.1.example.com')).toBe(false);
    expect(isLoopbackHostname('0.0.0.0')).toBe(false);
  });
});

describe('URLs with a user name or password (issue 10 item 9)', () => {
  it.each([
    ['user:password@', 'https://user:p4ssw0rd-SECRET@platform.example.com/v1/oauth/token'],
    ['a password only', 'https://:p4ssw0rd-SECRET@platform.example.com/v1/oauth/token'],
    ['a user only', 'https://SECRET-user@platform.example.com/v1/oauth/token'],
    ['on loopback', 'http://u:p4ssw0rd-SECRET@127.0.0.1:8080/v1/oauth/token'],
  ])('refuses a token URL with %s, naming neither, and no cause', (_label, tokenUrl) => {
    for (const config of [
      () => resolveConfig({ tokenUrl }, {}),
      () => resolveConfig({}, { ANTHROPIC_OAUTH_TOKEN_URL: tokenUrl }),
    ]) {
      const err = configError(config);
      expect(err.code).toBe('invalid_config');
      expect(err.message).toMatch(
        /^The token URL must not contain a user name or password \(user:password@\)\. Remove them/,
      );
      expect(err.cause).toBeUndefined();
      expect(`${err.stack}${JSON.stringify(err)}${inspect(err, { depth: 10 })}`).not.toContain('SECRET');
    }
  });

  it('refuses an authorize URL with a password the same way', () => {
    const err = configError(() =>
      resolveConfig({ authorizeUrl: 'https://u:SECRET@claude.example/oauth/authorize' }, {}),
    );
    expect(err.message).toContain('The authorize URL must not contain a user name or password');
    expect(inspect(err, { depth: 10 })).not.toContain('SECRET');
  });

  it('reports a URL that does not parse without the parser error, which quotes the input', () => {
    for (const tokenUrl of ['https://u:SECRET@[bad/x', 'https://u:SECRET@%zz/', 'http://u:SECRET@:99999/']) {
      const err = configError(() => resolveConfig({ tokenUrl }, {}));
      expect(err.message).toBe('The token URL is not a valid URL. Check your configuration.');
      expect(err.cause).toBeUndefined();
      expect(`${err.stack}${JSON.stringify(err)}${inspect(err, { depth: 10 })}`).not.toContain('SECRET');
    }
  });
});
