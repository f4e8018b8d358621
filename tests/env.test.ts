import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokensFromEnv } from '../src/env.js';
import { ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT, ENV_EXPIRES_AT, ENV_REFRESH_TOKEN } from '../src/env-variables.js';
import { OAuthFlowError } from '../src/errors.js';
import { isExpired } from '../src/oauth-tokens.js';
import { thrownBy } from './helpers/fixtures.js';

const SECRET_AT = 'sk-ant-oat01-SECRETACCESS';
const SECRET_RT = 'sk-ant-ort01-SECRETREFRESH';

const envError = (env: Record<string, string | undefined>) => thrownBy(OAuthFlowError, () => loadTokensFromEnv(env));

describe('loadTokensFromEnv (seed: TestLoadTokensFromEnv)', () => {
  it('uses the documented variable names', () => {
    expect([ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT, ENV_REFRESH_TOKEN, ENV_EXPIRES_AT]).toEqual([
      'ANTHROPIC_OAUTH_ACCESS_TOKEN',
      'ANTHROPIC_ACCESS_TOKEN',
      'ANTHROPIC_REFRESH_TOKEN',
      'ANTHROPIC_TOKEN_EXPIRES_AT',
    ]);
  });

  it('loads access token, refresh token and expiry (test_loads_from_env)', () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const tokens = loadTokensFromEnv({
      ANTHROPIC_OAUTH_ACCESS_TOKEN: 'env-at',
      ANTHROPIC_REFRESH_TOKEN: 'env-rt',
      ANTHROPIC_TOKEN_EXPIRES_AT: String(expiresAt),
    });
    expect(tokens).toEqual({
      accessToken: 'env-at',
      refreshToken: 'env-rt',
      expiresAt,
      tokenType: 'Bearer',
      scope: '',
    });
    expect(tokens && isExpired(tokens)).toBe(false);
  });

  it('accepts a fractional expiry in seconds, as Python writes str(time.time())', () => {
    expect(
      loadTokensFromEnv({ ANTHROPIC_ACCESS_TOKEN: 'at', ANTHROPIC_TOKEN_EXPIRES_AT: '1764000000.123456' })?.expiresAt,
    ).toBe(1764000000.123456);
  });

  it('reads the alternative ANTHROPIC_ACCESS_TOKEN', () => {
    expect(loadTokensFromEnv({ ANTHROPIC_ACCESS_TOKEN: 'alt-at' })).toEqual({
      accessToken: 'alt-at',
      refreshToken: '',
      expiresAt: null,
      tokenType: 'Bearer',
      scope: '',
    });
  });

  it('prefers ANTHROPIC_OAUTH_ACCESS_TOKEN over ANTHROPIC_ACCESS_TOKEN', () => {
    expect(
      loadTokensFromEnv({ ANTHROPIC_OAUTH_ACCESS_TOKEN: 'primary', ANTHROPIC_ACCESS_TOKEN: 'alt' })?.accessToken,
    ).toBe('primary');
  });

  it('returns null with no access token (test_returns_none_when_no_env)', () => {
    expect(loadTokensFromEnv({})).toBeNull();
    expect(loadTokensFromEnv({ ANTHROPIC_REFRESH_TOKEN: 'rt', ANTHROPIC_TOKEN_EXPIRES_AT: '1764000000' })).toBeNull();
  });

  it('treats empty and blank values as unset', () => {
    expect(loadTokensFromEnv({ ANTHROPIC_OAUTH_ACCESS_TOKEN: '', ANTHROPIC_ACCESS_TOKEN: '  ' })).toBeNull();
    expect(loadTokensFromEnv({ ANTHROPIC_OAUTH_ACCESS_TOKEN: '', ANTHROPIC_ACCESS_TOKEN: 'alt' })?.accessToken).toBe(
      'alt',
    );
    expect(
      loadTokensFromEnv({
        ANTHROPIC_OAUTH_ACCESS_TOKEN: 'at',
        ANTHROPIC_REFRESH_TOKEN: '',
        ANTHROPIC_TOKEN_EXPIRES_AT: '',
      }),
    ).toEqual({ accessToken: 'at', refreshToken: '', expiresAt: null, tokenType: 'Bearer', scope: '' });
  });

  it('trims surrounding whitespace', () => {
    const tokens = loadTokensFromEnv({
      ANTHROPIC_OAUTH_ACCESS_TOKEN: ' at\n',
      ANTHROPIC_REFRESH_TOKEN: '\trt ',
      ANTHROPIC_TOKEN_EXPIRES_AT: ' 1764000000 ',
    });
    expect(tokens).toMatchObject({ accessToken: 'at', refreshToken: 'rt', expiresAt: 1764000000 });
  });

  it.each(['soon', '1.5e9', '-1', '0x10', '17640000OO', 'NaN', 'Infinity'])(
    'refuses a non-numeric expiry %j with invalid_env naming the variable',
    (value) => {
      const err = envError({ ANTHROPIC_OAUTH_ACCESS_TOKEN: SECRET_AT, ANTHROPIC_TOKEN_EXPIRES_AT: value });
      expect(err.code).toBe('invalid_env');
      expect(err.message).toContain('ANTHROPIC_TOKEN_EXPIRES_AT');
      expect(err.message).toContain('seconds');
    },
  );

  it('refuses an expiry in milliseconds and says it must be seconds', () => {
    const err = envError({ ANTHROPIC_OAUTH_ACCESS_TOKEN: SECRET_AT, ANTHROPIC_TOKEN_EXPIRES_AT: '1764000000000' });
    expect(err.code).toBe('invalid_env');
    expect(err.message).toContain('milliseconds');
    expect(err.message).toContain('seconds');
    expect(err.message).toContain('1764000000');
  });

  it('never puts a token value in the error', () => {
    for (const expiry of ['garbage', '1764000000000']) {
      const err = envError({
        ANTHROPIC_OAUTH_ACCESS_TOKEN: SECRET_AT,
        ANTHROPIC_REFRESH_TOKEN: SECRET_RT,
        ANTHROPIC_TOKEN_EXPIRES_AT: expiry,
      });
      for (const text of [err.message, err.stack ?? '', JSON.stringify(err)]) {
        expect(text).not.toContain('SECRET');
      }
    }
  });

  it('ignores a bad expiry when there is no access token', () => {
    expect(loadTokensFromEnv({ ANTHROPIC_TOKEN_EXPIRES_AT: 'garbage' })).toBeNull();
  });
});

describe('hostile environment values (issue 10 item 6)', () => {
  it.each([
    ['CR/LF', `${SECRET_AT}\r\nX-Injected: 1`],
    ['a space inside', 'sk-ant-oat01-SECRET ACCESS'],
    ['a NUL', `${SECRET_AT}\u0000`],
    ['an escape sequence', `${SECRET_AT}\u001b[2J`],
    ['non-ASCII', `${SECRET_AT}é`],
    ['over 4096 characters', `${SECRET_AT}${'a'.repeat(4096)}`],
  ])('refuses an access token with %s with invalid_env naming the variable, never the value', (_label, value) => {
    for (const name of [ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT]) {
      const err = envError({ [name]: value });
      expect(err.code).toBe('invalid_env');
      expect(err.message).toBe(
        `${name} is not a token: visible ASCII characters only (no spaces, line breaks or control characters), at most 4096 characters. Set it to the token alone, or unset it.`,
      );
      expect(`${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET');
    }
  });

  it('refuses a refresh token with a line break the same way', () => {
    const err = envError({ [ENV_ACCESS_TOKEN]: SECRET_AT, [ENV_REFRESH_TOKEN]: `${SECRET_RT}\nx` });
    expect(err.message).toMatch(/^ANTHROPIC_REFRESH_TOKEN is not a token/);
    expect(`${err.stack}${JSON.stringify(err)}`).not.toContain('SECRET');
  });

  it('checks the variable in use: a broken fallback is not looked at when the first is set', () => {
    expect(
      loadTokensFromEnv({ [ENV_ACCESS_TOKEN]: SECRET_AT, [ENV_ACCESS_TOKEN_ALT]: 'bad\nvalue' })?.accessToken,
    ).toBe(SECRET_AT);
  });

  it('says a number too large even for milliseconds is not a time, and never reaches Date', () => {
    for (const value of ['9'.repeat(400), '1'.repeat(20)]) {
      const err = envError({ [ENV_ACCESS_TOKEN]: SECRET_AT, [ENV_EXPIRES_AT]: value });
      expect(err.code).toBe('invalid_env');
      expect(err.message).toMatch(/ANTHROPIC_TOKEN_EXPIRES_AT (is too large to be a time|must be the expiry)/);
    }
  });

  it('takes the largest plausible expiry in seconds, and an expiry of 0 (expired)', () => {
    expect(loadTokensFromEnv({ [ENV_ACCESS_TOKEN]: SECRET_AT, [ENV_EXPIRES_AT]: '99999999999' })?.expiresAt).toBe(
      99_999_999_999,
    );
    expect(loadTokensFromEnv({ [ENV_ACCESS_TOKEN]: SECRET_AT, [ENV_EXPIRES_AT]: '0' })?.expiresAt).toBe(0);
  });

  it.each([['tabs and newlines around the values', `\t${SECRET_AT}\n`, ` 1764000000 \r\n`]])(
    'trims %s',
    (_label, token, expiry) => {
      expect(loadTokensFromEnv({ [ENV_ACCESS_TOKEN]: token, [ENV_EXPIRES_AT]: expiry })).toMatchObject({
        accessToken: SECRET_AT,
        expiresAt: 1_764_000_000,
      });
    },
  );
});

describe('environment variable names (src/env-variables.ts)', () => {
  const SRC = resolve(import.meta.dirname, '..', 'src');
  /** Not a variable: the code of the warning the keychain store emits when it falls back to the file. */
  const NOT_VARIABLES = new Set(['ANTHROPIC_OAUTH_KEYCHAIN_FALLBACK']);

  /** Every place `text` reads a variable by a name written out, instead of through a constant. */
  function namesWrittenOut(text: string): string[] {
    const found = [
      ...[...text.matchAll(/\benv\??\.([A-Z][A-Z0-9_]*)\b/g)].map((m) => `env.${m[1]}`),
      ...[...text.matchAll(/\benv\[\s*(['"`][^'"`]*['"`])/g)].map((m) => `env[${m[1]}]`),
      ...[...text.matchAll(/['"]((?:ANTHROPIC|CLAUDE)_[A-Z0-9_]+)['"]/g)]
        .map((m) => m[1] as string)
        .filter((name) => !NOT_VARIABLES.has(name)),
    ];
    return found;
  }

  function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
  }

  it('src/ reads every variable through the one module that names them all', () => {
    const writtenOut = sourceFiles(SRC)
      .filter((file) => file !== join(SRC, 'env-variables.ts'))
      .flatMap((file) => namesWrittenOut(readFileSync(file, 'utf8')).map((what) => `${relative(SRC, file)}: ${what}`));
    expect(writtenOut).toEqual([]);
  });

  it('the reader sees each way of writing a name out (so the check above cannot pass by missing one)', () => {
    expect(
      namesWrittenOut(
        `env.BROWSER; process.env.XDG_STATE_HOME; ctx.env['NO_COLOR']; ['ANTHROPIC_ACCESS_TOKEN']; "CLAUDE_X"; env[ENV_PROFILE]`,
      ),
    ).toEqual(['env.BROWSER', 'env.XDG_STATE_HOME', "env['NO_COLOR']", 'ANTHROPIC_ACCESS_TOKEN', 'CLAUDE_X']);
  });
});
