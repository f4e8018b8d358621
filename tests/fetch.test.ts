import { Anthropic, AuthenticationError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOAuthFetch, DEFAULT_OAUTH_BETAS, DEFAULT_USER_AGENT, MemoryTokenStore } from '../src/index.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { closedPort } from './helpers/cli-run.js';
import { hello, messageRequests, nowSeconds, tokensOf } from './helpers/fixtures.js';
import { REVOKED_403_BODY, revoked403, revokedAs403, startServer } from './helpers/server.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(() => emu.close());

const post = (oauthFetch: typeof fetch, headers: Record<string, string> = {}) =>
  oauthFetch(`${emu.url}/v1/messages?trace=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(hello),
  });

describe('createOAuthFetch', () => {
  it('refuses oauthTokens whose token could not go into a header, at once and before any request', async () => {
    const issued = emu.issueTokens();
    const make = () =>
      createOAuthFetch({
        oauthTokens: tokensOf(issued, { accessToken: `${issued.accessToken}\r\nx-injected: 1` }),
        oauthConfig: emu.oauthConfig,
      });
    expect(make).toThrow(
      expect.objectContaining({
        code: 'invalid_config',
        message: expect.stringMatching(/^oauthTokens\.accessToken is not a token/),
      }),
    );
    expect(() => make()).not.toThrow(TypeError);
    expect(emu.requests).toEqual([]);
  });

  it('sends the bearer token, betas, user agent and beta=true, and drops x-api-key', async () => {
    const issued = emu.issueTokens();
    const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(issued), oauthConfig: emu.oauthConfig });
    const response = await post(oauthFetch, {
      'x-api-key': 'placeholder',
      authorization: 'Bearer oauth',
      'anthropic-beta': 'files-api-2025-04-14',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ type: 'message' });
    const [request] = messageRequests(emu);
    expect(request?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
    expect(request?.headers['x-api-key']).toBeUndefined();
    expect(request?.headers['anthropic-beta']?.split(',')).toEqual([...DEFAULT_OAUTH_BETAS, 'files-api-2025-04-14']);
    expect(request?.headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(request?.query).toEqual({ trace: '1', beta: 'true' });
  });

  it("adds beta=true to a URL's own query, and a request's own beta wins, as in AnthropicOAuth", async () => {
    const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), oauthConfig: emu.oauthConfig });
    const send = (query: string) =>
      oauthFetch(`${emu.url}/v1/messages${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(hello),
      });
    await send('?from=path');
    await send('?beta=false');
    expect(messageRequests(emu).map((request) => request.query)).toEqual([
      { from: 'path', beta: 'true' },
      { beta: 'false' },
    ]);
  });

  it('accepts a Request object and keeps its body', async () => {
    const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), oauthConfig: emu.oauthConfig });
    const request = new Request(`${emu.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...hello, messages: [{ role: 'user', content: 'from a Request' }] }),
    });
    const body = (await (await oauthFetch(request)).json()) as { content: { text: string }[] };
    expect(body.content[0]?.text).toContain('from a Request');
  });

  it('refreshes an expiring token first, once for many concurrent calls, and saves the rotation', async () => {
    const issued = emu.issueTokens();
    const store = new MemoryTokenStore(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    const oauthFetch = createOAuthFetch({ tokenStorage: store, oauthConfig: emu.oauthConfig });
    const responses = await Promise.all(Array.from({ length: 40 }, () => post(oauthFetch)));
    expect(responses.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(emu.stats().refresh).toBe(1);
    expect((await store.load())?.accessToken).not.toBe(issued.accessToken);
  });

  it('on a 401: one refresh and one replay, with the same body', async () => {
    const issued = emu.issueTokens();
    const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(issued), oauthConfig: emu.oauthConfig });
    emu.revokeAccessToken(issued.accessToken);
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(oauthFetch)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 10, messages: 10 });
    expect(messageRequests(emu).at(-1)?.body).toEqual(hello);
  });

  it('returns a second 401 as is (no loop)', async () => {
    const always401: typeof fetch = async (input, init) => {
      if (new URL(input instanceof Request ? input.url : input).pathname === '/v1/messages') {
        return new Response('{"type":"error"}', { status: 401 });
      }
      return fetch(input, init);
    };
    const oauthFetch = createOAuthFetch({
      oauthTokens: tokensOf(emu.issueTokens()),
      oauthConfig: emu.oauthConfig,
      fetch: always401,
    });
    expect((await post(oauthFetch)).status).toBe(401);
    expect(emu.stats().refresh).toBe(1);
  });

  it('plugs into a client that insists on a key (here the official SDK with a placeholder)', async () => {
    const issued = emu.issueTokens();
    const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(issued), oauthConfig: emu.oauthConfig });
    const client = new Anthropic({ apiKey: 'placeholder', baseURL: emu.url, fetch: oauthFetch });
    const message = await client.messages.create(hello);
    expect(message.type).toBe('message');
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
  });
});

describe('createOAuthFetch: a 403 for a revoked OAuth token (as the API answers it)', () => {
  it('refreshes once and replays once, like a 401, for any number of callers', async () => {
    const gateway = await startServer(revokedAs403(emu.url));
    try {
      const issued = emu.issueTokens();
      const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(issued), oauthConfig: emu.oauthConfig });
      emu.revokeAccessToken(issued.accessToken);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () =>
          oauthFetch(`${gateway.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(hello),
          }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(emu.stats()).toMatchObject({ refresh: 1, messages: 10 });
    } finally {
      await gateway.close();
    }
  });

  it('returns a second 403 as is, its body readable (no loop)', async () => {
    const always = await startServer(() => revoked403());
    try {
      const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), oauthConfig: emu.oauthConfig });
      const response = await oauthFetch(`${always.url}/v1/messages`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual(REVOKED_403_BODY);
      expect(emu.stats().refresh).toBe(1);
      expect(always.requests).toHaveLength(2);
    } finally {
      await always.close();
    }
  });

  it('returns any other 403 at once, with no refresh', async () => {
    const body = {
      type: 'error',
      error: { type: 'permission_error', message: 'Your organization has been disabled.' },
    };
    const other = await startServer(() => Response.json(body, { status: 403 }));
    try {
      const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), oauthConfig: emu.oauthConfig });
      const response = await oauthFetch(`${other.url}/v1/messages`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual(body);
      expect(emu.stats().refresh).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('createOAuthFetch: env and now', () => {
  it('reads the configuration and the tokens from env, not from process.env', async () => {
    const issued = emu.issueTokens();
    const saved = process.env.ANTHROPIC_OAUTH_TOKEN_URL;
    process.env.ANTHROPIC_OAUTH_TOKEN_URL = `http://127.0.0.1:${await closedPort()}/v1/oauth/token`;
    try {
      const oauthFetch = createOAuthFetch({
        tokenStorage: null,
        env: {
          ANTHROPIC_OAUTH_TOKEN_URL: emu.tokenUrl,
          ANTHROPIC_OAUTH_CLIENT_ID: emu.oauthConfig.clientId,
          ANTHROPIC_OAUTH_ACCESS_TOKEN: issued.accessToken,
          ANTHROPIC_REFRESH_TOKEN: issued.refreshToken,
          ANTHROPIC_TOKEN_EXPIRES_AT: String(nowSeconds() - 1),
        },
      });
      expect((await post(oauthFetch)).status).toBe(200);
      expect(emu.stats().refresh).toBe(1);
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_OAUTH_TOKEN_URL;
      else process.env.ANTHROPIC_OAUTH_TOKEN_URL = saved;
    }
  });

  it('now decides when tokens are refreshed', async () => {
    let clock = nowSeconds();
    const issued = emu.issueTokens();
    const oauthFetch = createOAuthFetch({
      oauthTokens: tokensOf(issued, { expiresAt: clock + 600 }),
      oauthConfig: emu.oauthConfig,
      now: () => clock,
    });
    await post(oauthFetch);
    expect(emu.stats().refresh).toBe(0);
    clock += 400;
    await post(oauthFetch);
    expect(emu.stats().refresh).toBe(1);
  });
});

describe('createOAuthFetch without a usable login', () => {
  it('answers a final 401 itself (no retry storm in the calling client), with what to do next', async () => {
    const oauthFetch = createOAuthFetch({ tokenStorage: new MemoryTokenStore(), oauthConfig: emu.oauthConfig });
    const response = await post(oauthFetch);
    expect(response.status).toBe(401);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'authentication_error',
        code: 'not_logged_in',
        message: expect.stringContaining('anthropic-oauth login'),
      },
    });
    expect(emu.requests).toHaveLength(0);
  });

  it('the official SDK with a placeholder key fails at once with AuthenticationError, not after retries', async () => {
    const oauthFetch = createOAuthFetch({ tokenStorage: new MemoryTokenStore(), oauthConfig: emu.oauthConfig });
    const client = new Anthropic({ apiKey: 'placeholder', baseURL: emu.url, fetch: oauthFetch, maxRetries: 5 });
    await expect(client.messages.create(hello)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('sends the body with a Content-Length, like the SDK does', async () => {
    const oauthFetch = createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), oauthConfig: emu.oauthConfig });
    await post(oauthFetch);
    expect(messageRequests(emu)[0]?.headers['content-length']).toBe(String(JSON.stringify(hello).length));
    expect(messageRequests(emu)[0]?.headers['transfer-encoding']).toBeUndefined();
  });
});
