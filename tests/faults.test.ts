/**
 * Fault injection (issue 6): every hostile answer, file and variable gives a typed error (or the
 * correct recovery), the stored login survives, and no secret reaches a message, a stack, a log
 * line (the SDK's debug logging is on) or an inspected object.
 */
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicOAuth, TokenStorage } from '../src/index.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { hello, makeTempDir, nowSeconds, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let path: string;
let secrets: string[];
let logs: string[];

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir();
  path = join(temp.dir, 'oauth_tokens.json');
  logs = [];
});
afterEach(async () => {
  await emu.close();
  await temp.cleanup();
});

const logger = {
  error: (...args: unknown[]) => logs.push(inspect(args, { depth: 8 })),
  warn: (...args: unknown[]) => logs.push(inspect(args, { depth: 8 })),
  info: (...args: unknown[]) => logs.push(inspect(args, { depth: 8 })),
  debug: (...args: unknown[]) => logs.push(inspect(args, { depth: 8 })),
};

/** A stored login whose access token has expired, so the next request must refresh. */
async function storeExpiredLogin(): Promise<string> {
  const issued = emu.issueTokens();
  secrets = [issued.accessToken, issued.refreshToken];
  await new TokenStorage(path).save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
  return readFile(path, 'utf8');
}

function client(options: ConstructorParameters<typeof AnthropicOAuth>[0] = {}) {
  return new AnthropicOAuth({
    baseURL: emu.url,
    oauthConfig: emu.oauthConfig,
    tokenStorage: path,
    logLevel: 'debug',
    logger,
    maxRetries: 0,
    ...options,
  });
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error & { code?: string };
}

function expectNoSecret(error: unknown): void {
  const seen = [
    String(error),
    (error as Error).stack ?? '',
    inspect(error, { depth: 10 }),
    JSON.stringify(error),
    ...logs,
  ].join('\n');
  for (const secret of secrets) expect(seen).not.toContain(secret);
}

const TOKEN_BODIES: [string, string][] = [
  ['null', 'null'],
  ['an array', '[]'],
  ['HTML', '<html><body>Bad gateway</body></html>'],
  ['access_token missing', '{"refresh_token":"sk-ant-ort01-x","expires_in":3600}'],
  ['access_token a number', '{"access_token":42,"expires_in":3600}'],
  ['access_token an object', '{"access_token":{"a":1},"expires_in":3600}'],
  ['token_type mac', '{"access_token":"sk-ant-oat01-x","token_type":"mac","expires_in":3600}'],
  ['expires_in -1', '{"access_token":"sk-ant-oat01-x","expires_in":-1}'],
  ['expires_in null', '{"access_token":"sk-ant-oat01-x","expires_in":null}'],
  ['expires_in ""', '{"access_token":"sk-ant-oat01-x","expires_in":""}'],
  ['expires_in 1e400', '{"access_token":"sk-ant-oat01-x","expires_in":1e400}'],
  ['refresh_token ""', '{"access_token":"sk-ant-oat01-x","refresh_token":"","expires_in":3600}'],
  ['refresh_token a number', '{"access_token":"sk-ant-oat01-x","refresh_token":7,"expires_in":3600}'],
  ['over 1 MiB', `{"access_token":"${'a'.repeat(1_100_000)}","expires_in":3600}`],
];

describe('hostile token responses: invalid_response, login intact, no secret', () => {
  it.each(TOKEN_BODIES)('%s', async (_name, body) => {
    const before = await storeExpiredLogin();
    emu.faults.tokenMalformed(body);
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ name: 'OAuthFlowError', code: 'invalid_response' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expectNoSecret(error);
  });

  it('a numeric-string expires_in ("3600") is accepted', async () => {
    await storeExpiredLogin();
    emu.faults.tokenMalformed('{"access_token":"sk-ant-oat01-fromstring","expires_in":"3600"}');
    await client().getTokens();
    expect((await new TokenStorage(path).load())?.accessToken).toBe('sk-ant-oat01-fromstring');
  });
});

describe('token endpoint errors', () => {
  it('400 invalid_grant → reauth_required, login intact', async () => {
    const before = await storeExpiredLogin();
    emu.faults.tokenMalformed(
      '{"error":"invalid_grant","error_description":"Refresh token revoked","refresh_token":"echoed-secret"}',
      1,
      400,
    );
    secrets.push('echoed-secret');
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ code: 'reauth_required', message: expect.stringContaining('anthropic-oauth login') });
    expect(await readFile(path, 'utf8')).toBe(before);
    expectNoSecret(error);
  });

  it('429 three times → rate_limited with retryAfter, login intact', async () => {
    const before = await storeExpiredLogin();
    emu.faults.tokenRateLimited(0, 3);
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfter: 0 });
    expect(await readFile(path, 'utf8')).toBe(before);
    expectNoSecret(error);
  });

  it('500 then success: recovered', async () => {
    await storeExpiredLogin();
    emu.faults.tokenServerError(1);
    await client().messages.create(hello);
    expect(emu.stats().refresh).toBe(1);
  });

  it('connection reset after the request was sent: a typed error, and the file is never blanked', async () => {
    const before = await storeExpiredLogin();
    emu.faults.tokenResetAfterRequest(1);
    const error = await failure(client().messages.create(hello));
    // The lost response had rotated the refresh token; the retry with the spent one is refused.
    expect(error).toMatchObject({ name: 'OAuthFlowError', code: 'reauth_required' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expectNoSecret(error);
  });

  it('an http token URL that is not loopback is refused before any request', () => {
    expect(() => client({ oauthConfig: { tokenUrl: 'http://auth.example.com/v1/oauth/token' } })).toThrow(
      expect.objectContaining({ code: 'insecure_url' }),
    );
  });
});

describe('debug logging', () => {
  it('never shows a token: requests, a refresh, and a 401 answered by a refresh and a replay', async () => {
    await storeExpiredLogin();
    const c = client();
    await c.messages.create(hello); // refreshes first
    const refreshed = await new TokenStorage(path).load();
    emu.revokeAccessToken(refreshed?.accessToken ?? '');
    await c.messages.create(hello); // 401, refresh, replay (maxRetries: 0)
    const latest = await new TokenStorage(path).load();
    expect(emu.stats().refresh).toBe(2);
    expect(logs.some((line) => line.includes('sending request'))).toBe(true);
    for (const tokens of [refreshed, latest]) secrets.push(tokens?.accessToken ?? '', tokens?.refreshToken ?? '');
    expectNoSecret(new Error('none'));
  });
});

describe('hostile token files: typed error, file untouched, no secret', () => {
  const cases: [string, string, string][] = [
    ['empty', '', 'corrupt_file'],
    ['truncated', '{"type":"oauth_token","access_token":"sk-ant-oat01-trunc', 'corrupt_file'],
    ['null', 'null', 'corrupt_file'],
    ['wrong types', '{"type":"oauth_token","access_token":123,"refresh_token":true}', 'corrupt_file'],
    ['unknown version', '{"version":"9.0","type":"oauth_token","access_token":"sk-ant-oat01-v9"}', 'corrupt_file'],
  ];
  it.each(cases)('%s', async (_name, contents, code) => {
    secrets = ['sk-ant-oat01-trunc', 'sk-ant-oat01-v9'];
    await writeFile(path, contents, { mode: 0o600 });
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ name: 'TokenStorageError', code, message: expect.stringContaining(path) });
    expect(await readFile(path, 'utf8')).toBe(contents);
    expectNoSecret(error);
  });

  it('missing → not_logged_in', async () => {
    secrets = [];
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ code: 'not_logged_in' });
  });

  it('mode 0644 → refused with the chmod to run', async () => {
    await storeExpiredLogin();
    await chmod(path, 0o644);
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ code: 'permission_denied', message: expect.stringContaining(`chmod 600 ${path}`) });
    expectNoSecret(error);
  });

  it('a symlink: used, and the rotation is written through to its target', async () => {
    const target = join(temp.dir, 'real', 'tokens.json');
    await mkdir(join(temp.dir, 'real'), { mode: 0o700 });
    const issued = emu.issueTokens();
    await new TokenStorage(target).save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    await symlink(target, path);
    await client().messages.create(hello);
    const rotated = await new TokenStorage(target).load();
    expect(rotated?.accessToken).not.toBe(issued.accessToken);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(rotated?.accessToken);
  });
});

describe('hostile environment variables', () => {
  it.each([
    [
      'empty values count as unset',
      { ANTHROPIC_OAUTH_ACCESS_TOKEN: '', ANTHROPIC_ACCESS_TOKEN: '  ' },
      'not_logged_in',
    ],
    [
      'non-numeric expiry',
      { ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-envsecret', ANTHROPIC_TOKEN_EXPIRES_AT: 'tomorrow' },
      'invalid_env',
    ],
    [
      'milliseconds instead of seconds',
      { ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-envsecret', ANTHROPIC_TOKEN_EXPIRES_AT: String(Date.now()) },
      'invalid_env',
    ],
  ])('%s', (_name, env, code) => {
    secrets = ['sk-ant-oat01-envsecret'];
    let error: unknown;
    try {
      AnthropicOAuth.fromEnv({ env, baseURL: emu.url });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code });
    expectNoSecret(error);
  });
});

describe('the refresh lock cannot be created (issue 10)', () => {
  it('a file where the lock goes: a still-valid token keeps working with no token request; an expired one fails saying what to remove', async () => {
    const issued = emu.issueTokens();
    secrets = [issued.accessToken, issued.refreshToken];
    await new TokenStorage(path).save(tokensOf(issued, { expiresAt: nowSeconds() + 100 }));
    await writeFile(`${path}.lock`, '');
    await client().messages.create(hello);
    expect(emu.stats()).toMatchObject({ refresh: 0, messages: 1 });
    await new TokenStorage(path).save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ name: 'TokenStorageError', code: 'lock_unavailable' });
    expect(error.message).toContain(`rm ${path}.lock`);
    expect(emu.stats().refresh).toBe(0);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
    expectNoSecret(error);
  });
});

describe('issue 10: hostile token responses through the client (items 6 and 8)', () => {
  it.each([
    ['access_token with CR/LF', '{"access_token":"sk-ant-oat01-a\\r\\nX-Injected: 1","expires_in":3600}'],
    ['access_token with a space', '{"access_token":"sk-ant-oat01-a b","expires_in":3600}'],
    ['access_token in unicode', '{"access_token":"sk-ant-oat01-ünïcödé","expires_in":3600}'],
    ['access_token of 5000 characters', `{"access_token":"sk-ant-oat01-${'a'.repeat(5000)}","expires_in":3600}`],
    [
      'refresh_token with a NUL',
      '{"access_token":"sk-ant-oat01-a","refresh_token":"sk-ant-ort01-\\u0000","expires_in":3600}',
    ],
    ['scope a number', '{"access_token":"sk-ant-oat01-a","scope":42,"expires_in":3600}'],
    [
      'scope with an escape sequence',
      '{"access_token":"sk-ant-oat01-a","scope":"user:inference\\u001b[2J","expires_in":3600}',
    ],
    ['expires_in "1e3"', '{"access_token":"sk-ant-oat01-a","expires_in":"1e3"}'],
    ['expires_in true', '{"access_token":"sk-ant-oat01-a","expires_in":true}'],
  ])('%s → invalid_response, login intact, no secret', async (_name, body) => {
    const before = await storeExpiredLogin();
    emu.faults.tokenMalformed(body);
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ name: 'OAuthFlowError', code: 'invalid_response' });
    expect(await readFile(path, 'utf8')).toBe(before);
    expectNoSecret(error);
  });

  it('expires_in 1e308 is clamped to 10 years: the request is made and the file holds a real date', async () => {
    await storeExpiredLogin();
    emu.faults.tokenMalformed(
      `{"access_token":"${emu.issueTokens().accessToken}","refresh_token":"sk-ant-ort01-n","expires_in":1e308}`,
    );
    await client().messages.create(hello);
    const stored = JSON.parse(await readFile(path, 'utf8')) as { expires_at: number; expires_in: number };
    expect(stored.expires_in).toBe(10 * 365 * 86_400);
    expect(new Date(stored.expires_at * 1000).getUTCFullYear()).toBeGreaterThan(2030);
  });

  it('a 400 that echoes the request: no refresh token, in any encoding, in the error or the debug log', async () => {
    const before = await storeExpiredLogin();
    const [, refreshToken = ''] = secrets;
    emu.faults.tokenMalformed(
      JSON.stringify({
        error: 'invalid_request',
        error_description: `got refresh_token=${encodeURIComponent(refreshToken)} and ${JSON.stringify(refreshToken)}`,
      }),
      3,
      400,
    );
    secrets.push(encodeURIComponent(refreshToken));
    const error = await failure(client().messages.create(hello));
    expect(error).toMatchObject({ name: 'OAuthFlowError', code: 'token_endpoint_error' });
    expect((error as { body?: { error_description?: string } }).body?.error_description).toBe(
      'got refresh_token=[redacted] and "[redacted]"',
    );
    expect(await readFile(path, 'utf8')).toBe(before);
    expectNoSecret(error);
  });
});
