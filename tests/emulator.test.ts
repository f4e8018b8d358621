/**
 * The emulator over real HTTP on 127.0.0.1: OAuth pages, token endpoint, API, faults, lifecycle,
 * and the official SDK talking to it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Anthropic } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ID, DEFAULT_SCOPES, OAUTH_BETA } from '../src/constants.js';
import { type Emulator, type EmulatorOptions, startEmulator } from '../src/testing/index.js';

const LOOPBACK = 'http://localhost:54545/callback';
/** RFC 7636 Appendix B. */
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

let emu: Emulator | undefined;

afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  emu = await startEmulator(options);
  return emu;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

interface Login {
  url: string;
  verifier: string;
  state: string;
  redirectUri: string;
}

function login(e: Emulator, overrides: Record<string, string | null> = {}): Login {
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString('base64url');
  const params: Record<string, string | null> = {
    code: 'true',
    client_id: DEFAULT_CLIENT_ID,
    response_type: 'code',
    redirect_uri: LOOPBACK,
    scope: DEFAULT_SCOPES,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    ...overrides,
  };
  const url = new URL(e.authorizeUrl);
  for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
  return { url: url.href, verifier, state: params.state ?? '', redirectUri: params.redirect_uri ?? '' };
}

async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });
}

function exchange(e: Emulator, code: string, l: Login, overrides: Record<string, unknown> = {}): Promise<Response> {
  return postJson(e.tokenUrl, {
    grant_type: 'authorization_code',
    code,
    state: l.state,
    client_id: DEFAULT_CLIENT_ID,
    redirect_uri: l.redirectUri,
    code_verifier: l.verifier,
    ...overrides,
  });
}

function refresh(e: Emulator, refreshToken: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return postJson(e.tokenUrl, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: DEFAULT_CLIENT_ID,
    ...extra,
  });
}

/** Approve a fresh loopback login and return the code with the login it belongs to. */
async function approvedCode(e: Emulator): Promise<{ code: string; login: Login }> {
  const l = login(e);
  const target = new URL(await e.approve(l.url));
  return { code: target.searchParams.get('code') ?? '', login: l };
}

function message(
  e: Emulator,
  token: string | null,
  body: unknown = { model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'Hi there' }] },
  headers: Record<string, string> = { 'anthropic-beta': OAUTH_BETA },
): Promise<Response> {
  return postJson(`${e.url}/v1/messages?beta=true`, body, {
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startEmulator', () => {
  it('listens on 127.0.0.1 and derives every URL and the OAuth config from it', async () => {
    const e = await start();
    expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(e.authorizeUrl).toBe(`${e.url}/oauth/authorize`);
    expect(e.tokenUrl).toBe(`${e.url}/v1/oauth/token`);
    expect(e.manualRedirectUri).toBe(`${e.url}/oauth/code/callback`);
    expect(e.oauthConfig).toEqual({
      clientId: DEFAULT_CLIENT_ID,
      redirectUri: e.manualRedirectUri,
      tokenUrl: e.tokenUrl,
      authorizeUrl: e.authorizeUrl,
      scopes: DEFAULT_SCOPES,
    });
  });

  it('refuses negative ttls', async () => {
    await expect(startEmulator({ accessTokenTtl: -1 })).rejects.toThrow(RangeError);
  });
});

describe('authorize page', () => {
  it('renders a consent page with Approve and Deny and every parameter as a hidden input', async () => {
    const e = await start();
    const l = login(e);
    const res = await fetch(l.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<title>Authorize</title>');
    expect(html).toContain('<button name="decision" value="approve" id="approve">Approve</button>');
    expect(html).toContain('<button name="decision" value="deny" id="deny">Deny</button>');
    expect(html).toContain('<form method="post" action="/oauth/authorize">');
    expect(html).toContain(DEFAULT_CLIENT_ID);
    expect(html).toContain('user:inference');
    expect(html).toContain('user@example.com');
    for (const name of ['client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope']) {
      expect(html).toContain(`<input type="hidden" name="${name}"`);
    }
  });

  it('escapes what the query puts on the page', async () => {
    const e = await start();
    const res = await fetch(login(e, { scope: '<script>alert(1)</script>' }).url);
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });

  it.each([
    ['an unknown client id', { client_id: 'not-the-client' }, 'Unknown client_id'],
    ['a missing code_challenge', { code_challenge: null }, 'code_challenge is missing'],
    ['a short code_challenge', { code_challenge: 'abc' }, 'code_challenge must be 43'],
    ['the plain challenge method', { code_challenge_method: 'plain' }, 'S256'],
    ['a wrong response_type', { response_type: 'token' }, 'response_type'],
    ['a missing state', { state: null }, 'state is missing'],
    ['a non-loopback redirect_uri', { redirect_uri: 'https://evil.example/callback' }, 'not registered'],
    ['a loopback redirect_uri on another path', { redirect_uri: 'http://localhost:8080/other' }, 'not registered'],
    ['an https loopback redirect_uri', { redirect_uri: 'https://127.0.0.1:8080/callback' }, 'not registered'],
  ])('answers 400 (never a redirect) for %s', async (_, overrides, problem) => {
    const e = await start();
    const res = await fetch(login(e, overrides).url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain(problem);
  });

  it('accepts 127.0.0.1 loopback redirects and the manual redirect URI', async () => {
    const e = await start();
    expect((await fetch(login(e, { redirect_uri: 'http://127.0.0.1:1234/callback' }).url)).status).toBe(200);
    expect((await fetch(login(e, { redirect_uri: e.manualRedirectUri }).url)).status).toBe(200);
  });

  it('approve() posts the form and redirects to the loopback URI with code and state', async () => {
    const e = await start();
    const l = login(e);
    const target = new URL(await e.approve(l.url));
    expect(`${target.origin}${target.pathname}`).toBe(LOOPBACK);
    expect(target.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(target.searchParams.get('state')).toBe(l.state);
    expect(e.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'GET /oauth/authorize 200',
      'POST /oauth/authorize 302',
    ]);
  });

  it('a form POST by hand gets the same 302', async () => {
    const e = await start();
    const l = login(e);
    const form = new URLSearchParams(new URL(l.url).searchParams);
    form.set('decision', 'approve');
    const res = await fetch(e.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe(l.state);
    expect(location.searchParams.get('code')).toBeTruthy();
  });

  it('re-validates the posted form', async () => {
    const e = await start();
    const form = new URLSearchParams(new URL(login(e).url).searchParams);
    form.set('redirect_uri', 'https://evil.example/callback');
    form.set('decision', 'approve');
    const res = await fetch(e.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  it('the manual redirect lands on a page that shows CODE#STATE', async () => {
    const e = await start();
    const l = login(e, { redirect_uri: e.manualRedirectUri });
    const target = new URL(await e.approve(l.url));
    expect(`${target.origin}${target.pathname}`).toBe(e.manualRedirectUri);
    const code = target.searchParams.get('code') ?? '';
    const res = await fetch(target);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<code id="auth-code">${code}#${l.state}</code>`);
    expect(html.toLowerCase()).toContain('paste this into your terminal');
    // And the code it shows really exchanges.
    expect((await exchange(e, code, l)).status).toBe(200);
  });

  it('deny() redirects with error=access_denied and the state', async () => {
    const e = await start();
    const l = login(e);
    const target = new URL(await e.deny(l.url));
    expect(`${target.origin}${target.pathname}`).toBe(LOOPBACK);
    expect(target.searchParams.get('error')).toBe('access_denied');
    expect(target.searchParams.get('error_description')).toBeTruthy();
    expect(target.searchParams.get('state')).toBe(l.state);
    expect(target.searchParams.get('code')).toBeNull();
  });

  it('autoApprove redirects on GET', async () => {
    const e = await start({ autoApprove: true });
    const l = login(e);
    const res = await fetch(l.url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe(l.state);
    expect(new URL(await e.approve(login(e).url)).searchParams.get('code')).toBeTruthy();
  });

  it('approve() rejects a refused request and never visits a foreign URL', async () => {
    const e = await start();
    await expect(e.approve(login(e, { client_id: 'nope' }).url)).rejects.toThrow(/Unknown client_id/);
    await expect(e.approve('https://claude.ai/oauth/authorize?client_id=x')).rejects.toThrow(/not this emulator/);
    expect(e.requests).toHaveLength(1);
  });
});

describe('token endpoint: authorization_code', () => {
  it('exchanges a code for the documented token response', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    const res = await exchange(e, code, l);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      ['access_token', 'account', 'expires_in', 'organization', 'refresh_token', 'scope', 'token_type'].sort(),
    );
    expect(body.access_token).toMatch(/^sk-ant-oat01-[A-Za-z0-9_-]+$/);
    expect(body.refresh_token).toMatch(/^sk-ant-ort01-[A-Za-z0-9_-]+$/);
    expect(body.expires_in).toBe(28_800);
    expect(body.token_type).toBe('Bearer');
    expect(body.scope).toBe(DEFAULT_SCOPES);
    expect(body.organization).toEqual({ uuid: expect.any(String), name: 'Example Org' });
    expect(body.account).toEqual({ uuid: expect.any(String), email_address: 'user@example.com' });
    expect(e.stats().authorizationCode).toBe(1);
  });

  it('uses the configured identity, scopes and ttl', async () => {
    const e = await start({
      accessTokenTtl: 60,
      scopes: 'user:inference',
      account: { uuid: 'acc-1', emailAddress: 'ada@example.org' },
      organization: { uuid: 'org-1', name: 'Analytical' },
    });
    const { code, login: l } = await approvedCode(e);
    const body = (await (await exchange(e, code, l)).json()) as Record<string, unknown>;
    expect(body.expires_in).toBe(60);
    expect(body.scope).toBe('user:inference');
    expect(body.account).toEqual({ uuid: 'acc-1', email_address: 'ada@example.org' });
    expect(body.organization).toEqual({ uuid: 'org-1', name: 'Analytical' });
  });

  it('checks PKCE against the RFC 7636 Appendix B vector', async () => {
    const e = await start();
    const l = login(e, { code_challenge: RFC_CHALLENGE });
    const code = new URL(await e.approve(l.url)).searchParams.get('code') ?? '';
    const res = await exchange(e, code, { ...l, verifier: RFC_VERIFIER });
    expect(res.status).toBe(200);
  });

  async function expectInvalidGrant(res: Response, description: RegExp): Promise<void> {
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(description);
  }

  it('refuses a wrong code_verifier', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    await expectInvalidGrant(await exchange(e, code, l, { code_verifier: pkce().verifier }), /code_verifier/);
    expect(e.stats().invalidGrant).toBe(1);
  });

  it('refuses a redirect_uri that differs from the authorize request', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    await expectInvalidGrant(
      await exchange(e, code, l, { redirect_uri: 'http://127.0.0.1:54545/callback' }),
      /redirect_uri/,
    );
  });

  it('refuses a wrong state', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    await expectInvalidGrant(await exchange(e, code, l, { state: 'other' }), /state/);
  });

  it('refuses an unknown code', async () => {
    const e = await start();
    const { login: l } = await approvedCode(e);
    await expectInvalidGrant(await exchange(e, 'made-up', l), /Invalid authorization code/);
  });

  it('refuses a reused code and revokes the tokens the first exchange minted', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    const first = (await (await exchange(e, code, l)).json()) as { access_token: string; refresh_token: string };
    await expectInvalidGrant(await exchange(e, code, l), /already been used/);
    expect(e.isRefreshTokenLive(first.refresh_token)).toBe(false);
    expect((await message(e, first.access_token)).status).toBe(401);
  });

  it('burns a code on a failed attempt', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    await expectInvalidGrant(await exchange(e, code, l, { code_verifier: pkce().verifier }), /code_verifier/);
    await expectInvalidGrant(await exchange(e, code, l), /already been used/);
  });

  it('refuses an expired code', async () => {
    const e = await start({ codeTtl: 0.05 });
    const { code, login: l } = await approvedCode(e);
    await sleep(80);
    await expectInvalidGrant(await exchange(e, code, l), /expired/);
  });

  it('answers 401 invalid_client for an unknown client id', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    const res = await exchange(e, code, l, { client_id: 'someone-else' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as Record<string, unknown>).error).toBe('invalid_client');
    expect(e.stats().unauthorized).toBe(1);
  });

  it('answers invalid_request for a missing parameter', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    const res = await exchange(e, code, l, { code_verifier: undefined });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid_request', error_description: 'code_verifier is required' });
  });

  it('refuses form-encoded bodies', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    const res = await fetch(e.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        state: l.state,
        client_id: DEFAULT_CLIENT_ID,
        redirect_uri: l.redirectUri,
        code_verifier: l.verifier,
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, unknown>).error).toBe('invalid_request');
    expect(e.stats().authorizationCode).toBe(0);
  });

  it('refuses JSON that is not an object, and unknown grant types', async () => {
    const e = await start();
    const notObject = await postJson(e.tokenUrl, ['grant_type']);
    expect(notObject.status).toBe(400);
    expect(((await notObject.json()) as Record<string, unknown>).error).toBe('invalid_request');
    const broken = await fetch(e.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":',
    });
    expect(broken.status).toBe(400);
    const unsupported = await postJson(e.tokenUrl, { grant_type: 'client_credentials' });
    expect(unsupported.status).toBe(400);
    expect(((await unsupported.json()) as Record<string, unknown>).error).toBe('unsupported_grant_type');
  });

  it('caps request bodies at 1 MiB', async () => {
    const e = await start();
    const res = await postJson(e.tokenUrl, { grant_type: 'refresh_token', padding: 'x'.repeat(1024 * 1024) });
    expect(res.status).toBe(413);
  });
});

describe('token endpoint: refresh_token', () => {
  it('rotates: new tokens, the old refresh token is spent, the old access token lives on', async () => {
    const e = await start();
    const first = e.issueTokens();
    const res = await refresh(e, first.refreshToken);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; refresh_token: string; expires_in: number };
    expect(body.access_token).not.toBe(first.accessToken);
    expect(body.refresh_token).not.toBe(first.refreshToken);
    expect(body.expires_in).toBe(28_800);
    expect(e.isRefreshTokenLive(first.refreshToken)).toBe(false);
    expect(e.isRefreshTokenLive(body.refresh_token)).toBe(true);
    expect((await message(e, first.accessToken)).status).toBe(200);
    expect((await message(e, body.access_token)).status).toBe(200);
    expect(e.stats().refresh).toBe(1);
  });

  it('reusing a spent refresh token fails and revokes the whole family', async () => {
    const e = await start();
    const first = e.issueTokens();
    const second = (await (await refresh(e, first.refreshToken)).json()) as {
      access_token: string;
      refresh_token: string;
    };
    const reuse = await refresh(e, first.refreshToken);
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as Record<string, unknown>).error).toBe('invalid_grant');

    expect(e.isRefreshTokenLive(second.refresh_token)).toBe(false);
    const next = await refresh(e, second.refresh_token);
    expect(next.status).toBe(400);
    expect(((await next.json()) as Record<string, unknown>).error).toBe('invalid_grant');
    expect((await message(e, second.access_token)).status).toBe(401);
    expect((await message(e, first.accessToken)).status).toBe(401);
    expect(e.stats()).toMatchObject({ refresh: 1, invalidGrant: 2, unauthorized: 2 });
  });

  it('other families survive a revocation', async () => {
    const e = await start();
    const victim = e.issueTokens();
    const bystander = e.issueTokens();
    await refresh(e, victim.refreshToken);
    await refresh(e, victim.refreshToken);
    expect(e.isRefreshTokenLive(bystander.refreshToken)).toBe(true);
    expect((await message(e, bystander.accessToken)).status).toBe(200);
  });

  it('refuses scope with invalid_scope and leaves the token unspent', async () => {
    const e = await start();
    const tokens = e.issueTokens();
    const res = await refresh(e, tokens.refreshToken, { scope: DEFAULT_SCOPES });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, unknown>).error).toBe('invalid_scope');
    expect(e.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
  });

  it('refuses an unknown refresh token', async () => {
    const e = await start();
    const res = await refresh(e, 'sk-ant-ort01-unknown');
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, unknown>).error).toBe('invalid_grant');
  });
});

describe('messages API', () => {
  it('answers a well-formed message that echoes the prompt', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const res = await message(e, accessToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [{ type: 'text', text: 'Hello from the emulator. You said: Hi there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) },
    });
    expect(e.stats().messages).toBe(1);
  });

  it('logs the request with lower-cased headers, the bearer and the parsed body', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    await message(e, accessToken);
    const [entry] = e.requests;
    expect(entry).toMatchObject({
      method: 'POST',
      path: '/v1/messages',
      query: { beta: 'true' },
      status: 200,
      body: { model: 'claude-test', max_tokens: 64 },
    });
    expect(entry?.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(entry?.headers['anthropic-beta']).toBe(OAUTH_BETA);
    expect(entry?.time).toBeGreaterThan(0);
  });

  async function expectAuthError(res: Response): Promise<void> {
    expect(res.status).toBe(401);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('authentication_error');
    expect(body.error.message).toBeTruthy();
  }

  it('answers 401 without a bearer token', async () => {
    const e = await start();
    await expectAuthError(await message(e, null));
    expect(e.stats().unauthorized).toBe(1);
  });

  it('answers 401 to an unknown token', async () => {
    const e = await start();
    await expectAuthError(await message(e, 'sk-ant-oat01-made-up'));
  });

  it('answers 401 when x-api-key is sent, even with a live bearer', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    await expectAuthError(await message(e, accessToken, undefined, { 'anthropic-beta': OAUTH_BETA, 'x-api-key': 'k' }));
  });

  it('requires the OAuth beta, found anywhere in a comma list (without it: the real 401)', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const missing = await message(e, accessToken, undefined, { 'anthropic-beta': 'claude-code-20250219' });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'OAuth authentication is currently not supported.' },
    });
    expect((await message(e, accessToken, undefined, {})).status).toBe(401);
    const listed = await message(e, accessToken, undefined, {
      'anthropic-beta': `claude-code-20250219 , ${OAUTH_BETA} ,interleaved-thinking-2025-05-14`,
    });
    expect(listed.status).toBe(200);
  });

  it.each([
    ['no model', { max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }],
    ['no max_tokens', { model: 'm', messages: [{ role: 'user', content: 'x' }] }],
    ['empty messages', { model: 'm', max_tokens: 10, messages: [] }],
    ['an array body', [1, 2]],
  ])('answers 400 invalid_request_error for %s', async (_, body) => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const res = await message(e, accessToken, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    expect(e.stats().messages).toBe(0);
  });

  it('streams the real event sequence', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const res = await message(e, accessToken, {
      model: 'claude-test',
      max_tokens: 64,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Stream please' }] }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text())
      .split('\n\n')
      .filter((chunk) => chunk !== '')
      .map((chunk) => {
        const [eventLine, dataLine] = chunk.split('\n');
        expect(eventLine).toMatch(/^event: /);
        expect(dataLine).toMatch(/^data: /);
        const data = JSON.parse((dataLine ?? '').slice('data: '.length)) as { type: string; delta?: { text?: string } };
        expect(data.type).toBe((eventLine ?? '').slice('event: '.length));
        return data;
      });
    const names = events.map((event) => event.type);
    expect(names[0]).toBe('message_start');
    expect(names[1]).toBe('content_block_start');
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    const deltas = events.filter((event) => event.type === 'content_block_delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(names).toHaveLength(deltas.length + 5);
    expect(deltas.map((event) => event.delta?.text).join('')).toBe('Hello from the emulator. You said: Stream please');
  });

  it('an access token gets 401 once its ttl has passed', async () => {
    const e = await start({ accessTokenTtl: 0.2 });
    const { accessToken, expiresIn } = e.issueTokens();
    expect(expiresIn).toBe(0.2);
    expect((await message(e, accessToken)).status).toBe(200);
    await sleep(250);
    const res = await message(e, accessToken);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
  });

  it('issueTokens({ ttl: 0 }) mints an already-expired access token', async () => {
    const e = await start();
    const tokens = e.issueTokens({ ttl: 0 });
    expect(tokens.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect((await message(e, tokens.accessToken)).status).toBe(401);
    expect(e.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
  });

  it('issueTokens() reports expiresAt in epoch seconds', async () => {
    const e = await start();
    const now = Math.floor(Date.now() / 1000);
    const tokens = e.issueTokens();
    expect(tokens.expiresIn).toBe(28_800);
    expect(tokens.expiresAt).toBeGreaterThanOrEqual(now + 28_800 - 1);
    expect(tokens.expiresAt).toBeLessThanOrEqual(now + 28_801);
  });

  it('revokeAccessToken() revokes that token only', async () => {
    const e = await start();
    const a = e.issueTokens();
    const b = e.issueTokens();
    e.revokeAccessToken(a.accessToken);
    expect((await message(e, a.accessToken)).status).toBe(401);
    expect((await message(e, b.accessToken)).status).toBe(200);
  });

  it('expireAccessTokens() expires every access token but keeps refresh tokens', async () => {
    const e = await start();
    const a = e.issueTokens();
    e.expireAccessTokens();
    expect((await message(e, a.accessToken)).status).toBe(401);
    const res = await refresh(e, a.refreshToken);
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    expect((await message(e, access_token)).status).toBe(200);
  });

  it('lists models with the same auth rules and 404s anything else', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const headers = { authorization: `Bearer ${accessToken}`, 'anthropic-beta': OAUTH_BETA };
    const models = await fetch(`${e.url}/v1/models`, { headers });
    expect(models.status).toBe(200);
    const list = (await models.json()) as { data: Array<{ type: string; id: string }> };
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.data[0]?.type).toBe('model');
    expect((await fetch(`${e.url}/v1/models`)).status).toBe(401);
    const missing = await fetch(`${e.url}/v1/nothing`, { headers });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe('not_found_error');
  });
});

describe('tool use', () => {
  const WEATHER = {
    name: 'get_weather',
    description: 'The weather in a city',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string' }, days: { type: 'integer' } },
      required: ['city', 'days'],
    },
  };
  const TIME = { name: 'get_time', input_schema: { type: 'object', properties: {} } };
  const ask = (extra: Record<string, unknown> = {}, content: unknown = 'Weather in Paris?') => ({
    model: 'claude-test',
    max_tokens: 64,
    tools: [WEATHER, TIME],
    messages: [{ role: 'user', content }],
    ...extra,
  });

  function parseEvents(raw: string): Array<Record<string, unknown> & { type: string }> {
    return raw
      .split('\n\n')
      .filter((chunk) => chunk !== '')
      .map((chunk) => JSON.parse(chunk.split('\n')[1]?.slice('data: '.length) ?? '') as { type: string });
  }

  it('answers a user text message with one tool_use block for the first tool, input from its required strings', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const res = await message(e, accessToken, ask());
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: unknown[]; stop_reason: string; usage: { output_tokens: number } };
    expect(body.stop_reason).toBe('tool_use');
    expect(body.content).toEqual([
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_\w+$/),
        name: 'get_weather',
        input: { city: 'emulated city' },
      },
    ]);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(e.stats().messages).toBe(1);
  });

  it('follows tool_choice: a named tool, or none for text', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const named = (await (
      await message(e, accessToken, ask({ tool_choice: { type: 'tool', name: 'get_time' } }))
    ).json()) as {
      content: Array<{ name?: string; input?: unknown }>;
    };
    expect(named.content).toEqual([expect.objectContaining({ type: 'tool_use', name: 'get_time', input: {} })]);
    const none = (await (await message(e, accessToken, ask({ tool_choice: { type: 'none' } }))).json()) as {
      content: unknown[];
      stop_reason: string;
    };
    expect(none).toMatchObject({
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: 'Hello from the emulator. You said: Weather in Paris?' }],
    });
  });

  it('answers text after a tool_result, echoing the result', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const res = await message(e, accessToken, {
      ...ask(),
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny, 21 C' }] }],
        },
      ],
    });
    expect(await res.json()).toMatchObject({
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: 'Hello from the emulator. The tool said: Sunny, 21 C' }],
    });
  });

  it('answers text without tools, and refuses tools that are not a list', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const plain = (await (await message(e, accessToken, ask({ tools: [] }))).json()) as { stop_reason: string };
    expect(plain.stop_reason).toBe('end_turn');
    const bad = await message(e, accessToken, ask({ tools: { name: 'x' } }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('streams tool_use as content_block_start plus input_json_delta pieces', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const res = await message(e, accessToken, ask({ stream: true }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await res.text());
    expect(events.map((event) => event.type)).toEqual([
      'message_start',
      'content_block_start',
      ...Array<string>(events.length - 5).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1]).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: {} },
    });
    const pieces = events
      .filter((event) => event.type === 'content_block_delta')
      .map((event) => event.delta as { type: string; partial_json: string });
    expect(pieces.every((delta) => delta.type === 'input_json_delta')).toBe(true);
    expect(pieces[0]?.partial_json).toBe('');
    expect(pieces.length).toBeGreaterThan(2);
    expect(JSON.parse(pieces.map((delta) => delta.partial_json).join(''))).toEqual({ city: 'emulated city' });
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('round-trips with the official SDK, streaming and not', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const client = new Anthropic({
      authToken: accessToken,
      baseURL: e.url,
      defaultHeaders: { 'anthropic-beta': OAUTH_BETA },
      maxRetries: 0,
    });
    const tools = [WEATHER as Anthropic.Tool];
    const question = { role: 'user' as const, content: 'Weather in Paris?' };
    const streamed = await client.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 64, tools, messages: [question] })
      .finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    const call = streamed.content[0];
    expect(call).toEqual({
      type: 'tool_use',
      id: expect.stringMatching(/^toolu_/),
      name: 'get_weather',
      input: { city: 'emulated city' },
    });
    if (call?.type !== 'tool_use') throw new Error('expected tool_use');
    const answer = await client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 64,
      tools,
      messages: [
        question,
        { role: 'assistant', content: streamed.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Rain' }] },
      ],
    });
    expect(answer.stop_reason).toBe('end_turn');
    expect(answer.content).toEqual([{ type: 'text', text: 'Hello from the emulator. The tool said: Rain' }]);
  });
});

describe('faults', () => {
  it('tokenServerError answers 5xx the given number of times, then normally', async () => {
    const e = await start();
    const tokens = e.issueTokens();
    e.faults.tokenServerError(2);
    e.faults.tokenServerError(1, 503);
    for (const status of [500, 500, 503]) {
      const res = await refresh(e, tokens.refreshToken);
      expect(res.status).toBe(status);
      expect(((await res.json()) as Record<string, unknown>).error).toBe('server_error');
    }
    expect(e.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
    expect((await refresh(e, tokens.refreshToken)).status).toBe(200);
    expect(() => e.faults.tokenServerError(1, 404)).toThrow(RangeError);
  });

  it('tokenRateLimited answers 429 with Retry-After', async () => {
    const e = await start();
    const tokens = e.issueTokens();
    e.faults.tokenRateLimited(7);
    const limited = await refresh(e, tokens.refreshToken);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await limited.body?.cancel();
    expect((await refresh(e, tokens.refreshToken)).status).toBe(200);
  });

  it('tokenMalformed answers the exact raw body', async () => {
    const e = await start();
    e.faults.tokenMalformed('{"access_token":');
    e.faults.tokenMalformed('<html>bad gateway</html>', 1, 502);
    const first = await refresh(e, e.issueTokens().refreshToken);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(await first.text()).toBe('{"access_token":');
    const second = await refresh(e, e.issueTokens().refreshToken);
    expect(second.status).toBe(502);
    expect(await second.text()).toBe('<html>bad gateway</html>');
  });

  it('tokenHang never answers; the client times out, and the next call is normal', async () => {
    const e = await start();
    const tokens = e.issueTokens();
    e.faults.tokenHang();
    await expect(
      postJson(
        e.tokenUrl,
        { grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: DEFAULT_CLIENT_ID },
        { signal: AbortSignal.timeout(300) },
      ),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(e.requests[0]?.status).toBe(0);
    // The hung request was never processed: the refresh token is still live and works once.
    expect(e.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
    expect((await refresh(e, tokens.refreshToken)).status).toBe(200);
  });

  it('tokenResetAfterRequest processes the refresh, then drops the connection', async () => {
    const e = await start();
    const tokens = e.issueTokens();
    e.faults.tokenResetAfterRequest();
    await expect(refresh(e, tokens.refreshToken)).rejects.toThrow();
    expect(e.stats().refresh).toBe(1);
    expect(e.isRefreshTokenLive(tokens.refreshToken)).toBe(false);
    const retry = await refresh(e, tokens.refreshToken);
    expect(retry.status).toBe(400);
    expect(((await retry.json()) as Record<string, unknown>).error).toBe('invalid_grant');
  });

  it('faults apply to the token endpoint only', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    e.faults.tokenServerError();
    expect((await message(e, accessToken)).status).toBe(200);
    expect((await refresh(e, e.issueTokens().refreshToken)).status).toBe(500);
  });
});

describe('lifecycle and stats', () => {
  it('close() resolves with a hanging request and is idempotent', async () => {
    const e = await start();
    e.faults.tokenHang();
    const hung = refresh(e, e.issueTokens().refreshToken).catch((error: unknown) => error);
    while (e.requests.length === 0) await sleep(5);
    const closed = e.close();
    expect(e.close()).toBe(closed);
    await closed;
    expect(await hung).toBeInstanceOf(Error);
    await expect(fetch(`${e.url}/v1/models`)).rejects.toThrow();
  });

  it('stats() counts each kind of outcome', async () => {
    const e = await start();
    const { code, login: l } = await approvedCode(e);
    const tokens = (await (await exchange(e, code, l)).json()) as { access_token: string; refresh_token: string };
    await refresh(e, tokens.refresh_token);
    await refresh(e, 'sk-ant-ort01-nope');
    await message(e, tokens.access_token);
    await message(e, tokens.access_token);
    await message(e, null);
    expect(e.stats()).toEqual({ authorizationCode: 1, refresh: 1, invalidGrant: 1, messages: 2, unauthorized: 1 });
  });
});

describe('with the official SDK', () => {
  it('messages.create and messages.stream().finalMessage() work against the emulator', async () => {
    const e = await start();
    const { accessToken } = e.issueTokens();
    const client = new Anthropic({
      authToken: accessToken,
      baseURL: e.url,
      defaultHeaders: { 'anthropic-beta': OAUTH_BETA },
      maxRetries: 0,
    });
    const created = await client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 32,
      messages: [{ role: 'user', content: 'Hello SDK' }],
    });
    expect(created.content).toEqual([{ type: 'text', text: 'Hello from the emulator. You said: Hello SDK' }]);
    expect(created.model).toBe('claude-sonnet-4-6');

    const final = await client.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 32, messages: [{ role: 'user', content: 'Stream SDK' }] })
      .finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Hello from the emulator. You said: Stream SDK' }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(0);

    expect(e.requests.every((r) => r.headers.authorization === `Bearer ${accessToken}`)).toBe(true);
    expect(e.requests.every((r) => r.headers['x-api-key'] === undefined)).toBe(true);
    expect(e.stats().messages).toBe(2);
  });
});
