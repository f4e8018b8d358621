import { describe, expect, it } from 'vitest';
import { OAuthFlowError, TokenStorageError } from '../src/errors.js';
import {
  checkGivenTokens,
  fromStoredCredentials,
  isExpired,
  MAX_LIFETIME_SECONDS,
  MAX_TOKEN_CHARS,
  nowSeconds,
  TOKEN_FILE_VERSION,
  tokensFromResponse,
  toStoredCredentials,
} from '../src/oauth-tokens.js';
import { createTokenSource } from '../src/provider.js';
import { startEmulator } from '../src/testing/index.js';
import { processTokenResponse } from '../src/token-endpoint.js';
import type { OAuthTokens } from '../src/types.js';
import { thrownBy } from './helpers/fixtures.js';

const NOW = 1_700_000_000.75;

const RESPONSE = {
  access_token: 'sk-ant-oat01-access',
  refresh_token: 'sk-ant-ort01-refresh',
  expires_in: 28800,
  token_type: 'Bearer',
  scope: 'user:inference user:profile',
  organization: { uuid: 'org-uuid', name: 'Example Org' },
  account: { uuid: 'acct-uuid', email_address: 'user@example.com' },
};

const responseError = (body: unknown) => thrownBy(OAuthFlowError, () => tokensFromResponse(body, NOW));

describe('tokensFromResponse (seed: TestOAuthTypes.test_from_token_response)', () => {
  it('maps a full response exactly', () => {
    expect(tokensFromResponse(RESPONSE, NOW)).toEqual({
      accessToken: 'sk-ant-oat01-access',
      refreshToken: 'sk-ant-ort01-refresh',
      expiresAt: NOW + 28800,
      expiresIn: 28800,
      tokenType: 'Bearer',
      scope: 'user:inference user:profile',
      organization: { uuid: 'org-uuid', name: 'Example Org' },
      account: { uuid: 'acct-uuid', emailAddress: 'user@example.com' },
    });
    expect(tokensFromResponse(RESPONSE, NOW).expiresAt).toBe(1_700_028_800.75);
  });

  it('maps the seed response and it is not expired', () => {
    const tokens = tokensFromResponse({
      access_token: 'at',
      refresh_token: 'rt',
      expires_in: 3600,
      token_type: 'bearer',
    });
    expect(tokens.accessToken).toBe('at');
    expect(tokens.refreshToken).toBe('rt');
    expect(tokens.tokenType).toBe('Bearer');
    expect(isExpired(tokens)).toBe(false);
  });

  it('defaults now to the current time in seconds', () => {
    const before = Math.floor(nowSeconds());
    const tokens = tokensFromResponse({ access_token: 'at', expires_in: 3600 });
    expect(tokens.expiresAt).toBeGreaterThanOrEqual(before + 3600);
    expect(tokens.expiresAt).toBeLessThan(before + 3600 + 60);
  });

  it('drops malformed organization and account fields instead of failing', () => {
    const tokens = tokensFromResponse(
      { ...RESPONSE, organization: { uuid: 42, name: 'x' }, account: { uuid: 'a', email: 'user@example.com' } },
      NOW,
    );
    expect(tokens.organization).toBeUndefined();
    expect(tokens.account).toBeUndefined();
    expect('organization' in tokens).toBe(false);
    expect('account' in tokens).toBe(false);
    expect(tokensFromResponse({ ...RESPONSE, organization: 'Example', account: [] }, NOW)).not.toHaveProperty(
      'organization',
    );
  });

  it.each(['bearer', 'Bearer', 'BEARER'])('accepts token_type %s and normalises it', (token_type) => {
    expect(tokensFromResponse({ ...RESPONSE, token_type }, NOW).tokenType).toBe('Bearer');
  });

  it('accepts expires_in as a numeric string', () => {
    expect(tokensFromResponse({ ...RESPONSE, expires_in: '3600' }, NOW).expiresAt).toBe(NOW + 3600);
  });

  it('keeps refreshToken empty when the response has none', () => {
    const { refresh_token: _omit, ...rest } = RESPONSE;
    expect(tokensFromResponse(rest, NOW).refreshToken).toBe('');
  });

  it('sets expiresAt to null when expires_in is absent', () => {
    const { expires_in: _omit, ...rest } = RESPONSE;
    expect(tokensFromResponse(rest, NOW).expiresAt).toBeNull();
  });

  it('defaults scope to "" and tokenType to Bearer', () => {
    expect(tokensFromResponse({ access_token: 'at' }, NOW)).toEqual({
      accessToken: 'at',
      refreshToken: '',
      expiresAt: null,
      tokenType: 'Bearer',
      scope: '',
    });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'sk-ant-oat01-access'],
    ['a number', 42],
    ['a missing access_token', { ...RESPONSE, access_token: undefined }],
    ['an empty access_token', { ...RESPONSE, access_token: '' }],
    ['a number access_token', { ...RESPONSE, access_token: 123 }],
    ['an object access_token', { ...RESPONSE, access_token: { value: 'x' } }],
    ['token_type mac', { ...RESPONSE, token_type: 'mac' }],
    ['a number token_type', { ...RESPONSE, token_type: 1 }],
    ['expires_in -1', { ...RESPONSE, expires_in: -1 }],
    ['expires_in null', { ...RESPONSE, expires_in: null }],
    ['expires_in ""', { ...RESPONSE, expires_in: '' }],
    ['expires_in 0', { ...RESPONSE, expires_in: 0 }],
    ['expires_in "abc"', { ...RESPONSE, expires_in: 'abc' }],
    ['expires_in "-5"', { ...RESPONSE, expires_in: '-5' }],
    ['expires_in NaN', { ...RESPONSE, expires_in: Number.NaN }],
    ['expires_in 1e400 (Infinity)', JSON.parse('{"access_token":"at","expires_in":1e400,"token_type":"Bearer"}')],
    ['refresh_token ""', { ...RESPONSE, refresh_token: '' }],
    ['a number refresh_token', { ...RESPONSE, refresh_token: 42 }],
    ['a number scope', { ...RESPONSE, scope: 5 }],
  ])('rejects %s with invalid_response', (_label, body) => {
    const err = responseError(body);
    expect(err.code).toBe('invalid_response');
    expect(err.message).toContain('token endpoint');
  });

  it('refuses expires_in 1e400 as it comes over the wire (JSON reads it as Infinity, which is not clamped)', async () => {
    const wire = '{"access_token":"sk-ant-oat01-a","expires_in":1e400,"token_type":"Bearer"}';
    await expect(processTokenResponse(new Response(wire), NOW)).rejects.toMatchObject({
      code: 'invalid_response',
      message: expect.stringContaining('`expires_in` is not a finite'),
    });
  });

  it('never quotes a token in its errors', () => {
    const err = responseError({ access_token: 'sk-ant-oat01-SECRET', refresh_token: 7, token_type: 'Bearer' });
    expect(err.message).not.toContain('SECRET');
    expect(JSON.stringify(err)).not.toContain('SECRET');
  });
});

describe('isExpired (seed: TestOAuthTypes.test_is_expired_*)', () => {
  it('is expired at expiresAt 0', () => {
    expect(isExpired({ expiresAt: 0 })).toBe(true);
  });

  it('is not expired an hour ahead', () => {
    expect(isExpired({ expiresAt: nowSeconds() + 3600 })).toBe(false);
  });

  it('never expires a null expiry', () => {
    expect(isExpired({ expiresAt: null }, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(isExpired({ expiresAt: null })).toBe(false);
  });

  it('applies a 300 s buffer by default (now + 300 >= expiresAt is expired)', () => {
    const now = 1_000_000;
    expect(isExpired({ expiresAt: now + 300 }, now)).toBe(true);
    expect(isExpired({ expiresAt: now + 299 }, now)).toBe(true);
    expect(isExpired({ expiresAt: now + 301 }, now)).toBe(false);
    expect(isExpired({ expiresAt: now + 300.5 }, now)).toBe(false);
  });

  it('accepts a custom buffer', () => {
    const now = 1_000_000;
    expect(isExpired({ expiresAt: now + 60 }, now, 0)).toBe(false);
    expect(isExpired({ expiresAt: now }, now, 0)).toBe(true);
    expect(isExpired({ expiresAt: now + 3600 }, now, 3600)).toBe(true);
    expect(isExpired({ expiresAt: now + 3601 }, now, 3600)).toBe(false);
  });
});

const FULL: OAuthTokens = {
  accessToken: 'sk-ant-oat01-access',
  refreshToken: 'sk-ant-ort01-refresh',
  expiresAt: 1_700_028_800,
  tokenType: 'Bearer',
  scope: 'user:inference',
  organization: { uuid: 'org-uuid', name: 'Example Org' },
  account: { uuid: 'acct-uuid', emailAddress: 'user@example.com' },
};

describe('toStoredCredentials / fromStoredCredentials', () => {
  it('writes the documented snake_case shape', () => {
    expect(toStoredCredentials(FULL)).toMatchInlineSnapshot(`
      {
        "access_token": "sk-ant-oat01-access",
        "account_email": "user@example.com",
        "account_uuid": "acct-uuid",
        "expires_at": 1700028800,
        "organization_name": "Example Org",
        "organization_uuid": "org-uuid",
        "refresh_token": "sk-ant-ort01-refresh",
        "scope": "user:inference",
        "token_type": "Bearer",
        "type": "oauth_token",
        "version": "1.0",
      }
    `);
    expect(TOKEN_FILE_VERSION).toBe('1.0');
  });

  it('omits an empty refresh token and a null expiry', () => {
    expect(
      toStoredCredentials({ accessToken: 'at', refreshToken: '', expiresAt: null, tokenType: 'Bearer', scope: '' }),
    ).toEqual({ version: '1.0', type: 'oauth_token', access_token: 'at', token_type: 'Bearer', scope: '' });
  });

  it('round-trips a full login', () => {
    expect(fromStoredCredentials(toStoredCredentials(FULL), '/t.json')).toEqual(FULL);
    expect(fromStoredCredentials(JSON.parse(JSON.stringify(toStoredCredentials(FULL))), '/t.json')).toEqual(FULL);
  });

  it('round-trips a minimal login', () => {
    const minimal: OAuthTokens = {
      accessToken: 'at',
      refreshToken: '',
      expiresAt: null,
      tokenType: 'Bearer',
      scope: '',
    };
    expect(fromStoredCredentials(toStoredCredentials(minimal), '/t.json')).toEqual(minimal);
  });

  it('reads an SDK-style file without version, token_type or account uuid', () => {
    expect(
      fromStoredCredentials(
        { type: 'oauth_token', access_token: 'at', expires_at: 123, account_email: 'u@example.com', scope: null },
        '/t.json',
      ),
    ).toEqual({
      accessToken: 'at',
      refreshToken: '',
      expiresAt: 123,
      tokenType: 'Bearer',
      scope: '',
      account: { uuid: '', emailAddress: 'u@example.com' },
    });
  });

  it.each([
    ['null', null],
    ['an array', [{ access_token: 'x' }]],
    ['a string', 'sk-ant-oat01-SECRET'],
    ['no access_token', { type: 'oauth_token', refresh_token: 'sk-ant-ort01-SECRET' }],
    ['an empty access_token', { access_token: '' }],
    ['a number access_token', { access_token: 42 }],
    ['an unknown version', { version: '2.0', access_token: 'sk-ant-oat01-SECRET' }],
    ['a number version', { version: 1, access_token: 'sk-ant-oat01-SECRET' }],
    ['an unknown type', { type: 'api_key', access_token: 'sk-ant-oat01-SECRET' }],
    ['a number refresh_token', { access_token: 'sk-ant-oat01-SECRET', refresh_token: 5 }],
    ['a string expires_at', { access_token: 'sk-ant-oat01-SECRET', expires_at: '1700000000' }],
    ['an infinite expires_at', { access_token: 'sk-ant-oat01-SECRET', expires_at: Number.POSITIVE_INFINITY }],
    ['an object scope', { access_token: 'sk-ant-oat01-SECRET', scope: { a: 1 } }],
    ['a number account_email', { access_token: 'sk-ant-oat01-SECRET', account_email: 1 }],
  ])('rejects %s with corrupt_file naming the path, never a token', (_label, data) => {
    const path = '/home/someone/.anthropic/oauth_tokens.json';
    let caught: unknown;
    try {
      fromStoredCredentials(data, path);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TokenStorageError);
    const err = caught as TokenStorageError;
    expect(err.code).toBe('corrupt_file');
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).not.toContain('SECRET');
    expect(JSON.stringify(err)).not.toContain('SECRET');
  });
});

describe('token lifetime (expiresIn)', () => {
  it('is recorded from expires_in and persisted as expires_in in the file format', () => {
    const tokens = tokensFromResponse({ access_token: 'at', refresh_token: 'rt', expires_in: 2 }, NOW);
    expect(tokens.expiresIn).toBe(2);
    const stored = toStoredCredentials(tokens);
    expect(stored.expires_in).toBe(2);
    expect(fromStoredCredentials(stored, '/x/tokens.json').expiresIn).toBe(2);
  });

  it('is unknown for tokens built by hand', () => {
    expect({ ...FULL }.expiresIn).toBeUndefined();
    expect(toStoredCredentials({ ...FULL }).expires_in).toBeUndefined();
  });

  it('survives a copy ({ ...tokens }) and JSON, as a plain field', () => {
    const tokens = tokensFromResponse({ access_token: 'at', refresh_token: 'rt', expires_in: 120 }, NOW);
    expect({ ...tokens }.expiresIn).toBe(120);
    expect(toStoredCredentials({ ...tokens }).expires_in).toBe(120);
    expect((JSON.parse(JSON.stringify(tokens)) as OAuthTokens).expiresIn).toBe(120);
  });

  it('ignores an expires_in in the file that is not a positive number (it only tunes the refresh buffer)', () => {
    for (const expires_in of [-5, 0, '120', null, Number.NaN]) {
      expect(fromStoredCredentials({ access_token: 'at', expires_in }, '/t.json').expiresIn).toBeUndefined();
    }
  });

  it('a copied fresh short-lived token is used, not refreshed at once (issue 10 item 14)', async () => {
    const emu = await startEmulator({ accessTokenTtl: 240 });
    try {
      const issued = emu.issueTokens();
      const fresh = tokensFromResponse(
        { access_token: issued.accessToken, refresh_token: issued.refreshToken, expires_in: 240 },
        nowSeconds(),
      );
      // A copy, as callers make: the lifetime must come along (240 s < the default 300 s buffer).
      const source = createTokenSource({ oauthConfig: emu.oauthConfig, env: {}, oauthTokens: { ...fresh } });
      expect((await source.getTokens()).accessToken).toBe(issued.accessToken);
      expect(emu.stats().refresh).toBe(0);
    } finally {
      await emu.close();
    }
  });
});

/** Strings that must never become a token: each would break the `Authorization` header or the terminal. */
const BAD_TOKENS: [string, string][] = [
  ['CR/LF inside', 'sk-ant-oat01-SECRET\r\nX-Injected: 1'],
  ['a line feed at the end', 'sk-ant-oat01-SECRET\n'],
  ['a space inside', 'sk-ant-oat01-SEC RET'],
  ['a tab', 'sk-ant-oat01-SECRET\t'],
  ['a NUL', 'sk-ant-oat01-SECRET\u0000'],
  ['DEL', 'sk-ant-oat01-SECRET\u007f'],
  ['an escape sequence', 'sk-ant-oat01-SECRET\u001b[2J'],
  ['a C1 control', 'sk-ant-oat01-SECRET\u009b'],
  ['non-ASCII (é)', 'sk-ant-oat01-SECRETé'],
  ['an emoji', 'sk-ant-oat01-SECRET🙂'],
  ['a right-to-left override', 'sk-ant-oat01-SECRET\u202e'],
  [`longer than ${MAX_TOKEN_CHARS} characters`, `sk-ant-oat01-SECRET${'a'.repeat(MAX_TOKEN_CHARS)}`],
];

describe('hostile values at the source (issue 10 item 6)', () => {
  it.each(BAD_TOKENS)('a token response whose access_token has %s is invalid_response', (_label, token) => {
    const err = responseError({ ...RESPONSE, access_token: token });
    expect(err.code).toBe('invalid_response');
    expect(err.message).toMatch(/`access_token` is not a token: visible ASCII characters only/);
    expect(`${err.message}${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET');
  });

  it.each(BAD_TOKENS)('a token response whose refresh_token has %s is invalid_response', (_label, token) => {
    const err = responseError({ ...RESPONSE, refresh_token: token.replace('oat01', 'ort01') });
    expect(err.code).toBe('invalid_response');
    expect(err.message).toContain('`refresh_token` is not a token');
    expect(`${err.message}${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET');
  });

  it.each(BAD_TOKENS)('a token file whose access_token has %s is corrupt_file', (_label, token) => {
    const err = storedError({ type: 'oauth_token', access_token: token });
    expect(err.message).toContain('`access_token` is not a token');
    expect(`${err.message}${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET');
  });

  it.each(BAD_TOKENS)('a token file whose refresh_token has %s is corrupt_file', (_label, token) => {
    const err = storedError({ access_token: 'sk-ant-oat01-fine', refresh_token: token });
    expect(err.message).toContain('`refresh_token` is not a token');
    expect(`${err.message}${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET');
  });

  it(`accepts a token of exactly ${MAX_TOKEN_CHARS} visible ASCII characters, punctuation included`, () => {
    const token = `!~${'a'.repeat(MAX_TOKEN_CHARS - 5)}+/=`;
    expect(token).toHaveLength(MAX_TOKEN_CHARS);
    expect(tokensFromResponse({ access_token: token, refresh_token: token }, NOW).accessToken).toBe(token);
    expect(fromStoredCredentials({ access_token: token, refresh_token: token }, '/t.json').refreshToken).toBe(token);
  });

  it('clamps expires_in 1e308 to 10 years, so the expiry is still a date', () => {
    const tokens = tokensFromResponse({ ...RESPONSE, expires_in: 1e308 }, NOW);
    expect(tokens.expiresIn).toBe(MAX_LIFETIME_SECONDS);
    expect(tokens.expiresAt).toBe(NOW + MAX_LIFETIME_SECONDS);
    expect(new Date((tokens.expiresAt ?? 0) * 1000).toISOString()).toMatch(/^2033-/);
    // And the same lifetime read back from a file that holds 1e308.
    expect(fromStoredCredentials({ access_token: 'at', expires_in: 1e308 }, '/t.json').expiresIn).toBe(
      MAX_LIFETIME_SECONDS,
    );
  });

  it('clamps a huge numeric-string expires_in and keeps a one-year one as it is', () => {
    expect(tokensFromResponse({ ...RESPONSE, expires_in: '9'.repeat(300) }, NOW).expiresIn).toBe(MAX_LIFETIME_SECONDS);
    expect(tokensFromResponse({ ...RESPONSE, expires_in: 31_536_000 }, NOW).expiresIn).toBe(31_536_000);
  });

  it.each([
    ['"1e3" (an exponent in a string)', '1e3'],
    ['" 3600 s"', ' 3600 s'],
    ['true', true],
    ['an object', { seconds: 3600 }],
    ['an array', [3600]],
  ])('refuses expires_in %s with invalid_response', (_label, expires_in) => {
    expect(responseError({ ...RESPONSE, expires_in }).code).toBe('invalid_response');
  });

  it.each([
    ['a control character', 'user:inference\u001b[31m'],
    ['a line break', 'user:inference\nuser:profile'],
    ['non-ASCII', 'user:inférence'],
    ['over 4096 characters', 'user:inference '.repeat(300)],
    ['an array', ['user:inference']],
  ])('refuses a scope with %s', (_label, scope) => {
    const err = responseError({ ...RESPONSE, scope });
    expect(err.code).toBe('invalid_response');
    expect(err.message).toContain('`scope`');
  });

  it('drops an organization or account over 1024 characters instead of failing the login', () => {
    const tokens = tokensFromResponse(
      {
        ...RESPONSE,
        organization: { uuid: 'o', name: 'n'.repeat(1025) },
        account: { uuid: 'a', email_address: `${'e'.repeat(1020)}@example.com` },
      },
      NOW,
    );
    expect(tokens.organization).toBeUndefined();
    expect(tokens.account).toBeUndefined();
  });

  it('takes unicode in display fields as it is (the CLI makes it safe to print)', () => {
    const tokens = tokensFromResponse({ ...RESPONSE, organization: { uuid: 'o', name: 'Ünïcödé 🙂' } }, NOW);
    expect(tokens.organization?.name).toBe('Ünïcödé 🙂');
  });

  it.each([
    ['1e308', 1e308, 'too large for epoch seconds'],
    ['in milliseconds', 1_764_000_000_000, 'milliseconds are not accepted'],
    ['negative', -1, 'negative'],
    ['-1e308', -1e308, 'negative'],
  ])('refuses a file expires_at %s with corrupt_file', (_label, expires_at, what) => {
    const err = storedError({ access_token: 'sk-ant-oat01-SECRET', expires_at });
    expect(err.message).toContain(what);
    expect(err.message).toContain('Run `npx anthropic-oauth login` to replace it');
  });

  it('takes a file expires_at of 0 (long expired: refreshed on use) and ignores extra fields', () => {
    const tokens = fromStoredCredentials(
      { access_token: 'at', expires_at: 0, extra: { nested: [1, { deep: true }] }, claudeAiOauth: null },
      '/t.json',
    );
    expect(tokens).toEqual({ accessToken: 'at', refreshToken: '', expiresAt: 0, tokenType: 'Bearer', scope: '' });
  });
});

function storedError(data: unknown): TokenStorageError {
  const error = thrownBy(TokenStorageError, () =>
    fromStoredCredentials(data, '/home/someone/.anthropic/oauth_tokens.json'),
  );
  expect(error).toMatchObject({ code: 'corrupt_file', path: '/home/someone/.anthropic/oauth_tokens.json' });
  return error;
}

describe('checkGivenTokens: tokens given in code (oauthTokens)', () => {
  const GIVEN: OAuthTokens = {
    accessToken: 'sk-ant-oat01-given',
    refreshToken: 'sk-ant-ort01-given',
    expiresAt: NOW + 3600,
    tokenType: 'Bearer',
    scope: '',
  };

  it('accepts tokens, an empty or missing refresh token and an unknown expiry', () => {
    expect(checkGivenTokens(GIVEN)).toBe(GIVEN);
    expect(checkGivenTokens({ ...GIVEN, refreshToken: '', expiresAt: null })).toMatchObject({ refreshToken: '' });
    expect(checkGivenTokens({ ...GIVEN, refreshToken: undefined } as unknown as OAuthTokens).accessToken).toBe(
      GIVEN.accessToken,
    );
  });

  it.each<[string, unknown, RegExp]>([
    [
      'an access token with CR/LF',
      { ...GIVEN, accessToken: 'sk-ant-oat01-SECRET\r\nX-Evil: 1' },
      /accessToken is not a token/,
    ],
    [
      'an access token with a Bearer prefix',
      { ...GIVEN, accessToken: 'Bearer sk-ant-oat01-SECRET' },
      /no `Bearer ` prefix/,
    ],
    ['an empty access token', { ...GIVEN, accessToken: '' }, /accessToken is not a token/],
    ['no access token', { ...GIVEN, accessToken: undefined }, /accessToken is not a token/],
    ['a non-ASCII access token', { ...GIVEN, accessToken: 'sk-ant-oat01-SECRÉT' }, /accessToken is not a token/],
    ['an access token over 4096 characters', { ...GIVEN, accessToken: 'S'.repeat(4097) }, /at most 4096/],
    [
      'a refresh token with a line break',
      { ...GIVEN, refreshToken: 'sk-ant-ort01-SECRET\n' },
      /refreshToken is not a token/,
    ],
    ['an expiry in milliseconds', { ...GIVEN, expiresAt: Date.now() }, /milliseconds are not accepted/],
    ['an expiry that is a string', { ...GIVEN, expiresAt: '1700000000' }, /epoch seconds, or null/],
    ['a negative expiry', { ...GIVEN, expiresAt: -1 }, /epoch seconds, or null/],
    ['not an object', 'sk-ant-oat01-SECRET', /must be an object/],
  ])('refuses %s with invalid_config, never quoting it', (_label, tokens, message) => {
    let caught: unknown;
    try {
      checkGivenTokens(tokens as OAuthTokens);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OAuthFlowError);
    expect(caught).toMatchObject({ code: 'invalid_config', message: expect.stringMatching(message) });
    expect((caught as Error).message).toMatch(/^oauthTokens/);
    expect((caught as Error).message).not.toMatch(/SECRET|SSSS/);
  });
});
