import { describe, expect, it } from 'vitest';
import { OAuthFlowError, TokenStorageError } from '../src/errors.js';
import { createTokenSource } from '../src/provider.js';
import { startEmulator } from '../src/testing/index.js';
import {
  fromStoredCredentials,
  isExpired,
  nowSeconds,
  TOKEN_FILE_VERSION,
  tokensFromResponse,
  toStoredCredentials,
} from '../src/tokens.js';
import type { OAuthTokens } from '../src/types.js';

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

function responseError(body: unknown): OAuthFlowError {
  try {
    tokensFromResponse(body, NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthFlowError);
    return error as OAuthFlowError;
  }
  throw new Error('expected tokensFromResponse to throw');
}

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

  it('parses 1e400 as Infinity (the test body really is infinite)', () => {
    expect(JSON.parse('{"expires_in":1e400}').expires_in).toBe(Number.POSITIVE_INFINITY);
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
