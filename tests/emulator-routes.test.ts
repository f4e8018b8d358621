/**
 * The emulator's endpoints as functions of (request, state) → reply, without a server: the route
 * table's dispatch (404, 405 in each endpoint's dialect), the Messages endpoint on an explicit
 * state object, and that routes share nothing but that object. Over-HTTP behaviour is
 * tests/emulator.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RouteRequest } from '../src/testing/http.js';
import { dispatch, findRoute, ROUTES } from '../src/testing/routes/index.js';
import { messagesEndpoint } from '../src/testing/routes/messages.js';
import { createState, type EmulatorState, setOrigin, settingsFrom } from '../src/testing/state.js';

const ORIGIN = 'http://127.0.0.1:9';
const BETA = 'oauth-2025-04-20';

function newState(): EmulatorState {
  const state = createState(settingsFrom({}));
  setOrigin(state, ORIGIN);
  return state;
}

function request(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): RouteRequest {
  const text = body === undefined ? '' : JSON.stringify(body);
  return {
    method,
    url: new URL(path, ORIGIN),
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: text,
    json: body === undefined ? undefined : { ok: true, value: body },
  };
}

const hi = { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user', content: 'Hi there' }] };

describe('the route table', () => {
  it('has one route per path, each with at least one method', () => {
    const paths = ROUTES.map((route) => route.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const route of ROUTES) expect(Object.keys(route.methods).length).toBeGreaterThan(0);
    expect(paths.sort()).toEqual(
      [
        '/oauth/authorize',
        '/oauth/code/callback',
        '/v1/messages',
        '/v1/models',
        '/v1/oauth/token',
        '/api/oauth/profile',
        '/api/oauth/usage',
        '/console/oauth/authorize',
        '/api/oauth/claude_cli/create_api_key',
        '/api/oauth/claude_cli/roles',
      ].sort(),
    );
    expect(findRoute('/v1/oauth/token')?.faults).toBe('token');
  });

  it('answers an unknown path 404 in the API dialect', () => {
    const reply = dispatch(request('GET', '/v1/nope'), newState());
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body)).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'Not found: GET /v1/nope' },
    });
    expect(reply.headers['request-id']).toMatch(/^req_emu/);
  });

  it('answers a wrong method 405 with Allow, in the endpoint dialect (RFC 6749 JSON at the token endpoint)', () => {
    const state = newState();
    const token = dispatch(request('GET', '/v1/oauth/token'), state);
    expect(token.status).toBe(405);
    expect(token.headers.allow).toBe('POST');
    expect(JSON.parse(token.body)).toEqual({ error: 'invalid_request', error_description: 'Use POST' });

    const page = dispatch(request('PUT', '/oauth/authorize'), state);
    expect(page.status).toBe(405);
    expect(page.headers.allow).toBe('GET, POST');
    expect(JSON.parse(page.body)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('does not take an inherited property for a method handler', () => {
    const reply = dispatch(request('constructor', '/v1/messages'), newState());
    expect(reply.status).toBe(405);
  });
});

describe('POST /v1/messages as a function of (request, state)', () => {
  it('answers a live token with a message, counting it in the state it was given', () => {
    const state = newState();
    const { accessToken } = state.ledger.issue(60_000);
    const reply = messagesEndpoint(
      request('POST', '/v1/messages', { authorization: `Bearer ${accessToken}`, 'anthropic-beta': BETA }, hi),
      state,
    );
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [{ type: 'text', text: 'Hello from the emulator. You said: Hi there' }],
      stop_reason: 'end_turn',
    });
    expect(state.stats.messages).toBe(1);
    // Another state knows nothing of this one's token or count.
    const other = newState();
    const refused = messagesEndpoint(
      request('POST', '/v1/messages', { authorization: `Bearer ${accessToken}`, 'anthropic-beta': BETA }, hi),
      other,
    );
    expect(refused.status).toBe(401);
    expect(other.stats.messages).toBe(0);
    expect(state.stats.messages).toBe(1);
  });

  it('refuses without the OAuth beta, and with an expired token, without counting a message', () => {
    const state = newState();
    const { accessToken } = state.ledger.issue(60_000);
    const noBeta = messagesEndpoint(
      request('POST', '/v1/messages', { authorization: `Bearer ${accessToken}` }, hi),
      state,
    );
    expect(noBeta.status).toBe(401);
    expect(JSON.parse(noBeta.body).error).toEqual({
      type: 'authentication_error',
      message: 'OAuth authentication is currently not supported.',
    });
    state.ledger.expireAll();
    const expired = messagesEndpoint(
      request('POST', '/v1/messages', { authorization: `Bearer ${accessToken}`, 'anthropic-beta': BETA }, hi),
      state,
    );
    expect(expired.status).toBe(401);
    expect(state.stats.messages).toBe(0);
  });

  it('streams the real event order in one reply', () => {
    const state = newState();
    const { accessToken } = state.ledger.issue(60_000);
    const reply = messagesEndpoint(
      request(
        'POST',
        '/v1/messages',
        { authorization: `Bearer ${accessToken}`, 'anthropic-beta': BETA },
        { ...hi, stream: true },
      ),
      state,
    );
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = [...reply.body.matchAll(/^event: (\S+)$/gm)].map((match) => match[1]);
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(events.filter((name) => name === 'content_block_delta').length).toBeGreaterThan(1);
  });
});
