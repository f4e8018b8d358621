import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildAuthorizationUrl } from '../src/authorize.js';
import { parseAuthCode } from '../src/callback.js';
import { DEFAULT_CLIENT_ID } from '../src/constants.js';
import { OAuthFlowError } from '../src/errors.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import {
  exchangeCodeForTokens,
  MAX_TOKEN_RESPONSE_BYTES,
  postTokenRequest,
  processTokenResponse,
  refreshAccessToken,
} from '../src/token-endpoint.js';
import type { Fetch, OAuthState } from '../src/types.js';
import { VERSION } from '../src/version.js';
import { rejectionOf } from './helpers/fixtures.js';

const NOW = 1_700_000_000;
/** Never let the developer's own ANTHROPIC_OAUTH_* variables leak into a test. */
const NO_ENV = {};

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const flowError = (promise: Promise<unknown>) => rejectionOf(OAuthFlowError, promise);

/** A `fetch` that counts calls and delegates to the real one. */
function countingFetch(): { fetch: Fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return globalThis.fetch(input, init);
    },
    calls: () => calls,
  };
}

/** A bare loopback server for the behaviours the emulator does not fake. */
async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; tokenUrl: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    tokenUrl: `http://127.0.0.1:${port}/v1/oauth/token`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('processTokenResponse', () => {
  it('turns a 200 JSON answer into tokens', async () => {
    const response = json({
      access_token: 'sk-ant-oat01-a',
      refresh_token: 'sk-ant-ort01-r',
      expires_in: 28800,
      token_type: 'Bearer',
      scope: 'user:inference',
      account: { uuid: 'acct', email_address: 'user@example.com' },
    });
    await expect(processTokenResponse(response, NOW)).resolves.toEqual({
      accessToken: 'sk-ant-oat01-a',
      refreshToken: 'sk-ant-ort01-r',
      expiresAt: NOW + 28800,
      expiresIn: 28800,
      tokenType: 'Bearer',
      scope: 'user:inference',
      account: { uuid: 'acct', emailAddress: 'user@example.com' },
    });
  });

  it('validates the body of a 200 (a JSON error object is still an invalid response)', async () => {
    const err = await flowError(processTokenResponse(json({ token_type: 'Bearer' }), NOW));
    expect(err.code).toBe('invalid_response');
    expect((await flowError(processTokenResponse(json(null), NOW))).code).toBe('invalid_response');
  });

  it('maps 400 invalid_grant and keeps only the RFC 6749 fields of the body', async () => {
    const echoed = 'sk-ant-ort01-ECHOEDSECRET';
    const response = json(
      {
        error: 'invalid_grant',
        error_description: 'Refresh token not found or invalid',
        error_uri: 'https://example.com/errors#invalid_grant',
        refresh_token: echoed,
        request: { refresh_token: echoed },
      },
      400,
    );
    const err = await flowError(processTokenResponse(response, NOW));
    expect(err.code).toBe('invalid_grant');
    expect(err.status).toBe(400);
    expect(err.body).toEqual({
      error: 'invalid_grant',
      error_description: 'Refresh token not found or invalid',
      error_uri: 'https://example.com/errors#invalid_grant',
    });
    expect(err.message).toContain('Refresh token not found or invalid');
    expect(err.message).toContain('npx anthropic-oauth login');
    expect(JSON.stringify(err.body)).not.toContain('ECHOEDSECRET');
    expect(err.message).not.toContain('ECHOEDSECRET');
    expect(err.stack ?? '').not.toContain('ECHOEDSECRET');
    expect(JSON.stringify(err)).not.toContain('ECHOEDSECRET');
  });

  it('maps 429 with Retry-After: 7 to rate_limited', async () => {
    const err = await flowError(
      processTokenResponse(json({ error: 'rate_limit_error' }, 429, { 'retry-after': '7' }), NOW),
    );
    expect(err.code).toBe('rate_limited');
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBe(7);
    expect(err.message).toContain('7 s');
  });

  it('clamps a huge Retry-After to 300 seconds and a past date to 0', async () => {
    const huge = await flowError(processTokenResponse(json({}, 429, { 'retry-after': '999999999' }), NOW));
    expect(huge.retryAfter).toBe(300);
    const past = await flowError(
      processTokenResponse(json({}, 429, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }), NOW),
    );
    expect(past.retryAfter).toBe(0);
  });

  it('reads a Retry-After date against the clock it is given, not the system clock', async () => {
    const inAMinute = new Date((NOW + 60) * 1000).toUTCString();
    const err = await flowError(processTokenResponse(json({}, 429, { 'retry-after': inAMinute }), NOW));
    expect(err.retryAfter).toBe(60);
  });

  it('leaves retryAfter undefined without a usable Retry-After', async () => {
    expect((await flowError(processTokenResponse(json({}, 429), NOW))).retryAfter).toBeUndefined();
    const garbage = await flowError(processTokenResponse(json({}, 429, { 'retry-after': 'soon' }), NOW));
    expect(garbage.code).toBe('rate_limited');
    expect(garbage.retryAfter).toBeUndefined();
  });

  it('maps 500 to token_endpoint_error', async () => {
    const err = await flowError(processTokenResponse(json({ error: 'server_error' }, 500), NOW));
    expect(err.code).toBe('token_endpoint_error');
    expect(err.status).toBe(500);
    expect(err.body).toEqual({ error: 'server_error' });
    expect(err.message).toContain('HTTP 500');
  });

  it('maps other 4xx errors and non-JSON error bodies to token_endpoint_error', async () => {
    const invalidClient = await flowError(processTokenResponse(json({ error: 'invalid_client' }, 401), NOW));
    expect(invalidClient).toMatchObject({
      code: 'token_endpoint_error',
      status: 401,
      body: { error: 'invalid_client' },
    });
    const html = await flowError(processTokenResponse(new Response('<html>Bad Gateway</html>', { status: 502 }), NOW));
    expect(html).toMatchObject({ code: 'token_endpoint_error', status: 502, body: undefined });
    expect(html.message).not.toContain('<html>');
  });

  it('treats a redirect as an invalid response', async () => {
    const response = new Response(null, { status: 302, headers: { location: 'https://example.com/elsewhere' } });
    const err = await flowError(processTokenResponse(response, NOW));
    expect(err.code).toBe('invalid_response');
    expect(err.status).toBe(302);
  });

  it('treats an HTML or empty 200 as an invalid response', async () => {
    const html = new Response('<!doctype html><title>Login</title>', {
      status: 200,
      headers: { 'content-type': 'text/html' },
    });
    const err = await flowError(processTokenResponse(html, NOW));
    expect(err.code).toBe('invalid_response');
    expect(err.status).toBe(200);
    expect((await flowError(processTokenResponse(new Response('', { status: 200 }), NOW))).code).toBe(
      'invalid_response',
    );
  });

  it('refuses a body over 1 MiB', async () => {
    expect(MAX_TOKEN_RESPONSE_BYTES).toBe(1024 * 1024);
    const body = JSON.stringify({ access_token: 'a'.repeat(MAX_TOKEN_RESPONSE_BYTES), token_type: 'Bearer' });
    const err = await flowError(processTokenResponse(new Response(body, { status: 200 }), NOW));
    expect(err.code).toBe('invalid_response');
    expect(err.message).toContain('1 MiB');
  });

  it('accepts a valid body just under 1 MiB', async () => {
    const padding = 'a'.repeat(MAX_TOKEN_RESPONSE_BYTES - 100);
    const tokens = await processTokenResponse(json({ access_token: 'sk-ant-oat01-a', padding }), NOW);
    expect(tokens.accessToken).toBe('sk-ant-oat01-a');
  });

  it('refuses an access token over 4096 characters that fits in 1 MiB (it could not be sent in a header)', async () => {
    const err = await flowError(processTokenResponse(json({ access_token: 'a'.repeat(4097) }), NOW));
    expect(err.code).toBe('invalid_response');
  });
});

describe('token endpoint over real HTTP (emulator)', () => {
  let emu: Emulator;

  beforeEach(async () => {
    emu = await startEmulator();
  });

  afterEach(async () => {
    await emu.close();
  });

  const tokenRequests = () => emu.requests.filter((r) => r.path === '/v1/oauth/token');

  it('logs in end to end: authorize, approve, exchange (seed: test_exchange_code_for_tokens)', async () => {
    const { url, oauthState } = await buildAuthorizationUrl(emu.oauthConfig, { env: NO_ENV });
    const { code, state } = parseAuthCode(await emu.approve(url));
    const tokens = await exchangeCodeForTokens({ code, state, oauthState, config: emu.oauthConfig, env: NO_ENV });

    expect(tokens.accessToken).toMatch(/^sk-ant-oat01-/);
    expect(tokens.refreshToken).toMatch(/^sk-ant-ort01-/);
    expect(tokens.tokenType).toBe('Bearer');
    expect(tokens.account).toEqual({ uuid: expect.any(String), emailAddress: 'user@example.com' });
    expect(tokens.organization).toEqual({ uuid: expect.any(String), name: 'Example Org' });
    expect(emu.stats().authorizationCode).toBe(1);
    expect(emu.isRefreshTokenLive(tokens.refreshToken)).toBe(true);

    const [request] = tokenRequests();
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['user-agent']).toBe(`anthropic-oauth/${VERSION}`);
    expect(request?.body).toEqual({
      grant_type: 'authorization_code',
      code,
      state,
      client_id: emu.oauthConfig.clientId,
      redirect_uri: oauthState.redirectUri,
      code_verifier: oauthState.codeVerifier,
    });
  });

  it('sends exactly the documented JSON body for the code grant', async () => {
    const oauthState: OAuthState = {
      codeVerifier: 'verifier-verifier-verifier-verifier-verifier',
      state: 'test-state',
      redirectUri: 'https://platform.claude.com/oauth/code/callback',
    };
    // The emulator never issued this code, so it answers invalid_grant; what matters is what we sent.
    const err = await flowError(
      exchangeCodeForTokens({
        code: 'test-code',
        state: 'test-state',
        oauthState,
        config: { tokenUrl: emu.tokenUrl },
        env: NO_ENV,
      }),
    );
    expect(err).toMatchObject({ code: 'invalid_grant', status: 400 });
    const requests = tokenRequests();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers['content-type']).toBe('application/json');
    expect(requests[0]?.body).toMatchInlineSnapshot(`
      {
        "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
        "code": "test-code",
        "code_verifier": "verifier-verifier-verifier-verifier-verifier",
        "grant_type": "authorization_code",
        "redirect_uri": "https://platform.claude.com/oauth/code/callback",
        "state": "test-state",
      }
    `);
    expect(Object.keys(requests[0]?.body as object)).toHaveLength(6);
  });

  it('refuses a state mismatch before any request (seed: test_exchange_state_mismatch)', async () => {
    const oauthState: OAuthState = {
      codeVerifier: 'v'.repeat(43),
      state: 'correct',
      redirectUri: emu.manualRedirectUri,
    };
    const err = await flowError(
      exchangeCodeForTokens({
        code: 'code',
        state: 'wrong',
        oauthState,
        config: { tokenUrl: emu.tokenUrl },
        env: NO_ENV,
      }),
    );
    expect(err.code).toBe('state_mismatch');
    expect(err.message).toContain('state');
    expect(emu.requests).toHaveLength(0);
  });

  it('checks state even when the token URL is insecure (state first, then config)', async () => {
    const oauthState: OAuthState = { codeVerifier: 'v'.repeat(43), state: 'correct', redirectUri: 'x' };
    const err = await flowError(
      exchangeCodeForTokens({
        code: 'c',
        state: 'wrong',
        oauthState,
        config: { tokenUrl: 'http://example.com/t' },
        env: NO_ENV,
      }),
    );
    expect(err.code).toBe('state_mismatch');
  });

  it('refreshes with exactly grant_type, refresh_token and client_id, and no scope (seed: test_refresh_access_token)', async () => {
    const issued = emu.issueTokens();
    const tokens = await refreshAccessToken({
      refreshToken: issued.refreshToken,
      config: { tokenUrl: emu.tokenUrl },
      env: NO_ENV,
    });
    expect(tokens.accessToken).toMatch(/^sk-ant-oat01-/);
    expect(tokens.accessToken).not.toBe(issued.accessToken);
    const [request] = tokenRequests();
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.body).toEqual({
      grant_type: 'refresh_token',
      refresh_token: issued.refreshToken,
      client_id: DEFAULT_CLIENT_ID,
    });
    expect(request?.body).not.toHaveProperty('scope');
  });

  it('uses the rotated refresh token when the response has one', async () => {
    const issued = emu.issueTokens();
    const tokens = await refreshAccessToken({ refreshToken: issued.refreshToken, config: { tokenUrl: emu.tokenUrl } });
    expect(tokens.refreshToken).toMatch(/^sk-ant-ort01-/);
    expect(tokens.refreshToken).not.toBe(issued.refreshToken);
    expect(emu.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);

    // The spent one is refused as invalid_grant.
    const err = await flowError(
      refreshAccessToken({ refreshToken: issued.refreshToken, config: { tokenUrl: emu.tokenUrl } }),
    );
    expect(err).toMatchObject({ code: 'invalid_grant', status: 400 });
  });

  it('keeps the old refresh token when the response has none', async () => {
    emu.faults.tokenMalformed(
      JSON.stringify({ access_token: 'sk-ant-oat01-new', expires_in: 3600, token_type: 'Bearer' }),
    );
    const tokens = await refreshAccessToken({ refreshToken: 'sk-ant-ort01-old', config: { tokenUrl: emu.tokenUrl } });
    expect(tokens.accessToken).toBe('sk-ant-oat01-new');
    expect(tokens.refreshToken).toBe('sk-ant-ort01-old');
  });

  it('refuses an empty refresh token with reauth_required and sends nothing', async () => {
    const err = await flowError(refreshAccessToken({ refreshToken: '', config: { tokenUrl: emu.tokenUrl } }));
    expect(err.code).toBe('reauth_required');
    expect(emu.requests).toHaveLength(0);
  });

  it('maps a 429 from the server to rate_limited with retryAfter', async () => {
    emu.faults.tokenRateLimited(7);
    const issued = emu.issueTokens();
    const err = await flowError(
      refreshAccessToken({ refreshToken: issued.refreshToken, config: { tokenUrl: emu.tokenUrl } }),
    );
    expect(err).toMatchObject({ code: 'rate_limited', status: 429, retryAfter: 7 });
  });

  it('maps a 500 from the server to token_endpoint_error', async () => {
    emu.faults.tokenServerError(1, 503);
    const issued = emu.issueTokens();
    const err = await flowError(
      refreshAccessToken({ refreshToken: issued.refreshToken, config: { tokenUrl: emu.tokenUrl } }),
    );
    expect(err).toMatchObject({ code: 'token_endpoint_error', status: 503, body: { error: 'server_error' } });
  });

  it('times out on a server that never answers', async () => {
    emu.faults.tokenHang();
    const err = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl: emu.tokenUrl }, timeoutMs: 200 }),
    );
    expect(err.code).toBe('timeout');
    expect(tokenRequests()).toHaveLength(1);
  });

  it("rejects with the caller's abort reason when the caller aborts", async () => {
    emu.faults.tokenHang();
    const controller = new AbortController();
    const reason = new Error('user pressed Ctrl-C');
    const pending = refreshAccessToken({
      refreshToken: 'sk-ant-ort01-x',
      config: { tokenUrl: emu.tokenUrl },
      signal: controller.signal,
    });
    const settled = pending.catch((e: unknown) => e);
    await vi.waitFor(() => expect(tokenRequests()).toHaveLength(1));
    controller.abort(reason);
    expect(await settled).toBe(reason);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already'));
    const promise = refreshAccessToken({
      refreshToken: 'sk-ant-ort01-x',
      config: { tokenUrl: emu.tokenUrl },
      signal: controller.signal,
    });
    await expect(promise).rejects.toThrow('already');
    expect(emu.requests).toHaveLength(0);
  });

  it('refuses an http non-loopback token URL with insecure_url and sends nothing', async () => {
    const counting = countingFetch();
    const tokenUrl = 'http://platform.claude.com/v1/oauth/token';
    const refresh = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl }, fetch: counting.fetch, env: NO_ENV }),
    );
    expect(refresh.code).toBe('insecure_url');
    const oauthState: OAuthState = { codeVerifier: 'v'.repeat(43), state: 's', redirectUri: emu.manualRedirectUri };
    const exchange = await flowError(
      exchangeCodeForTokens({
        code: 'c',
        state: 's',
        oauthState,
        config: { tokenUrl },
        fetch: counting.fetch,
        env: NO_ENV,
      }),
    );
    expect(exchange.code).toBe('insecure_url');
    expect(counting.calls()).toBe(0);
  });

  it('refuses an insecure token URL from the environment too', async () => {
    const counting = countingFetch();
    const err = await flowError(
      refreshAccessToken({
        refreshToken: 'sk-ant-ort01-x',
        fetch: counting.fetch,
        env: { ANTHROPIC_OAUTH_TOKEN_URL: 'http://evil.example.com/token' },
      }),
    );
    expect(err.code).toBe('insecure_url');
    expect(counting.calls()).toBe(0);
  });

  it('uses the fetch it is given', async () => {
    const counting = countingFetch();
    const issued = emu.issueTokens();
    await refreshAccessToken({
      refreshToken: issued.refreshToken,
      config: { tokenUrl: emu.tokenUrl },
      fetch: counting.fetch,
    });
    expect(counting.calls()).toBe(1);
  });
});

describe('send apart from interpret: the grants go through postTokenRequest, then processTokenResponse', () => {
  let emu: Emulator;

  beforeEach(async () => {
    emu = await startEmulator();
  });

  afterEach(async () => {
    await emu.close();
  });

  it('postTokenRequest sends the grant and leaves the answer unread; processTokenResponse reads it', async () => {
    const issued = emu.issueTokens();
    const grant = { grant_type: 'refresh_token', refresh_token: issued.refreshToken, client_id: DEFAULT_CLIENT_ID };
    const response = await postTokenRequest(emu.tokenUrl, grant);
    expect(response.status).toBe(200);
    // Without a `fetch` of the caller's, the global one: its `Response`, unread.
    expect(response).toBeInstanceOf(Response);
    expect(response instanceof Response && response.bodyUsed).toBe(false);
    const [request] = emu.requests.filter((r) => r.path === '/v1/oauth/token');
    expect(request).toMatchObject({ method: 'POST', body: grant });
    expect(request?.headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json' });
    const tokens = await processTokenResponse(response, NOW);
    expect(emu.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
    expect(tokens.expiresAt).toBe(NOW + (tokens.expiresIn ?? Number.NaN));
  });

  it.each([
    ['tokens', () => json({ access_token: 'at', refresh_token: 'rt', expires_in: 60, token_type: 'Bearer' })],
    ['invalid_grant', () => json({ error: 'invalid_grant', error_description: 'revoked' }, 400)],
    ['a 429 with a Retry-After date', () => json({}, 429, { 'retry-after': new Date((NOW + 9) * 1000).toUTCString() })],
    ['a 503', () => new Response('down', { status: 503 })],
    ['a redirect', () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/' } })],
    ['HTML', () => new Response('<html></html>', { status: 200 })],
    ['a token with a line break', () => json({ access_token: 'a\r\nb', token_type: 'Bearer' })],
  ])('a refresh answered with %s ends as processTokenResponse says', async (_label, answer) => {
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        (tokens) => ({ tokens }),
        (error: OAuthFlowError) => ({ code: error.code, message: error.message, retryAfter: error.retryAfter }),
      );
    const viaGrant = await outcome(
      refreshAccessToken({
        refreshToken: 'rt-old',
        config: { tokenUrl: 'https://token.example/v1/oauth/token' },
        env: NO_ENV,
        fetch: async () => answer(),
        now: () => NOW,
      }),
    );
    expect(viaGrant).toEqual(await outcome(processTokenResponse(answer(), NOW)));
  });

  it('the grants count expiries from the clock they are given', async () => {
    const issued = emu.issueTokens();
    const config = { tokenUrl: emu.tokenUrl };
    const tokens = await refreshAccessToken({ refreshToken: issued.refreshToken, config, env: NO_ENV, now: () => NOW });
    expect(tokens.expiresIn).toBeGreaterThan(0);
    expect(tokens.expiresAt).toBe(NOW + (tokens.expiresIn ?? Number.NaN));
  });
});

describe('token endpoint over real HTTP (bare server)', () => {
  const closers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  async function server(handler: (req: IncomingMessage, res: ServerResponse) => void) {
    const started = await startServer(handler);
    closers.push(started.close);
    return started;
  }

  it('reports a closed port as network_error', async () => {
    const { tokenUrl, close } = await startServer(() => {});
    await close();
    const err = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl }, env: NO_ENV }),
    );
    expect(err.code).toBe('network_error');
    expect(err.message).toContain('Could not reach');
  });

  it('times out when the body stalls after the headers', async () => {
    const { tokenUrl } = await server((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":');
    });
    const err = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl }, timeoutMs: 200, env: NO_ENV }),
    );
    expect(err.code).toBe('timeout');
  });

  it('reports a body cut off mid-way as network_error', async () => {
    const { tokenUrl } = await server((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"access_token":', () => res.destroy());
    });
    const err = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl }, env: NO_ENV }),
    );
    expect(err.code).toBe('network_error');
  });

  it('does not follow a redirect from the token endpoint', async () => {
    const target = await server((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'sk-ant-oat01-stolen', token_type: 'Bearer' }));
    });
    const redirector = await server((req, res) => {
      req.resume();
      res.writeHead(307, { location: target.tokenUrl });
      res.end();
    });
    const err = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl: redirector.tokenUrl }, env: NO_ENV }),
    );
    expect(err).toMatchObject({ code: 'invalid_response', status: 307 });
    expect(redirector.hits()).toBe(1);
    expect(target.hits()).toBe(0);
  });

  it('refuses an oversized body from a real server', async () => {
    const { tokenUrl } = await server((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"access_token":"${'a'.repeat(2 * MAX_TOKEN_RESPONSE_BYTES)}"}`);
    });
    const err = await flowError(
      refreshAccessToken({ refreshToken: 'sk-ant-ort01-x', config: { tokenUrl }, env: NO_ENV }),
    );
    expect(err.code).toBe('invalid_response');
  });
});

describe('network failure detail', () => {
  it('keeps the system error code in the cause, for --debug', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    const error = await refreshAccessToken({
      refreshToken: 'sk-ant-ort01-x',
      config: { tokenUrl: `http://127.0.0.1:${port}/v1/oauth/token` },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'network_error' });
    expect(String((error as Error).cause)).toContain('ECONNREFUSED');
  });
});

describe('an endpoint that echoes what it was sent (issue 10 item 8)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  /** A token endpoint that answers `status` with a body built from the raw request body it got. */
  async function echoing(status: number, build: (raw: string) => unknown, headers: Record<string, string> = {}) {
    const started = await startServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        raw += chunk;
      });
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(build(raw)));
      });
    });
    closers.push(started.close);
    return started.tokenUrl;
  }

  /** Every way an error is shown: message, stack, JSON, util.inspect, String() of each cause. */
  function shown(error: unknown): string {
    const parts = [String(error), (error as Error).stack ?? '', JSON.stringify(error), inspect(error, { depth: 10 })];
    for (let cause = (error as Error).cause; cause !== undefined; cause = (cause as Error).cause) {
      parts.push(String(cause), (cause as Error).stack ?? '', inspect(cause, { depth: 10 }));
    }
    return parts.join('\n');
  }

  function expectNoSecret(error: unknown, secrets: readonly string[]): void {
    const text = shown(error);
    for (const secret of secrets) {
      for (const form of [
        secret,
        encodeURIComponent(secret),
        encodeURIComponent(secret).toLowerCase(),
        JSON.stringify(secret).slice(1, -1),
        JSON.stringify(secret).slice(1, -1).replaceAll('/', '\\/'),
        secret.slice(0, 12),
        secret.slice(-12),
      ]) {
        expect(text, `a form of a secret (${form.slice(0, 6)}…)`).not.toContain(form);
      }
    }
  }

  // Secrets of shapes the CLI's sk-ant- masking does not know.
  const REFRESH_SHAPES = [
    'opaque/Refresh+Token=value~with.punctuation_0123456789',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyZWZyZXNoIn0.c2lnbmF0dXJlLXNlY3JldA',
    'sk-ant-ort01-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    '0123456789abcdef0123456789abcdef',
  ];

  const ECHOES: [string, (raw: string) => unknown][] = [
    ['the raw body in error_description', (raw) => ({ error: 'invalid_request', error_description: `got ${raw}` })],
    ['the body in error and error_uri', (raw) => ({ error: raw, error_uri: `https://example.com/?sent=${raw}` })],
    [
      'percent-encoded, upper and lower case',
      (raw) => ({
        error: 'invalid_request',
        error_description: `${encodeURIComponent(raw)} ${encodeURIComponent(raw).toLowerCase()}`,
      }),
    ],
    [
      'JSON-escaped with \\/ and \\u escapes',
      (raw) => ({
        error: 'invalid_request',
        error_description: raw.replaceAll('/', '\\/').replace(/[a-f]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
      }),
    ],
    [
      'cut by the 300-character truncation',
      (raw) => {
        const secret = (JSON.parse(raw) as Record<string, string>).refresh_token ?? '';
        return { error: 'invalid_grant', error_description: `${'x'.repeat(280)}${secret}` };
      },
    ],
  ];

  for (const status of [400, 429, 500]) {
    it.each(ECHOES)(`HTTP ${status}, %s: no refresh token of any shape survives`, async (_label, build) => {
      const tokenUrl = await echoing(status, build, { 'retry-after': '1' });
      for (const refreshToken of REFRESH_SHAPES) {
        const error = await flowError(refreshAccessToken({ refreshToken, config: { tokenUrl }, env: NO_ENV }));
        expect(error.status).toBe(status);
        expectNoSecret(error, [refreshToken]);
      }
    });
  }

  it('keeps the rest of the echoed description, with the secret replaced by [redacted]', async () => {
    const tokenUrl = await echoing(400, (raw) => ({ error: 'invalid_grant', error_description: `bad: ${raw}` }));
    const error = await flowError(
      refreshAccessToken({ refreshToken: 'opaque-refresh-value', config: { tokenUrl }, env: NO_ENV }),
    );
    expect(error.code).toBe('invalid_grant');
    expect(error.body?.error_description).toBe(
      `bad: {"grant_type":"refresh_token","refresh_token":"[redacted]","client_id":"${DEFAULT_CLIENT_ID}"}`,
    );
  });

  it('the code grant: code, verifier and state are scrubbed', async () => {
    const tokenUrl = await echoing(400, (raw) => ({ error: 'invalid_request', error_description: raw }));
    const { url, oauthState } = await buildAuthorizationUrl({ redirectUri: 'http://localhost:1/callback' });
    const code = 'an-authorization-code/with+odd=chars';
    const state = new URL(url).searchParams.get('state') ?? '';
    const error = await flowError(
      exchangeCodeForTokens({ code, state, oauthState, config: { tokenUrl }, env: NO_ENV }),
    );
    expectNoSecret(error, [code, oauthState.codeVerifier, state]);
    expect(error.body?.error_description).toContain('"grant_type":"authorization_code"');
  });

  it('a fetch that throws the request back (message, nested cause, extra fields): network_error without it', async () => {
    const refreshToken = 'opaque-refresh-from-a-proxy';
    const echoFetch: Fetch = async (input, init) => {
      const inner = Object.assign(new Error(`socket hang up while sending ${String(init?.body)}`), {
        code: 'ECONNRESET',
        request: { url: String(input), body: init?.body },
      });
      throw new TypeError(`fetch failed for ${encodeURIComponent(String(init?.body))}`, { cause: inner });
    };
    const error = await flowError(
      refreshAccessToken({ refreshToken, fetch: echoFetch, config: { tokenUrl: 'https://x.example/t' }, env: NO_ENV }),
    );
    expect(error.code).toBe('network_error');
    expectNoSecret(error, [refreshToken]);
    expect(String(error.cause)).toContain('ECONNRESET');
  });

  it('a fetch that stalls and throws the body when aborted: timeout without it', async () => {
    const refreshToken = 'opaque-refresh-on-timeout';
    const stallingFetch: Fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new Error(`aborted while sending ${String(init.body)}`)));
      });
    const error = await flowError(
      refreshAccessToken({
        refreshToken,
        fetch: stallingFetch,
        timeoutMs: 50,
        config: { tokenUrl: 'https://x.example/t' },
        env: NO_ENV,
      }),
    );
    expect(error.code).toBe('timeout');
    expectNoSecret(error, [refreshToken]);
  });

  it('keeps an error body that echoes nothing as it is', async () => {
    const tokenUrl = await echoing(400, () => ({ error: 'invalid_grant', error_description: 'nothing echoed' }));
    const error = await flowError(
      refreshAccessToken({ refreshToken: 'opaque-refresh-value', config: { tokenUrl }, env: NO_ENV }),
    );
    expect(error.body).toEqual({ error: 'invalid_grant', error_description: 'nothing echoed' });
  });
});
