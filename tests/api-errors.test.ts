/**
 * `describeApiError` / `describeApiResponse` / `parseRateLimitHeaders` on the errors and answers the
 * real SDK and `createOAuthFetch` produce against the emulator's subscription faults (the verbatim
 * bodies of 2026), its rate-limit headers and its 429 at a full window. The SDK's errors stay
 * thrown unchanged; the description is an aid on the side.
 */
import {
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AnthropicOAuth,
  createOAuthFetch,
  describeApiError,
  describeApiResponse,
  OAuthFlowError,
  parseRateLimitHeaders,
} from '../src/index.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { hello, messageRequests, snapshotEnv, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let restoreEnv: () => void;

beforeEach(async () => {
  emu = await startEmulator();
  restoreEnv = snapshotEnv();
  for (const key of Object.keys(process.env)) if (key.startsWith('ANTHROPIC_')) delete process.env[key];
});

afterEach(async () => {
  restoreEnv();
  await emu.close();
});

function client() {
  return new AnthropicOAuth({
    baseURL: emu.url,
    oauthConfig: emu.oauthConfig,
    oauthTokens: tokensOf(emu.issueTokens()),
    tokenStorage: null,
    maxRetries: 0,
  });
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function oauthFetch() {
  return createOAuthFetch({
    oauthTokens: tokensOf(emu.issueTokens()),
    oauthConfig: emu.oauthConfig,
    tokenStorage: null,
  });
}

const post = (f: ReturnType<typeof oauthFetch>) =>
  f(`${emu.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(hello),
  });

describe('the subscription errors, thrown by the SDK unchanged', () => {
  it('extra_usage_required: both wordings of "Third-party apps now draw from … extra usage"', async () => {
    emu.faults.messagesExtraUsageRequired();
    emu.faults.messagesExtraUsageRequired(1, 'organization');
    for (let i = 0; i < 2; i++) {
      const error = await thrown(client().messages.create(hello));
      expect(error).toBeInstanceOf(BadRequestError);
      const described = describeApiError(error);
      expect(described).toMatchObject({ code: 'extra_usage_required', status: 400, cause: error });
      expect(described?.serverMessage).toMatch(/^Third-party apps now draw from/);
      expect(described?.hint).toContain('claude.ai/settings/usage');
    }
  });

  it('extra_usage_exhausted: "You\'re out of extra usage"', async () => {
    emu.faults.messagesOutOfExtraUsage();
    const error = await thrown(client().messages.create(hello));
    expect(error).toBeInstanceOf(BadRequestError);
    expect(describeApiError(error)).toMatchObject({ code: 'extra_usage_exhausted' });
  });

  it('oauth_not_allowed: a credential only authorized for Claude Code', async () => {
    emu.faults.messagesClaudeCodeOnly();
    const error = await thrown(client().messages.create(hello));
    expect(describeApiError(error)).toMatchObject({ code: 'oauth_not_allowed', reason: 'claude_code_only' });
  });

  it('oauth_not_allowed: 401 "OAuth authentication is currently not supported." (after the one refresh and retry)', async () => {
    emu.faults.messagesOAuthNotSupported(2);
    const error = await thrown(client().messages.create(hello));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(describeApiError(error)).toMatchObject({ code: 'oauth_not_allowed', reason: 'beta_missing', status: 401 });
    expect(messageRequests(emu).length).toBe(2);
  });

  it('rate_limited: the window and the reset time come from the unified headers', async () => {
    emu.faults.messagesRateLimited(1, { window: 'seven_day', resetsInSeconds: 7200 });
    const error = await thrown(client().messages.create(hello));
    expect(error).toBeInstanceOf(RateLimitError);
    const described = describeApiError(error);
    expect(described).toMatchObject({ code: 'rate_limited', window: 'seven_day' });
    expect(described?.message).toBe('The weekly limit of this subscription is reached.');
    const inSeconds = ((described?.resetsAt?.getTime() ?? 0) - Date.now()) / 1000;
    expect(inSeconds).toBeGreaterThan(7200 - 5);
    expect(inSeconds).toBeLessThanOrEqual(7200);
    expect(described?.rateLimit).toMatchObject({
      status: 'rejected',
      overageDisabledReason: 'overage_not_provisioned',
    });
  });

  it('rate_limited: the window reset wins over a shorter Retry-After when the headers name a window', () => {
    const reset = Math.floor(Date.now() / 1000) + 7200;
    const error = new RateLimitError(
      429,
      { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limited' } },
      undefined,
      new Headers({
        'retry-after': '30',
        'anthropic-ratelimit-unified-status': 'rejected',
        'anthropic-ratelimit-unified-representative-claim': 'five_hour',
        'anthropic-ratelimit-unified-reset': String(reset),
      }),
    );
    const described = describeApiError(error);
    expect(described?.resetsAt?.getTime()).toBe(reset * 1000);
    expect(described?.window).toBe('five_hour');
  });

  it('rate_limited at a full 5-hour window: the emulator answers the real 429 until extra usage takes over', async () => {
    emu.setUsage({ fiveHour: { utilization: 100, resetsInSeconds: 600 } });
    const error = await thrown(client().messages.create(hello));
    expect(describeApiError(error)).toMatchObject({ code: 'rate_limited', window: 'five_hour' });
    emu.setUsage({ extraUsage: { enabled: true, monthlyLimitCents: 1000, usedCents: 10 } });
    const { response } = await client().messages.create(hello).withResponse();
    expect(parseRateLimitHeaders(response.headers)).toMatchObject({
      status: 'rejected',
      representativeClaim: 'five_hour',
      overageStatus: 'allowed',
      usingExtraUsage: true,
    });
  });

  it('scope_missing and token_revoked, from their real bodies', async () => {
    const noScope = new AnthropicOAuth({
      baseURL: emu.url,
      oauthConfig: emu.oauthConfig,
      oauthTokens: tokensOf(emu.issueTokens({ scope: 'user:inference' })),
      tokenStorage: null,
    });
    const error = await thrown(noScope.getUsage());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(describeApiError(error)).toMatchObject({ code: 'scope_missing', scope: 'user:profile' });
    const revoked = new PermissionDeniedError(
      403,
      {
        type: 'error',
        error: { type: 'permission_error', message: 'OAuth token has been revoked. Please obtain a new token.' },
      },
      undefined,
      new Headers(),
    );
    const described = describeApiError(revoked);
    expect(described?.code).toBe('token_revoked');
    // Either kind of login may have sent it: the hint names what makes each again.
    expect(described?.hint).toContain('npx anthropic-oauth login');
    expect(described?.hint).toContain('npx anthropic-oauth setup-token --save');
  });
});

describe('what is not described', () => {
  it('5xx, HTML pages, other 4xx, plain errors and non-errors give null', async () => {
    const server = new InternalServerError(
      503,
      { type: 'error', error: { type: 'overloaded_error', message: 'out of extra usage' } },
      undefined,
      new Headers(),
    );
    expect(describeApiError(server)).toBeNull();
    const html = new PermissionDeniedError(403, undefined, '<html>Forbidden</html>', new Headers());
    expect(describeApiError(html)).toBeNull();
    const other = new BadRequestError(
      400,
      { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } },
      undefined,
      new Headers(),
    );
    expect(describeApiError(other)).toBeNull();
    for (const value of [new Error('boom'), 'text', undefined, null, { status: 400 }]) {
      expect(describeApiError(value)).toBeNull();
    }
    expect(describeApiError(new OAuthFlowError('invalid_grant', 'x'))).toBeNull();
  });

  it('matches phrases, not sentences: a reworded message still matches, a lookalike status does not', () => {
    const error = (status: number, message: string) =>
      new BadRequestError(
        status as 400,
        { type: 'error', error: { type: 'invalid_request_error', message } },
        undefined,
        new Headers(),
      );
    expect(describeApiError(error(400, 'Heads up: third-party apps draw from EXTRA USAGE from today.'))?.code).toBe(
      'extra_usage_required',
    );
    expect(describeApiError(error(500, "You're out of extra usage."))).toBeNull();
  });

  it('a Response is refused with a pointer to describeApiResponse', () => {
    expect(() => describeApiError(new Response('{}', { status: 400 }))).toThrow(/describeApiResponse/);
  });
});

describe('describeApiResponse() on createOAuthFetch answers', () => {
  it('describes a subscription error and leaves the body readable', async () => {
    emu.faults.messagesOutOfExtraUsage();
    const response = await post(oauthFetch());
    const described = await describeApiResponse(response);
    expect(described).toMatchObject({ code: 'extra_usage_exhausted', status: 400, cause: response });
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/out of extra usage/);
  });

  it('a 429 with only Retry-After gets its reset time from it', async () => {
    const response = new Response('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', {
      status: 429,
      headers: { 'retry-after': '120' },
    });
    const described = await describeApiResponse(response);
    expect(described).toMatchObject({ code: 'rate_limited', window: null });
    expect(((described?.resetsAt?.getTime() ?? 0) - Date.now()) / 1000).toBeGreaterThan(115);
  });

  it('a Retry-After too far for any Date is no reset time, not an Invalid Date', async () => {
    const response = new Response('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', {
      status: 429,
      headers: { 'retry-after': '99999999999999' },
    });
    const described = await describeApiResponse(response);
    expect(described).toMatchObject({ code: 'rate_limited', resetsAt: null });
  });

  it('a success, or a body already read, is handled without throwing', async () => {
    const ok = await post(oauthFetch());
    expect(await describeApiResponse(ok)).toBeNull();
    const used = new Response('{"type":"error","error":{"type":"rate_limit_error","message":"x"}}', { status: 429 });
    await used.text();
    expect((await describeApiResponse(used))?.code).toBe('rate_limited');
  });
});

describe('parseRateLimitHeaders()', () => {
  it('reads the headers of every /v1/messages answer: 0-1 fractions as percent, epoch-second resets', async () => {
    emu.setUsage({ fiveHour: { utilization: 85, resetsInSeconds: 3600 }, sevenDay: 40 });
    const before = Date.now();
    const { response } = await client().messages.create(hello).withResponse();
    const after = Date.now();
    const info = parseRateLimitHeaders(response.headers);
    expect(info).toMatchObject({
      status: 'allowed_warning',
      representativeClaim: 'five_hour',
      overageStatus: 'rejected',
      overageDisabledReason: 'overage_not_provisioned',
      usingExtraUsage: false,
    });
    expect(info?.fiveHour?.utilization).toBeCloseTo(85);
    expect(info?.sevenDay?.utilization).toBeCloseTo(40);
    // An hour after the answer (whole seconds on the wire), however long the answer took.
    const resetsAt = info?.fiveHour?.resetsAt?.getTime() ?? 0;
    expect(resetsAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(resetsAt).toBeLessThanOrEqual(after + 3600_000 + 1000);
  });

  it('streams carry them too; an answer without them gives null; junk values give null fields', async () => {
    const stream = await client()
      .messages.create({ ...hello, stream: true })
      .withResponse();
    expect(parseRateLimitHeaders(stream.response.headers)?.representativeClaim).toBe('five_hour');
    for await (const _ of stream.data) {
      // drain
    }
    expect(parseRateLimitHeaders(new Headers({ 'content-type': 'application/json' }))).toBeNull();
    const junk = parseRateLimitHeaders(
      new Headers({
        'anthropic-ratelimit-unified-reset': 'soon',
        'anthropic-ratelimit-unified-5h-utilization': 'half',
        'anthropic-ratelimit-unified-7d-reset': '2026-09-17T09:13:32Z',
      }),
    );
    expect(junk).toMatchObject({ resetsAt: null, fiveHour: null, sevenDay: { utilization: null } });
    expect(junk?.sevenDay?.resetsAt?.toISOString()).toBe('2026-09-17T09:13:32.000Z');
  });
});

describe('the token endpoint', () => {
  it('an OAuthFlowError rate_limited is rate_limited with its Retry-After', () => {
    const error = new OAuthFlowError('rate_limited', 'slow', { status: 429, retryAfter: 30 });
    const described = describeApiError(error);
    expect(described).toMatchObject({ code: 'rate_limited', status: 429, cause: error });
    expect(((described?.resetsAt?.getTime() ?? 0) - Date.now()) / 1000).toBeGreaterThan(25);
  });
});
