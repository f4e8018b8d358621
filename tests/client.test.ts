import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  type Anthropic,
  AnthropicError,
  APIConnectionError,
  AuthenticationError,
  type Middleware,
  PermissionDeniedError,
} from '@anthropic-ai/sdk';
import { copyClientForHelper } from '@anthropic-ai/sdk/lib/helper-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AnthropicOAuth,
  type AnthropicOAuthOptions,
  createOAuthFetch,
  DEFAULT_OAUTH_BETAS,
  DEFAULT_USER_AGENT,
  MemoryTokenStore,
  OAuthFlowError,
  type OAuthTokens,
  TokenStorage,
} from '../src/index.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { closedPort } from './helpers/cli-run.js';
import {
  hello,
  makeTempDir,
  messageRequests,
  nowSeconds,
  snapshotEnv,
  tokenRequests,
  tokensOf,
} from './helpers/fixtures.js';
import { type Received, revoked403, revokedAs403, startServer, type TestServer } from './helpers/server.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let restoreEnv: () => void;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir();
  restoreEnv = snapshotEnv();
  // Our variables come from the `env` option (see client()); the SDK reads its own (ANTHROPIC_LOG,
  // ANTHROPIC_CUSTOM_HEADERS, …) and the home directory from process.env, so those are cleared here.
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('ANTHROPIC_')) delete process.env[key];
  }
  process.env.HOME = temp.dir;
});

afterEach(async () => {
  restoreEnv();
  await emu.close();
  await temp.cleanup();
});

function client(options: ConstructorParameters<typeof AnthropicOAuth>[0] = {}) {
  return new AnthropicOAuth({ baseURL: emu.url, oauthConfig: emu.oauthConfig, env: {}, ...options });
}

describe('construction', () => {
  it('serves code written for the SDK client: it sends with the OAuth token, and its failures are AnthropicErrors', async () => {
    // Code that knows only the SDK: takes an `Anthropic`, catches `AnthropicError`.
    const ask = (anthropic: Anthropic) =>
      anthropic.messages.create(hello).then(
        (message) => message.type,
        (error: unknown) => (error instanceof AnthropicError ? error : 'not an AnthropicError'),
      );
    const issued = emu.issueTokens();
    expect(await ask(client({ oauthTokens: tokensOf(issued) }))).toBe('message');
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
    // Not logged in: the SDK's code catches our error as it is, not wrapped as a connection error.
    const failure = await ask(client({ tokenStorage: null }));
    expect(failure).toBeInstanceOf(OAuthFlowError);
    expect(failure).toMatchObject({ code: 'not_logged_in' });
    expect(messageRequests(emu)).toHaveLength(1);
  });

  it('refuses oauthTokens with a line break in a token when it is made, never quoting the token', () => {
    const issued = emu.issueTokens();
    const attempt = (overrides: Partial<OAuthTokens>) => {
      try {
        client({ oauthTokens: tokensOf(issued, overrides) });
      } catch (error) {
        return error;
      }
      return undefined;
    };
    for (const overrides of [
      { accessToken: `${issued.accessToken}\n` },
      { refreshToken: `${issued.refreshToken}\r\nx: 1` },
    ]) {
      const error = attempt(overrides);
      expect(error).toBeInstanceOf(OAuthFlowError);
      expect(error).toMatchObject({ code: 'invalid_config' });
      expect(String((error as Error).message)).not.toContain(issued.accessToken);
      expect(String((error as Error).message)).not.toContain(issued.refreshToken);
    }
    const good = client({ oauthTokens: tokensOf(issued) });
    expect(() => good.withOptions({ oauthTokens: tokensOf(issued, { expiresAt: Date.now() }) })).toThrow(
      /milliseconds are not accepted/,
    );
    expect(emu.requests).toEqual([]);
  });

  it.each(['apiKey', 'authToken', 'config', 'profile', 'credentials'])(
    'refuses the SDK credential option %s',
    (name) => {
      expect(() => client({ [name]: 'x' } as never)).toThrow(TypeError);
    },
  );

  it('rejects a non-https token URL before any request', () => {
    expect(() => client({ oauthConfig: { tokenUrl: 'http://example.com/token' } })).toThrow(
      expect.objectContaining({ code: 'insecure_url' }),
    );
  });
});

describe('every request', () => {
  it('carries the bearer token, the OAuth betas, the user agent and beta=true, and no x-api-key', async () => {
    const issued = emu.issueTokens();
    process.env.ANTHROPIC_API_KEY = 'sk-ant-api-should-not-be-used';
    process.env.ANTHROPIC_AUTH_TOKEN = 'should-not-be-used';
    const c = client({ oauthTokens: tokensOf(issued), defaultQuery: { trace: '1' } });
    const message = await c.messages.create(hello);
    expect(message.type).toBe('message');
    const [request] = messageRequests(emu);
    expect(request?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
    expect(request?.headers['x-api-key']).toBeUndefined();
    expect(request?.headers['anthropic-beta']).toBe(DEFAULT_OAUTH_BETAS.join(','));
    expect(request?.headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(request?.query).toEqual({ trace: '1', beta: 'true' });
  });

  it('puts beta=true in every URL exactly once, next to the query of the request and of the path', async () => {
    const urls: string[] = [];
    const recording: typeof fetch = (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()), fetch: recording });
    await c.messages.create(hello);
    await c.messages.create(hello, { query: { trace: '2' } });
    await c.post('/v1/messages?from=path', { body: hello });
    await c.messages.create(hello, { query: { beta: 'false' } });
    expect(urls).toEqual([
      `${emu.url}/v1/messages?beta=true`,
      `${emu.url}/v1/messages?beta=true&trace=2`,
      `${emu.url}/v1/messages?from=path&beta=true`,
      // A request's own `beta` query wins, as it would over `defaultQuery`.
      `${emu.url}/v1/messages?beta=false`,
    ]);
  });

  it('merges per-request betas after the configured ones, without duplicates', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()) });
    await c.beta.messages.create({ ...hello, betas: ['files-api-2025-04-14', 'oauth-2025-04-20'] });
    await c.messages.create(hello, { headers: { 'anthropic-beta': 'context-1m-2025-08-07, claude-code-20250219' } });
    const [first, second] = messageRequests(emu);
    expect(first?.headers['anthropic-beta']?.split(',')).toEqual([...DEFAULT_OAUTH_BETAS, 'files-api-2025-04-14']);
    expect(second?.headers['anthropic-beta']?.split(',')).toEqual([...DEFAULT_OAUTH_BETAS, 'context-1m-2025-08-07']);
  });

  it('uses the configured betas instead of the defaults (the OAuth beta is always kept) and a custom user agent', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()), betas: ['my-beta'], userAgent: 'my-app/1.0' });
    await c.messages.create(hello);
    const [request] = messageRequests(emu);
    expect(request?.headers['anthropic-beta']?.split(',')).toEqual(['my-beta', 'oauth-2025-04-20']);
    expect(request?.headers['user-agent']).toBe('my-app/1.0');
  });

  it('drops an x-api-key set in defaultHeaders', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()), defaultHeaders: { 'x-api-key': 'sk-ant-api-x' } });
    await c.messages.create(hello);
    expect(messageRequests(emu)[0]?.headers['x-api-key']).toBeUndefined();
  });

  it('streams', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()) });
    const final = await c.messages
      .stream({ ...hello, messages: [{ role: 'user', content: 'stream me' }] })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: expect.stringContaining('stream me') });
    expect(messageRequests(emu)[0]?.query.beta).toBe('true');
  });
});

describe('where the tokens come from', () => {
  it('prefers oauthTokens over the store and the environment', async () => {
    const a = emu.issueTokens();
    const b = emu.issueTokens();
    const env = { ANTHROPIC_OAUTH_ACCESS_TOKEN: b.accessToken };
    const store = new MemoryTokenStore(tokensOf(b));
    await client({ oauthTokens: tokensOf(a), tokenStorage: store, env }).messages.create(hello);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${a.accessToken}`);
  });

  it('uses the store before the environment, and an empty store is not_logged_in (no fall-through)', async () => {
    const a = emu.issueTokens();
    const b = emu.issueTokens();
    const env = { ANTHROPIC_OAUTH_ACCESS_TOKEN: b.accessToken };
    await client({ tokenStorage: new MemoryTokenStore(tokensOf(a)), env }).messages.create(hello);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${a.accessToken}`);
    const empty = client({ tokenStorage: new MemoryTokenStore(), env });
    await expect(empty.messages.create(hello)).rejects.toMatchObject({
      code: 'not_logged_in',
      message: expect.stringContaining('anthropic-oauth login'),
    });
    expect(messageRequests(emu)).toHaveLength(1);
  });

  it('uses the environment, then the default token file, when given neither', async () => {
    const fromFile = emu.issueTokens();
    await new TokenStorage(join(temp.dir, '.anthropic', 'oauth_tokens.json')).save(tokensOf(fromFile));
    const fromEnv = emu.issueTokens();
    await client({ env: { ANTHROPIC_ACCESS_TOKEN: fromEnv.accessToken } }).messages.create(hello);
    await client({ env: {} }).messages.create(hello);
    expect(messageRequests(emu).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${fromEnv.accessToken}`,
      `Bearer ${fromFile.accessToken}`,
    ]);
  });

  it('with nothing anywhere, the first request throws not_logged_in naming how to log in', async () => {
    const c = client();
    await expect(c.messages.create(hello)).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof OAuthFlowError && e.code === 'not_logged_in' && /anthropic-oauth login/.test(e.message),
    );
    expect(emu.requests).toHaveLength(0);
  });

  it('tokenStorage: null ignores the default file', async () => {
    await new TokenStorage(join(temp.dir, '.anthropic', 'oauth_tokens.json')).save(tokensOf(emu.issueTokens()));
    await expect(client({ tokenStorage: null }).messages.create(hello)).rejects.toMatchObject({
      code: 'not_logged_in',
    });
  });

  it('takes a file path as tokenStorage', async () => {
    const path = join(temp.dir, 'login.json');
    const issued = emu.issueTokens();
    await new TokenStorage(path).save(tokensOf(issued));
    await client({ tokenStorage: path }).messages.create(hello);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
  });
});

describe('refresh', () => {
  it('refreshes a token within the 300 s buffer before using it, and saves the rotated tokens first', async () => {
    const issued = emu.issueTokens();
    const path = join(temp.dir, 'login.json');
    const storage = new TokenStorage(path);
    await storage.save(tokensOf(issued, { expiresAt: nowSeconds() + 200 }));
    await client({ tokenStorage: path }).messages.create(hello);
    expect(emu.stats().refresh).toBe(1);
    const saved = (await storage.load()) as OAuthTokens;
    expect(saved.accessToken).not.toBe(issued.accessToken);
    expect(saved.refreshToken).not.toBe(issued.refreshToken);
    expect(emu.isRefreshTokenLive(saved.refreshToken)).toBe(true);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${saved.accessToken}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('does not refresh a token with more than 300 s left, nor one with an unknown expiry', async () => {
    await client({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 400 }) }).messages.create(
      hello,
    );
    await client({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: null }) }).messages.create(hello);
    expect(emu.stats().refresh).toBe(0);
  });

  it('many concurrent requests on an expired token cause one refresh', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 10 }) });
    await Promise.all(Array.from({ length: 100 }, () => c.messages.create(hello)));
    // Each call went out once, with the refreshed token, and was answered: none met a 401.
    expect(messageRequests(emu).map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(emu.stats().refresh).toBe(1);
    expect(new Set(messageRequests(emu).map((r) => r.headers.authorization)).size).toBe(1);
  });

  it('keeps rotated tokens from the environment in memory and writes no file', async () => {
    const issued = emu.issueTokens();
    const c = client({
      env: {
        ANTHROPIC_OAUTH_ACCESS_TOKEN: issued.accessToken,
        ANTHROPIC_REFRESH_TOKEN: issued.refreshToken,
        ANTHROPIC_TOKEN_EXPIRES_AT: String(nowSeconds() - 1),
      },
    });
    await c.messages.create(hello);
    await c.messages.create(hello);
    expect(emu.stats().refresh).toBe(1);
    await expect(stat(join(temp.dir, '.anthropic'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a rejected refresh token is reauth_required and the stored login is left as it was', async () => {
    const issued = emu.issueTokens();
    const path = join(temp.dir, 'login.json');
    await new TokenStorage(path).save(
      tokensOf(issued, { expiresAt: nowSeconds() - 1, refreshToken: 'sk-ant-ort01-unknown' }),
    );
    const before = await readFile(path, 'utf8');
    const error = await client({ tokenStorage: path })
      .messages.create(hello)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthFlowError);
    expect(error).toMatchObject({ code: 'reauth_required', message: expect.stringContaining('anthropic-oauth login') });
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(messageRequests(emu)).toHaveLength(0);
  });
});

describe('401 on a token that looks fresh', () => {
  it('refreshes once and retries once', async () => {
    const issued = emu.issueTokens();
    const store = new MemoryTokenStore(tokensOf(issued));
    const c = client({ tokenStorage: store });
    await c.messages.create(hello);
    emu.revokeAccessToken(issued.accessToken);
    const message = await c.messages.create(hello);
    expect(message.type).toBe('message');
    expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 1 });
    expect((await store.load())?.accessToken).not.toBe(issued.accessToken);
  });

  it('also with maxRetries: 0, where the SDK does not retry', async () => {
    const issued = emu.issueTokens();
    const c = client({ oauthTokens: tokensOf(issued), maxRetries: 0 });
    await c.messages.create(hello);
    emu.revokeAccessToken(issued.accessToken);
    await c.messages.create(hello);
    await c.messages.create(hello);
    expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 1, messages: 3 });
  });

  it('many simultaneous 401s cause one refresh', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()) });
    await c.messages.create(hello);
    emu.expireAccessTokens();
    await Promise.all(Array.from({ length: 64 }, () => c.messages.create(hello)));
    expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 64 });
    // Each call was sent again once, and every replay carried the one refreshed token.
    const replays = messageRequests(emu).filter((r, i) => i > 0 && r.status === 200);
    expect(replays).toHaveLength(64);
    expect(new Set(replays.map((r) => r.headers.authorization))).toEqual(
      new Set([`Bearer ${(await c.getTokens()).accessToken}`]),
    );
  });

  it('401s that arrive one after another, across the SDK retries, still cause one refresh', async () => {
    // Each API answer is held back a little longer than the previous one, so the 401s for the old
    // token keep arriving after the refresh has already happened (the SDK forces a refresh on each).
    let n = 0;
    const staggered: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (new URL(input instanceof Request ? input.url : input).pathname === '/v1/messages') {
        await new Promise((resolve) => setTimeout(resolve, 40 * n++));
      }
      return response;
    };
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()), fetch: staggered });
    await c.messages.create(hello);
    emu.expireAccessTokens();
    n = 0;
    await Promise.all(Array.from({ length: 24 }, () => c.messages.create(hello)));
    expect(emu.stats().refresh).toBe(1);
    // All 24 calls were answered after their 401, each with the one refreshed token.
    const answered = messageRequests(emu).filter((r, i) => i > 0 && r.status === 200);
    expect(answered).toHaveLength(24);
    expect(new Set(answered.map((r) => r.headers.authorization)).size).toBe(1);
  });

  it.each([0, 1, 2])(
    'never loops: a second 401 surfaces as AuthenticationError (maxRetries %i)',
    async (maxRetries) => {
      // Every API call answers 401, whatever the token: only a loop guard ends this.
      const rejectAll: typeof fetch = async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input);
        if (url.pathname === '/v1/messages') {
          return new Response(
            JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'no' } }),
            {
              status: 401,
              headers: { 'content-type': 'application/json' },
            },
          );
        }
        return fetch(input, init);
      };
      const c = client({ oauthTokens: tokensOf(emu.issueTokens()), maxRetries, fetch: rejectAll });
      await expect(c.messages.create(hello)).rejects.toBeInstanceOf(AuthenticationError);
      expect(emu.stats().refresh).toBe(1);
    },
  );
});

describe('rejections: what the caller sees', () => {
  it.each([0, 2])(
    'a refresh that fails after a 401 is the OAuthFlowError itself, not an APIConnectionError (maxRetries %i)',
    async (maxRetries) => {
      const issued = emu.issueTokens();
      const c = client({ oauthTokens: tokensOf(issued, { refreshToken: 'sk-ant-ort01-unknown' }), maxRetries });
      emu.revokeAccessToken(issued.accessToken);
      const error = await c.messages.create(hello).catch((e: unknown) => e);
      expect(error).not.toBeInstanceOf(APIConnectionError);
      expect(error).toBeInstanceOf(OAuthFlowError);
      expect(error).toMatchObject({
        code: 'reauth_required',
        message: expect.stringContaining('anthropic-oauth login'),
      });
      expect(messageRequests(emu)).toHaveLength(1);
    },
  );

  it('a request-options object reused across calls gets its refresh in each call (maxRetries 0)', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()), maxRetries: 0 });
    const options = { method: 'post' as const, path: '/v1/messages', body: hello };
    await c.request(options);
    for (let round = 1; round <= 2; round++) {
      emu.revokeAccessToken((await c.getTokens()).accessToken);
      expect(await c.request(options)).toMatchObject({ type: 'message' });
      expect(emu.stats()).toMatchObject({ refresh: round, unauthorized: round });
    }
  });

  it('marks the token that went out when it was swapped in a copy of the headers (middleware, tracing)', async () => {
    // Like the SDK's tracing, this middleware hands prepareRequest() a copy of the headers.
    const copying: Middleware = (request, next) => next({ ...request, headers: new Headers(request.headers) });
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()), maxRetries: 0, middleware: [copying] });
    await c.messages.create(hello);
    for (let round = 1; round <= 2; round++) {
      // Our replay leaves the SDK's cache on the first token; later requests go out with its successor.
      emu.revokeAccessToken((await c.getTokens()).accessToken);
      expect((await c.messages.create(hello)).type).toBe('message');
      expect(emu.stats()).toMatchObject({ refresh: round, unauthorized: round });
    }
  });

  it('a body that cannot be sent twice is not replayed; the next request refreshes', async () => {
    const issued = emu.issueTokens();
    const c = client({ oauthTokens: tokensOf(issued), maxRetries: 0 });
    emu.revokeAccessToken(issued.accessToken);
    const json = new TextEncoder().encode(JSON.stringify(hello));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(json);
        controller.close();
      },
    });
    await expect(
      c.post('/v1/messages', { body: stream, headers: { 'content-type': 'application/json' } }),
    ).rejects.toBeInstanceOf(AuthenticationError);
    expect(emu.stats()).toMatchObject({ refresh: 0, unauthorized: 1 });
    expect((await c.messages.create(hello)).type).toBe('message');
    expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 1, messages: 1 });
  });
});

describe('403 for a revoked OAuth token (as the API answers it)', () => {
  let gateway: TestServer;
  beforeEach(async () => {
    gateway = await startServer(revokedAs403(emu.url));
  });
  afterEach(() => gateway.close());

  it.each([0, 2])('refreshes once and retries once, like a 401 (maxRetries %i)', async (maxRetries) => {
    const issued = emu.issueTokens();
    const store = new MemoryTokenStore(tokensOf(issued));
    const c = client({ baseURL: gateway.url, tokenStorage: store, maxRetries });
    await c.messages.create(hello);
    emu.revokeAccessToken(issued.accessToken);
    expect((await c.messages.create(hello)).type).toBe('message');
    expect(emu.stats()).toMatchObject({ refresh: 1, messages: 2 });
    expect(gateway.requests).toHaveLength(3);
    expect((await store.load())?.accessToken).not.toBe(issued.accessToken);
  });

  it('many simultaneous 403s cause one refresh', async () => {
    const issued = emu.issueTokens();
    const c = client({ baseURL: gateway.url, oauthTokens: tokensOf(issued) });
    emu.revokeAccessToken(issued.accessToken);
    await Promise.all(Array.from({ length: 32 }, () => c.messages.create(hello)));
    expect(emu.stats()).toMatchObject({ refresh: 1, messages: 32 });
    // 32 refused with the revoked token, then 32 replays, all with its one successor.
    const sent = gateway.requests.map((r) => r.headers.authorization);
    expect(sent.filter((token) => token === `Bearer ${issued.accessToken}`)).toHaveLength(32);
    const replays = sent.filter((token) => token !== `Bearer ${issued.accessToken}`);
    expect(replays).toHaveLength(32);
    expect(new Set(replays)).toEqual(new Set([`Bearer ${(await c.getTokens()).accessToken}`]));
  });

  it.each([0, 2])('never loops: a second 403 surfaces as PermissionDeniedError (maxRetries %i)', async (maxRetries) => {
    const always = await startServer(() => revoked403());
    try {
      const c = client({ baseURL: always.url, oauthTokens: tokensOf(emu.issueTokens()), maxRetries });
      await expect(c.messages.create(hello)).rejects.toBeInstanceOf(PermissionDeniedError);
      expect(emu.stats().refresh).toBe(1);
      expect(always.requests).toHaveLength(2);
    } finally {
      await always.close();
    }
  });

  it('any other 403 goes to the caller as it is, with no refresh', async () => {
    const scope = await startServer(() =>
      Response.json(
        {
          type: 'error',
          error: { type: 'permission_error', message: 'OAuth token does not meet scope requirement user:profile' },
        },
        { status: 403 },
      ),
    );
    try {
      const c = client({ baseURL: scope.url, oauthTokens: tokensOf(emu.issueTokens()), maxRetries: 0 });
      await expect(c.messages.create(hello)).rejects.toBeInstanceOf(PermissionDeniedError);
      expect(emu.stats().refresh).toBe(0);
      expect(scope.requests).toHaveLength(1);
    } finally {
      await scope.close();
    }
  });
});

describe('env and now', () => {
  it('reads the configuration and the tokens from env, not from process.env', async () => {
    const issued = emu.issueTokens();
    process.env.ANTHROPIC_OAUTH_TOKEN_URL = `http://127.0.0.1:${await closedPort()}/v1/oauth/token`;
    process.env.ANTHROPIC_OAUTH_ACCESS_TOKEN = 'sk-ant-oat01-from-process-env';
    const env = {
      ANTHROPIC_OAUTH_TOKEN_URL: emu.tokenUrl,
      ANTHROPIC_OAUTH_CLIENT_ID: emu.oauthConfig.clientId,
      ANTHROPIC_OAUTH_ACCESS_TOKEN: issued.accessToken,
      ANTHROPIC_REFRESH_TOKEN: issued.refreshToken,
      ANTHROPIC_TOKEN_EXPIRES_AT: String(nowSeconds() - 1),
    };
    const viaOption = new AnthropicOAuth({ baseURL: emu.url, env });
    await viaOption.messages.create(hello);
    expect(emu.stats().refresh).toBe(1);
    const fromEnv = AnthropicOAuth.fromEnv({
      baseURL: emu.url,
      env: { ...env, ANTHROPIC_REFRESH_TOKEN: emu.issueTokens().refreshToken },
    });
    await fromEnv.messages.create(hello);
    expect(emu.stats().refresh).toBe(2);
    expect(messageRequests(emu).map((r) => r.headers.authorization)).not.toContain(
      'Bearer sk-ant-oat01-from-process-env',
    );
  });

  it('now decides when tokens are refreshed, also between requests the SDK cache would serve', async () => {
    let clock = nowSeconds();
    const issued = emu.issueTokens();
    const c = client({ oauthTokens: tokensOf(issued, { expiresAt: clock + 600 }), now: () => clock });
    await c.messages.create(hello);
    expect(emu.stats().refresh).toBe(0);
    clock += 400;
    await c.messages.create(hello);
    expect(emu.stats().refresh).toBe(1);
    expect(messageRequests(emu)[1]?.headers.authorization).not.toBe(`Bearer ${issued.accessToken}`);
  });
});

describe('withOptions', () => {
  it('keeps the OAuth options and shares the token source (no second refresh)', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }), userAgent: 'ua/1' });
    const copy = c.withOptions({ timeout: 5_000 });
    expect(copy).toBeInstanceOf(AnthropicOAuth);
    await Promise.all([c.messages.create(hello), copy.messages.create(hello)]);
    expect(emu.stats().refresh).toBe(1);
    expect(messageRequests(emu).map((r) => r.headers['user-agent'])).toEqual(['ua/1', 'ua/1']);
    expect(copy.timeout).toBe(5_000);
  });

  it.each([
    ['oauthConfig', (): Partial<AnthropicOAuthOptions> => ({ oauthConfig: {} })],
    ['now', (): Partial<AnthropicOAuthOptions> => ({ now: () => Date.now() / 1000 })],
    ['env (tokens given in code)', (): Partial<AnthropicOAuthOptions> => ({ env: {} })],
  ])(
    'a copy with a new %s keeps the login in memory: it never spends a refresh token the client spent',
    async (_name, options) => {
      const c = client({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 3600 }) });
      const copy = c.withOptions(options());
      // The client rotates the login (the API refused its token); then the copy sends, and both refresh again.
      emu.expireAccessTokens();
      await c.messages.create(hello);
      await copy.messages.create(hello);
      expect((await copy.getTokens()).accessToken).toBe((await c.getTokens()).accessToken);
      emu.expireAccessTokens();
      await Promise.all([c.messages.create(hello), copy.messages.create(hello)]);
      expect(emu.stats()).toMatchObject({ refresh: 2, invalidGrant: 0 });
    },
  );

  it('overrides betas and userAgent', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()) });
    await c.withOptions({ betas: ['x-beta'], userAgent: 'ua/2' }).messages.create(hello);
    const [request] = messageRequests(emu);
    expect(request?.headers['anthropic-beta']).toBe('x-beta,oauth-2025-04-20');
    expect(request?.headers['user-agent']).toBe('ua/2');
  });

  it('starts a new token source for new oauthTokens', async () => {
    const a = emu.issueTokens();
    const b = emu.issueTokens();
    const c = client({ oauthTokens: tokensOf(a) });
    await c.withOptions({ oauthTokens: tokensOf(b) }).messages.create(hello);
    await c.messages.create(hello);
    expect(messageRequests(emu).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${b.accessToken}`,
      `Bearer ${a.accessToken}`,
    ]);
  });

  it('withOptions({ tokenStorage }) uses that login, and the parent keeps its own', async () => {
    const a = emu.issueTokens();
    const b = emu.issueTokens();
    const c = client({ oauthTokens: tokensOf(a) });
    const store = new MemoryTokenStore(tokensOf(b, { expiresAt: nowSeconds() - 1 }));
    const copy = c.withOptions({ tokenStorage: store });
    await copy.messages.create(hello);
    await c.messages.create(hello);
    const rotated = (await store.load()) as OAuthTokens;
    expect(rotated.accessToken).not.toBe(b.accessToken);
    expect(messageRequests(emu).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${rotated.accessToken}`,
      `Bearer ${a.accessToken}`,
    ]);
    expect(emu.stats().refresh).toBe(1);
  });

  it('withOptions({ oauthConfig }) merges over the parent configuration and refreshes there', async () => {
    const other = await startEmulator();
    try {
      const store = new MemoryTokenStore(tokensOf(other.issueTokens(), { expiresAt: nowSeconds() - 1 }));
      // The parent refreshes at `emu`, which does not know this login; the copy at `other`.
      const parent = client({ baseURL: other.url, tokenStorage: store });
      await expect(parent.messages.create(hello)).rejects.toMatchObject({ code: 'reauth_required' });
      const copy = parent.withOptions({ oauthConfig: { tokenUrl: other.tokenUrl } });
      expect((await copy.messages.create(hello)).type).toBe('message');
      expect(other.stats().refresh).toBe(1);
      expect(emu.stats()).toMatchObject({ refresh: 0, invalidGrant: 1 });
    } finally {
      await other.close();
    }
  });
});

describe('withOptions with an SDK credential (the SDK helpers pass authToken)', () => {
  let api: TestServer;
  beforeEach(async () => {
    api = await startServer(({ url }) => {
      if (url.startsWith('/v1/environments/env_1/work/poll')) return Response.json(work);
      if (url.startsWith('/v1/environments/env_1/work/work_1')) return Response.json({});
      return Response.json({ data: [], has_more: false, first_id: null, last_id: null });
    });
  });
  afterEach(() => api.close());

  const work = {
    id: 'work_1',
    type: 'work',
    environment_id: 'env_1',
    acknowledged_at: null,
    created_at: '2026-11-30T00:00:00Z',
    latest_heartbeat_at: null,
    state: 'queued',
    data: { type: 'healthcheck', id: 'hc_1' },
  };

  /** The request as the SDK client with `authToken` sends it: no trace of the OAuth login. */
  function expectPlain(request: Received | undefined, token: string): void {
    expect(request?.headers.authorization).toBe(`Bearer ${token}`);
    expect(request?.headers['anthropic-beta'] ?? '').not.toContain('oauth-2025-04-20');
    expect(request?.headers['user-agent']).toMatch(/^Anthropic\/JS /);
    expect(request?.url).not.toContain('beta=true');
  }

  it('withOptions({ authToken }) is the SDK client with that token, and so are its copies', async () => {
    const issued = emu.issueTokens();
    const c = client({ baseURL: api.url, oauthTokens: tokensOf(issued) });
    const copy = c.withOptions({ authToken: 'helper-token' });
    expect(copy).toBeInstanceOf(AnthropicOAuth);
    await copy.models.list();
    await copy.withOptions({ timeout: 5_000 }).models.list();
    await c.models.list();
    expectPlain(api.requests[0], 'helper-token');
    expectPlain(api.requests[1], 'helper-token');
    expect(api.requests[2]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
    expect(api.requests[2]?.url).toContain('beta=true');
  });

  it("works through the SDK's own helper (copyClientForHelper), for the poller's and the worker's shapes", async () => {
    const c = client({ baseURL: api.url, oauthTokens: tokensOf(emu.issueTokens()) });
    for (const helper of ['environments-work-poller', 'environments-worker'] as const) {
      await copyClientForHelper(c, { authToken: `key-${helper}`, helper }).models.list();
      expectPlain(api.requests.at(-1), `key-${helper}`);
      expect(api.requests.at(-1)?.headers['x-stainless-helper']).toBe(helper);
    }
  });

  it('client.beta.environments.work.poller authenticates with the environment key', async () => {
    const issued = emu.issueTokens();
    const c = client({ baseURL: api.url, oauthTokens: tokensOf(issued) });
    const seen: string[] = [];
    for await (const item of c.beta.environments.work.poller({
      environmentId: 'env_1',
      environmentKey: 'env-key-1',
      autoStop: false,
    })) {
      seen.push(item.id);
      break;
    }
    expect(seen).toEqual(['work_1']);
    expect(api.requests.map((r) => r.url.split('?')[0])).toEqual([
      '/v1/environments/env_1/work/poll',
      '/v1/environments/env_1/work/work_1/ack',
    ]);
    for (const request of api.requests) expectPlain(request, 'env-key-1');
    expect(JSON.stringify(api.requests)).not.toContain(issued.accessToken);
  });

  it('withOptions({ profile }) is the SDK client on that profile: built at once, the missing profile reported on use', async () => {
    const c = client({ oauthTokens: tokensOf(emu.issueTokens()) });
    const copy = c.withOptions({ profile: 'nowhere' });
    await expect(copy.models.list()).rejects.toThrow(/Profile "nowhere" could not be resolved/);
    expect(api.requests).toHaveLength(0);
  });

  it('a copy given OAuth options again is an OAuth client; both kinds at once are refused', async () => {
    const issued = emu.issueTokens();
    const plain = client({ oauthTokens: tokensOf(emu.issueTokens()) }).withOptions({ authToken: 'x' });
    await plain.withOptions({ oauthTokens: tokensOf(issued) }).messages.create(hello);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
    expect(() => plain.withOptions({ authToken: 'y', oauthTokens: tokensOf(issued) })).toThrow(TypeError);
  });
});

describe('static constructors', () => {
  it('fromEnv reads the environment and throws not_logged_in synchronously without it', async () => {
    expect(() => AnthropicOAuth.fromEnv({ env: {} })).toThrow(expect.objectContaining({ code: 'not_logged_in' }));
    const issued = emu.issueTokens();
    const c = AnthropicOAuth.fromEnv({
      env: { ANTHROPIC_OAUTH_ACCESS_TOKEN: issued.accessToken },
      baseURL: emu.url,
      oauthConfig: emu.oauthConfig,
    });
    await c.messages.create(hello);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
  });

  it('fromStorage loads lazily: a login saved after construction is used', async () => {
    const path = join(temp.dir, 'later.json');
    const c = AnthropicOAuth.fromStorage(path, { baseURL: emu.url, oauthConfig: emu.oauthConfig });
    const issued = emu.issueTokens();
    await new TokenStorage(path).save(tokensOf(issued));
    await c.messages.create(hello);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
  });

  it('authorizeInteractive runs the manual flow: browser, pasted CODE#STATE, exchange, save', async () => {
    const path = join(temp.dir, 'interactive.json');
    let opened = '';
    const tokens = await AnthropicOAuth.authorizeInteractive({
      oauthConfig: emu.oauthConfig,
      tokenStorage: path,
      io: {
        openBrowser: async (url) => {
          opened = url;
        },
        ask: async () => {
          const page = await fetch(await emu.approve(opened));
          const match = /id="auth-code">([^<]+)</.exec(await page.text());
          return ` ${match?.[1]} \n`;
        },
      },
    });
    expect(tokens.account?.emailAddress).toBe('user@example.com');
    expect((await new TokenStorage(path).load())?.accessToken).toBe(tokens.accessToken);
    const [exchange] = tokenRequests(emu);
    expect(exchange?.body).toMatchObject({ grant_type: 'authorization_code', redirect_uri: emu.manualRedirectUri });
  });
});

describe('secrets', () => {
  it('util.inspect of the client and its errors shows no token', async () => {
    const issued = emu.issueTokens();
    const c = client({
      oauthTokens: tokensOf(issued, { expiresAt: nowSeconds() - 1, refreshToken: 'sk-ant-ort01-nope' }),
    });
    const error = await c.messages.create(hello).catch((e: unknown) => e);
    for (const text of [
      inspect(c, { depth: 10 }),
      inspect(error, { depth: 10 }),
      JSON.stringify(error),
      String(error),
    ]) {
      expect(text).not.toContain(issued.accessToken);
      expect(text).not.toContain('sk-ant-ort01-nope');
    }
  });
});

// The seed's Level 3 `TestAnthropicOAuth` / `TestAsyncAnthropicOAuth`, translated. The TypeScript client is
// asynchronous only, so the two Python classes become one; private members become public behaviour.
describe('seed Level 3: AnthropicOAuth', () => {
  it('initialization with tokens: the client holds exactly those tokens', async () => {
    const tokens = tokensOf(emu.issueTokens());
    expect(await client({ oauthTokens: tokens }).getTokens()).toEqual(tokens);
  });

  it('auth headers: no x-api-key and a single bearer Authorization', async () => {
    const issued = emu.issueTokens();
    await client({ oauthTokens: tokensOf(issued) }).messages.create(hello);
    const headers: Record<string, string> = messageRequests(emu)[0]?.headers ?? {};
    expect(headers['x-api-key']).toBeUndefined();
    expect(headers.authorization).toBe(`Bearer ${issued.accessToken}`);
  });

  it('default headers include the OAuth betas and the user agent', async () => {
    await client({ oauthTokens: tokensOf(emu.issueTokens()) }).messages.create(hello);
    const headers: Record<string, string> = messageRequests(emu)[0]?.headers ?? {};
    expect(headers['anthropic-beta']).toContain('oauth-2025-04-20');
    expect(headers['user-agent']).toBe(DEFAULT_USER_AGENT);
  });

  it('ensure access token (valid): returned as is, no refresh', async () => {
    const tokens = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 3600 });
    expect((await client({ oauthTokens: tokens }).getTokens()).accessToken).toBe(tokens.accessToken);
    expect(emu.stats().refresh).toBe(0);
  });

  it('ensure access token (expired): refreshed', async () => {
    const tokens = tokensOf(emu.issueTokens(), { expiresAt: 0 });
    const fresh = await client({ oauthTokens: tokens }).getTokens();
    expect(fresh.accessToken).not.toBe(tokens.accessToken);
    expect(emu.stats().refresh).toBe(1);
  });

  it('copy (withOptions) preserves the OAuth state', async () => {
    const tokens = tokensOf(emu.issueTokens());
    expect((await client({ oauthTokens: tokens }).withOptions({}).getTokens()).accessToken).toBe(tokens.accessToken);
  });
});

describe('oauthProfile', () => {
  it('uses the named login, in the client, its withOptions copies, and createOAuthFetch', async () => {
    const work = emu.issueTokens();
    const home = emu.issueTokens();
    await new TokenStorage(join(temp.dir, '.anthropic', 'profiles', 'work.json')).save(tokensOf(work));
    await new TokenStorage(join(temp.dir, '.anthropic', 'oauth_tokens.json')).save(tokensOf(home));
    const c = client({ oauthProfile: 'work' });
    await c.messages.create(hello);
    await c.withOptions({ oauthProfile: 'default' }).messages.create(hello);
    const oauthFetch = createOAuthFetch({ oauthProfile: 'work', oauthConfig: emu.oauthConfig });
    await oauthFetch(`${emu.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(hello),
    });
    expect(messageRequests(emu).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${work.accessToken}`,
      `Bearer ${home.accessToken}`,
      `Bearer ${work.accessToken}`,
    ]);
  });

  it('an invalid profile name is refused at construction', () => {
    expect(() => client({ oauthProfile: '../etc' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});
