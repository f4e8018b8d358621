/**
 * Issue 16, as library functions against the emulator: the Console login (an API key), the
 * long-lived token, the stored login of kind `api_key` in every store, and exactly what a client
 * sends on each kind of login, compared with a plain `new Anthropic({ apiKey })`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Anthropic } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiKey, fetchRoles } from '../src/account/console.js';
import { AnthropicOAuth } from '../src/client.js';
import { loginToConsole, setupToken } from '../src/console-login.js';
import { OAuthFlowError, TokenStorageError } from '../src/errors.js';
import { createOAuthFetch } from '../src/fetch.js';
import { TokenStorage } from '../src/store/file.js';
import { MemoryTokenStore } from '../src/store/memory.js';
import { isApiKeyLogin, maskApiKey } from '../src/stored-login.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import type { ApiKeyLogin, OAuthTokens } from '../src/types.js';
import { hello, makeTempDir, messageRequests, tokenRequests, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;

async function setUp(options: Parameters<typeof startEmulator>[0] = {}) {
  emu = await startEmulator(options);
}
beforeEach(async () => {
  temp = await makeTempDir('anthropic-oauth-console-');
});
afterEach(async () => {
  await emu?.close();
  await temp.cleanup();
});

/** The options of a Console login against the emulator: a browser that approves at once. */
function consoleOptions(path?: string) {
  let opened = '';
  return {
    options: {
      oauthConfig: { ...emu.oauthConfig, authorizeUrl: emu.consoleAuthorizeUrl },
      tokenStorage: path,
      baseURL: emu.url,
      env: {},
      openBrowser: async (url: string) => {
        opened = url;
        await fetch(await emu.approve(url));
      },
    },
    opened: () => opened,
  };
}

const oldLogin = (): OAuthTokens => ({
  accessToken: 'sk-ant-oat01-old',
  refreshToken: 'sk-ant-ort01-old',
  expiresAt: 4_000_000_000,
  tokenType: 'Bearer',
  scope: 'user:inference',
});

describe('loginToConsole', () => {
  it('authorizes at the Console, creates a key, reads the roles, and saves only the key', async () => {
    await setUp();
    const path = join(temp.dir, 'login.json');
    const { options, opened } = consoleOptions(path);
    const login = await loginToConsole(options);
    expect(new URL(opened()).pathname).toBe('/console/oauth/authorize');
    expect(login).toMatchObject({
      kind: 'api_key',
      organization: { uuid: '9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1', name: 'Example Org' },
      role: { organization: 'developer', workspace: 'workspace_developer' },
    });
    expect(emu.apiKeys().map((key) => key.key)).toEqual([login.apiKey]);
    const create = emu.requests.find((request) => request.path === '/api/oauth/claude_cli/create_api_key');
    expect(create?.method).toBe('POST');
    expect(create?.headers.authorization).toMatch(/^Bearer sk-ant-oat01-/);
    expect(create?.headers['anthropic-beta']).toBeUndefined();
    expect(create?.body).toBeUndefined();
    // The exchange carries no expires_in; the OAuth tokens are nowhere in the file.
    expect(tokenRequests(emu)[0]?.body).not.toHaveProperty('expires_in');
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ type: 'api_key', api_key: login.apiKey });
    expect(text).not.toContain('sk-ant-oat01-');
    expect(text).not.toContain('sk-ant-ort01-');
    expect(await new TokenStorage(path).load()).toEqual(login);
  });

  it('an organization that forbids keys: api_key_not_allowed from the scope, no call, the old login kept', async () => {
    await setUp({ consoleForbidsApiKeys: true });
    const store = new MemoryTokenStore(oldLogin());
    const { options } = consoleOptions();
    const error = await loginToConsole({ ...options, tokenStorage: store }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect((error as OAuthFlowError).code).toBe('api_key_not_allowed');
    expect((error as Error).message).toContain('https://platform.claude.com/settings/keys');
    expect((error as Error).message).toMatch(/admin/);
    expect(emu.requests.some((request) => request.path.includes('create_api_key'))).toBe(false);
    expect(await store.load()).toEqual(oldLogin());
  });

  it.each([
    [
      'a 5xx',
      (e: Emulator) => e.faults.apiKeyMalformed('{"type":"error","error":{"type":"api_error"}}', 1, 500),
      'api_key_failed',
    ],
    [
      'a 403',
      (e: Emulator) =>
        e.faults.apiKeyMalformed('{"type":"error","error":{"type":"permission_error","message":"no"}}', 1, 403),
      'api_key_not_allowed',
    ],
    ['a body that is not JSON', (e: Emulator) => e.faults.apiKeyMalformed('<html>oops</html>'), 'api_key_failed'],
    ['no raw_key', (e: Emulator) => e.faults.apiKeyMalformed('{"key":"sk-ant-api03-x"}'), 'api_key_failed'],
    [
      'a raw_key with a line break',
      (e: Emulator) => e.faults.apiKeyMalformed('{"raw_key":"sk-ant-api03-abc\\r\\nX-Evil: 1"}'),
      'api_key_failed',
    ],
    [
      'a raw_key with a space',
      (e: Emulator) => e.faults.apiKeyMalformed('{"raw_key":"sk-ant-api03 abc"}'),
      'api_key_failed',
    ],
    ['a raw_key that is a number', (e: Emulator) => e.faults.apiKeyMalformed('{"raw_key":12345}'), 'api_key_failed'],
    [
      'a raw_key of 5000 characters',
      (e: Emulator) => e.faults.apiKeyMalformed(`{"raw_key":"${'k'.repeat(5000)}"}`),
      'api_key_failed',
    ],
    [
      'an answer that echoes the access token',
      (e: Emulator) => e.faults.apiKeyMalformed('{"error":"bad"}', 1, 400),
      'api_key_failed',
    ],
  ])('create_api_key answers %s: a typed error, nothing saved, the old login kept', async (_name, fault, code) => {
    await setUp();
    fault(emu);
    const store = new MemoryTokenStore(oldLogin());
    const { options } = consoleOptions();
    const error = await loginToConsole({ ...options, tokenStorage: store }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect((error as OAuthFlowError).code).toBe(code);
    expect(await store.load()).toEqual(oldLogin());
    const access = String(
      emu.requests.find((r) => r.path.includes('create_api_key'))?.headers.authorization ?? '',
    ).slice(7);
    const shown = `${(error as Error).message}\n${(error as Error).stack}\n${inspect(error, { depth: 5 })}`;
    expect(access).not.toBe('');
    expect(shown).not.toContain(access);
    expect(shown).not.toContain('X-Evil');
  });

  it('the roles call failing is not fatal: the key is saved without roles', async () => {
    await setUp({ scopes: 'org:create_api_key user:inference' });
    const { options } = consoleOptions();
    const login = await loginToConsole(options);
    expect(login.role).toEqual({});
    expect(login.organization.name).toBe('Example Org');
  });
});

describe('setupToken', () => {
  it('asks user:inference alone and a year, gets a long-lived token and saves nothing', async () => {
    await setUp();
    let opened = '';
    const tokens = await setupToken({
      oauthConfig: emu.oauthConfig,
      env: {},
      openBrowser: async (url) => {
        opened = url;
        await fetch(await emu.approve(url));
      },
    });
    expect(new URL(opened).searchParams.get('scope')).toBe('user:inference');
    expect(new URL(opened).pathname).toBe('/oauth/authorize');
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ grant_type: 'authorization_code', expires_in: 31_536_000 });
    expect(tokens.scope).toBe('user:inference');
    expect(tokens.expiresIn).toBe(31_536_000);
    expect(tokens.refreshToken).toBe('');
  });

  it('keeps a refresh token when one comes', async () => {
    await setUp({ longLivedRefreshToken: true });
    const tokens = await setupToken({
      oauthConfig: emu.oauthConfig,
      env: {},
      openBrowser: async (url) => void (await fetch(await emu.approve(url))),
    });
    expect(tokens.refreshToken).toMatch(/^sk-ant-ort01-/);
  });

  it('the emulator refuses expires_in with a wider scope, as the service does', async () => {
    await setUp();
    const error = await setupToken({
      oauthConfig: emu.oauthConfig,
      scope: 'user:inference user:profile',
      env: {},
      openBrowser: async (url) => void (await fetch(await emu.approve(url))),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect((error as OAuthFlowError).status).toBe(400);
    expect((error as OAuthFlowError).body).toEqual({
      error: 'invalid_request',
      error_description: "Custom expires_in not allowed for scope 'user:profile'",
    });
  });
});

describe('the stored login of kind api_key', () => {
  const key = `sk-ant-api03-${'a'.repeat(90)}-AA`;
  const login: ApiKeyLogin = {
    kind: 'api_key',
    apiKey: key,
    organization: { uuid: 'org-1', name: 'Org' },
    role: { organization: 'admin', workspace: 'workspace_admin' },
    createdAt: 1_800_000_000,
  };

  it('round-trips through the file and the memory store', async () => {
    const file = new TokenStorage(join(temp.dir, 'k.json'));
    await file.save(login);
    expect(await file.load()).toEqual(login);
    const memory = new MemoryTokenStore();
    await memory.save(login);
    expect(await memory.load()).toEqual(login);
  });

  it.each([
    ['no api_key', { type: 'api_key', created_at: 1 }],
    ['an api_key with a line break', { type: 'api_key', api_key: 'sk-ant-api03-a\nb' }],
    ['an api_key that is a number', { type: 'api_key', api_key: 7 }],
    ['an api_key of 5000 characters', { type: 'api_key', api_key: 'k'.repeat(5000) }],
    ['a created_at in milliseconds', { type: 'api_key', api_key: 'sk-ant-api03-x', created_at: 1.8e12 }],
    ['an unknown version', { version: '2.0', type: 'api_key', api_key: 'sk-ant-api03-x' }],
  ])('a file with %s is corrupt_file, naming what to do and never the key', async (_name, data) => {
    const path = join(temp.dir, 'bad.json');
    await writeFile(path, JSON.stringify(data), { mode: 0o600 });
    const error = await new TokenStorage(path).load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStorageError);
    expect((error as TokenStorageError).code).toBe('corrupt_file');
    expect((error as Error).message).toMatch(/login/);
    expect((error as Error).message).not.toContain('sk-ant-api03-');
  });

  it('masks a key as its prefix and last 4', () => {
    expect(maskApiKey(key)).toBe('sk-ant-api03-…A-AA'.replace('A-AA', '-AA'.padStart(4, 'a')));
    expect(maskApiKey('short')).toBe('…');
  });

  it('an old token file without a kind loads as an OAuth login', async () => {
    const path = join(temp.dir, 'old.json');
    await writeFile(path, JSON.stringify({ access_token: 'sk-ant-oat01-x', refresh_token: 'sk-ant-ort01-y' }), {
      mode: 0o600,
    });
    const loaded = await new TokenStorage(path).load();
    expect(isApiKeyLogin(loaded)).toBe(false);
    expect(loaded).toMatchObject({ accessToken: 'sk-ant-oat01-x', refreshToken: 'sk-ant-ort01-y' });
  });
});

describe('what a client sends on each kind of login', () => {
  /** The headers of the one /v1/messages request `send` makes, and its URL. */
  async function sent(send: () => Promise<unknown>) {
    const before = messageRequests(emu).length;
    await send();
    const request = messageRequests(emu)[before];
    if (!request) throw new Error('no request');
    return request;
  }

  it('AnthropicOAuth on an API-key login sends exactly what new Anthropic({ apiKey }) sends', async () => {
    await setUp();
    const { options } = consoleOptions();
    const login = await loginToConsole(options);
    const store = new MemoryTokenStore(login);
    const ours = await sent(() => new AnthropicOAuth({ tokenStorage: store, baseURL: emu.url }).messages.create(hello));
    const plain = await sent(() => new Anthropic({ apiKey: login.apiKey, baseURL: emu.url }).messages.create(hello));
    expect(ours.status).toBe(200);
    expect(plain.status).toBe(200);
    expect(ours.headers.authorization).toBe(plain.headers.authorization);
    expect(ours.headers['x-api-key']).toBe(plain.headers['x-api-key']);
    expect(ours.headers['anthropic-beta']).toBe(plain.headers['anthropic-beta']);
    expect(ours.headers['user-agent']).toBe(plain.headers['user-agent']);
    expect(ours.query).toEqual(plain.query);
    const drop = (headers: Record<string, string>) => {
      const { 'x-stainless-timeout': _t, 'x-stainless-retry-count': _r, ...rest } = headers;
      return Object.keys(rest).sort();
    };
    expect(drop(ours.headers)).toEqual(drop(plain.headers));
    // Copies made with withOptions stay on the key.
    const copy = new AnthropicOAuth({ tokenStorage: store, baseURL: emu.url }).withOptions({ maxRetries: 0 });
    expect((await sent(() => copy.messages.create(hello))).headers.authorization).toBe(plain.headers.authorization);
  });

  it('AnthropicOAuth on an OAuth login still sends the OAuth shape', async () => {
    await setUp();
    const tokens = tokensOf(emu.issueTokens());
    const request = await sent(() =>
      new AnthropicOAuth({ oauthTokens: tokens, baseURL: emu.url }).messages.create(hello),
    );
    expect(request.headers.authorization).toBe(`Bearer ${tokens.accessToken}`);
    expect(request.headers['anthropic-beta']).toContain('oauth-2025-04-20');
    expect(request.query).toEqual({ beta: 'true' });
  });

  it('createOAuthFetch on an API-key login sends the SDK key header in place of the caller placeholder', async () => {
    await setUp();
    const { options } = consoleOptions();
    const login = await loginToConsole(options);
    const oauthFetch = createOAuthFetch({ tokenStorage: new MemoryTokenStore(login) });
    const plain = await sent(() => new Anthropic({ apiKey: login.apiKey, baseURL: emu.url }).messages.create(hello));
    const response = await oauthFetch(`${emu.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'placeholder', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(hello),
    });
    expect(response.status).toBe(200);
    const request = messageRequests(emu).at(-1);
    expect(request?.headers.authorization).toBe(plain.headers.authorization);
    expect(request?.headers['x-api-key']).toBe(plain.headers['x-api-key']);
    expect(request?.headers['anthropic-beta']).toBeUndefined();
    expect(request?.query).toEqual({});
    expect(request?.headers['user-agent']).not.toContain('claude-cli');
  });

  it('a revoked key is the API 401, and the client does not refresh or touch the login', async () => {
    await setUp();
    const { options } = consoleOptions();
    const login = await loginToConsole(options);
    emu.revokeApiKey(login.apiKey);
    const store = new MemoryTokenStore(login);
    const error = await new AnthropicOAuth({ tokenStorage: store, baseURL: emu.url, maxRetries: 0 }).messages
      .create(hello)
      .catch((e: unknown) => e);
    expect((error as { status?: number }).status).toBe(401);
    expect(emu.stats().refresh).toBe(0);
    expect(await store.load()).toEqual(login);
    expect(inspect(error, { depth: 6 })).not.toContain(login.apiKey);
  });

  it('the emulator accepts a minted key as x-api-key and refuses an unknown one with the API 401', async () => {
    await setUp();
    const { options } = consoleOptions();
    const login = await loginToConsole(options);
    const post = (headers: Record<string, string>) =>
      fetch(`${emu.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(hello),
      });
    expect((await post({ 'x-api-key': login.apiKey })).status).toBe(200);
    const refused = await post({ 'x-api-key': 'sk-ant-api03-unknown' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: 'invalid x-api-key' },
    });
    expect((await post({ authorization: 'Bearer sk-ant-api03-unknown' })).status).toBe(401);
  });
});

describe('createApiKey and fetchRoles as functions', () => {
  it('send the bearer token only, to ANTHROPIC_BASE_URL', async () => {
    await setUp();
    const { accessToken } = emu.issueTokens();
    const key = await createApiKey({ accessToken, env: { ANTHROPIC_BASE_URL: emu.url } });
    expect(key).toMatch(/^sk-ant-api03-/);
    expect(await fetchRoles({ accessToken, env: { ANTHROPIC_BASE_URL: emu.url } })).toEqual({
      organizationRole: 'developer',
      workspaceRole: 'workspace_developer',
      organizationName: 'Example Org',
    });
  });

  it('a token without org:create_api_key gets the 403 as the SDK error', async () => {
    await setUp();
    const { accessToken } = emu.issueTokens({ scope: 'user:inference' });
    const error = await createApiKey({ accessToken, baseURL: emu.url }).catch((e: unknown) => e);
    expect((error as { status?: number }).status).toBe(403);
    expect(emu.apiKeys()).toEqual([]);
  });
});

describe('a long-lived token in ANTHROPIC_OAUTH_ACCESS_TOKEN', () => {
  async function longLived() {
    await setUp();
    return setupToken({
      oauthConfig: emu.oauthConfig,
      env: {},
      openBrowser: async (url) => void (await fetch(await emu.approve(url))),
    });
  }

  it('is used with no refresh token and no expiry, and never refreshed', async () => {
    const { accessToken } = await longLived();
    const env = { ANTHROPIC_OAUTH_ACCESS_TOKEN: accessToken };
    const client = new AnthropicOAuth({ env, baseURL: emu.url });
    expect((await client.messages.create(hello)).type).toBe('message');
    expect(await client.getTokens()).toMatchObject({ accessToken, refreshToken: '', expiresAt: null });
    expect(emu.stats().refresh).toBe(0);
  });

  it('revoked: AnthropicOAuth and createOAuthFetch say to run setup-token again, with no token request', async () => {
    const { accessToken } = await longLived();
    emu.revokeAccessToken(accessToken);
    const env = { ANTHROPIC_OAUTH_ACCESS_TOKEN: accessToken };
    const tokenCalls = tokenRequests(emu).length;
    const error = await new AnthropicOAuth({ env, baseURL: emu.url }).messages.create(hello).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect((error as OAuthFlowError).code).toBe('reauth_required');
    expect((error as Error).message).toContain('ANTHROPIC_OAUTH_ACCESS_TOKEN was revoked or has expired');
    expect((error as Error).message).toContain('npx anthropic-oauth setup-token');
    expect(inspect(error, { depth: 6 })).not.toContain(accessToken);
    const response = await createOAuthFetch({ env })(`${emu.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hello),
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('setup-token');
    expect(tokenRequests(emu).length).toBe(tokenCalls);
  });
});

describe('an OAuth login replaced by a Console login while a program runs', () => {
  it('the next refresh does not write over the key, and says the login was replaced', async () => {
    await setUp();
    const store = new MemoryTokenStore(tokensOf(emu.issueTokens(), { expiresAt: 1 }));
    const { createTokenSource } = await import('../src/provider.js');
    const source = createTokenSource({ tokenStorage: store, oauthConfig: emu.oauthConfig, env: {} });
    await source.peekLogin();
    const key: ApiKeyLogin = {
      kind: 'api_key',
      apiKey: 'sk-ant-api03-replacement',
      organization: {},
      role: {},
      createdAt: 1,
    };
    await store.save(key);
    const error = await source.getTokens().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'not_logged_in' });
    expect((error as Error).message).toContain('replaced by a Console login');
    expect(emu.stats().refresh).toBe(0);
    expect(await store.load()).toEqual(key);
  });
});
