/**
 * Plan and usage in the library: `client.getProfile()` / `client.getUsage()` through the client's
 * token source, `fetchProfile` / `fetchUsage` with a bare token, the interpreters on plain
 * `Response`s, and the hostile answers (malformed, huge, wrong types, HTML pages, redirects, 5xx,
 * a server that never answers), all against the emulator or a real loopback server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  InternalServerError,
  PermissionDeniedError,
} from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AnthropicOAuth,
  DEFAULT_API_BASE_URL,
  describeApiError,
  fetchProfile,
  fetchUsage,
  OAuthFlowError,
  PROFILE_PATH,
  processProfileResponse,
  processUsageResponse,
  USAGE_PATH,
} from '../src/index.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { closedPort } from './helpers/cli-run.js';
import { snapshotEnv, tokenRequests, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let restoreEnv: () => void;

beforeEach(async () => {
  emu = await startEmulator({ usage: { extraUsage: { enabled: true, monthlyLimitCents: 5000, usedCents: 1234 } } });
  restoreEnv = snapshotEnv();
  for (const key of Object.keys(process.env)) if (key.startsWith('ANTHROPIC_')) delete process.env[key];
});

afterEach(async () => {
  restoreEnv();
  await emu.close();
});

function client(issued = emu.issueTokens(), options: ConstructorParameters<typeof AnthropicOAuth>[0] = {}) {
  return new AnthropicOAuth({
    baseURL: emu.url,
    oauthConfig: emu.oauthConfig,
    oauthTokens: tokensOf(issued),
    tokenStorage: null,
    ...options,
  });
}

const accountRequests = (path: string) => emu.requests.filter((r) => r.path === path);

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function invalidResponse(promise: Promise<unknown>, field?: RegExp): Promise<OAuthFlowError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(OAuthFlowError);
  expect((error as OAuthFlowError).code).toBe('invalid_response');
  if (field) expect((error as OAuthFlowError).message).toMatch(field);
  return error as OAuthFlowError;
}

describe('client.getProfile()', () => {
  it('returns the account, the organization and the plan, typed, with the raw answer', async () => {
    const profile = await client().getProfile();
    expect(profile.plan).toBe('max');
    expect(profile.account).toMatchObject({
      email: 'user@example.com',
      displayName: 'user',
      hasClaudeMax: true,
      hasClaudePro: false,
    });
    expect(profile.account.createdAt).toEqual(new Date('2025-03-14T09:26:53.589Z'));
    expect(profile.organization).toMatchObject({
      name: 'Example Org',
      organizationType: 'claude_max',
      rateLimitTier: 'default_claude_max_5x',
      billingType: 'stripe_subscription',
      hasExtraUsageEnabled: true,
      subscriptionStatus: 'active',
    });
    // Unknown keys stay in the raw answer.
    expect(profile.raw).toHaveProperty('enabled_plugins', []);
  });

  it('sends the bearer token, the OAuth beta and the user agent, on the client base URL', async () => {
    const issued = emu.issueTokens();
    await client(issued, { userAgent: 'my-app/1.0' }).getProfile();
    const [request] = accountRequests('/api/oauth/profile');
    expect(request?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
    expect(request?.headers['anthropic-beta']?.split(',')).toContain('oauth-2025-04-20');
    expect(request?.headers['user-agent']).toBe('my-app/1.0');
    expect(request?.headers['x-api-key']).toBeUndefined();
  });

  it.each([
    ['pro', 'pro'],
    ['team', 'team'],
    ['enterprise', 'enterprise'],
    ['max_20x', 'max'],
  ] as const)('maps the %s plan from organization_type', async (emulated, plan) => {
    emu.setPlan(emulated);
    const profile = await client().getProfile();
    expect(profile.plan).toBe(plan);
  });

  it('refreshes an expired token first, and saves nothing it should not', async () => {
    const issued = emu.issueTokens();
    const c = client(issued, { oauthTokens: tokensOf(issued, { expiresAt: Math.floor(Date.now() / 1000) - 10 }) });
    await c.getProfile();
    expect(emu.stats().refresh).toBe(1);
    expect(accountRequests('/api/oauth/profile')[0]?.headers.authorization).not.toBe(`Bearer ${issued.accessToken}`);
  });

  it('after a 401 refreshes once and retries once, as for any request', async () => {
    const c = client();
    emu.expireAccessTokens();
    const usage = await c.getUsage({ maxRetries: 0 });
    expect(usage.fiveHour?.utilization).toBe(37);
    expect(emu.stats().refresh).toBe(1);
    expect(accountRequests('/api/oauth/usage').map((r) => r.status)).toEqual([401, 200]);
  });

  it('throws the SDK error unchanged for a login without user:profile, which describeApiError explains', async () => {
    const error = await rejection(client(emu.issueTokens({ scope: 'user:inference' })).getProfile());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(describeApiError(error)).toMatchObject({ code: 'scope_missing', scope: 'user:profile', cause: error });
  });
});

describe('client.getUsage()', () => {
  it('returns every window with its percent and reset time as a Date, and the extra usage in cents', async () => {
    const before = Date.now();
    const usage = await client().getUsage();
    expect(usage.fiveHour?.utilization).toBe(37);
    expect(usage.fiveHour?.resetsAt).toBeInstanceOf(Date);
    const inSeconds = ((usage.fiveHour?.resetsAt?.getTime() ?? 0) - before) / 1000;
    expect(inSeconds).toBeGreaterThan(2 * 3600 + 14 * 60 - 5);
    expect(inSeconds).toBeLessThanOrEqual(2 * 3600 + 14 * 60);
    expect(usage.sevenDay?.utilization).toBe(12);
    expect(usage.sevenDaySonnet?.utilization).toBe(4);
    expect(usage.sevenDayOpus).toBeNull();
    expect(Object.keys(usage.windows)).toEqual(['five_hour', 'seven_day', 'seven_day_sonnet']);
    expect(usage.extraUsage).toMatchObject({
      isEnabled: true,
      monthlyLimit: 5000,
      usedCredits: 1234,
      utilization: 24.68,
      currency: 'USD',
    });
    // The unknown null keys the emulator sends stay in raw and fail nothing.
    expect(usage.raw).toHaveProperty('iguana_necktie', null);
  });

  it('follows what setUsage sets: a window at 0 % has no reset time, extra usage off', async () => {
    emu.setUsage({
      fiveHour: 0,
      sevenDayOpus: { utilization: 55, resetsInSeconds: 60 },
      extraUsage: { enabled: false },
    });
    const usage = await client().getUsage();
    expect(usage.fiveHour).toMatchObject({ utilization: 0, resetsAt: null });
    expect(usage.sevenDayOpus?.utilization).toBe(55);
    expect(usage.extraUsage).toMatchObject({ isEnabled: false, monthlyLimit: null, usedCredits: null });
  });
});

describe('fetchProfile() and fetchUsage() with a bare token', () => {
  it('send the token with the OAuth beta, to ANTHROPIC_BASE_URL by default', async () => {
    const { accessToken } = emu.issueTokens();
    const profile = await fetchProfile(accessToken, { env: { ANTHROPIC_BASE_URL: `${emu.url}/` } });
    expect(profile.account.email).toBe('user@example.com');
    const usage = await fetchUsage(accessToken, { baseURL: emu.url });
    expect(usage.sevenDay?.utilization).toBe(12);
    for (const request of [...accountRequests('/api/oauth/profile'), ...accountRequests('/api/oauth/usage')]) {
      expect(request.headers.authorization).toBe(`Bearer ${accessToken}`);
      expect(request.headers['anthropic-beta']).toBe('oauth-2025-04-20');
    }
    expect(tokenRequests(emu)).toEqual([]);
  });

  it('take a whole endpoint URL from the option or the environment, and refuse http off loopback', async () => {
    const { accessToken } = emu.issueTokens();
    const env = { ANTHROPIC_OAUTH_USAGE_URL: `${emu.url}/api/oauth/usage`, ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' };
    expect((await fetchUsage(accessToken, { env })).fiveHour?.utilization).toBe(37);
    const error = await rejection(fetchProfile(accessToken, { url: 'http://example.com/api/oauth/profile' }));
    expect(error).toMatchObject({ code: 'insecure_url' });
  });

  it('throw the SDK error for a 403 without the scope, with the real body', async () => {
    const { accessToken } = emu.issueTokens({ scope: 'user:inference' });
    const error = await rejection(fetchUsage(accessToken, { baseURL: emu.url }));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).apiMessage).toBe(
      'OAuth token does not meet scope requirement user:profile',
    );
    expect(describeApiError(error)?.code).toBe('scope_missing');
  });

  it('turn a refused connection into APIConnectionError', async () => {
    const error = await rejection(fetchUsage('tok', { baseURL: `http://127.0.0.1:${await closedPort()}` }));
    expect(error).toBeInstanceOf(APIConnectionError);
  });
});

describe('where the account endpoints are', () => {
  it('the constants are the documented URLs; a bare-token call goes to api.anthropic.com by default', async () => {
    expect([DEFAULT_API_BASE_URL, PROFILE_PATH, USAGE_PATH]).toEqual([
      'https://api.anthropic.com',
      '/api/oauth/profile',
      '/api/oauth/usage',
    ]);
    const seen: string[] = [];
    const recordingFetch = async (input: string | URL | Request) => {
      seen.push(String(input));
      return new Response('{"account":{"uuid":"a","email":"e@example.com"}}');
    };
    await fetchProfile('tok', { fetch: recordingFetch, env: {} });
    await fetchUsage('tok', { fetch: recordingFetch, env: {} }).catch(() => {});
    expect(seen).toEqual(['https://api.anthropic.com/api/oauth/profile', 'https://api.anthropic.com/api/oauth/usage']);
  });

  it('the client follows ANTHROPIC_BASE_URL (read by the SDK) and ANTHROPIC_OAUTH_USAGE_URL', async () => {
    process.env.ANTHROPIC_BASE_URL = emu.url;
    const c = new AnthropicOAuth({
      oauthConfig: emu.oauthConfig,
      oauthTokens: tokensOf(emu.issueTokens()),
      tokenStorage: null,
    });
    expect((await c.getProfile()).plan).toBe('max');
    process.env.ANTHROPIC_BASE_URL = 'http://127.0.0.1:1';
    process.env.ANTHROPIC_OAUTH_USAGE_URL = `${emu.url}/api/oauth/usage`;
    const other = new AnthropicOAuth({
      oauthConfig: emu.oauthConfig,
      oauthTokens: tokensOf(emu.issueTokens()),
      tokenStorage: null,
    });
    expect((await other.getUsage()).fiveHour?.utilization).toBe(37);
  });
});

describe('hostile answers', () => {
  const token = () => emu.issueTokens().accessToken;
  const usageOf = (accessToken = token()) => fetchUsage(accessToken, { baseURL: emu.url });
  const profileOf = (accessToken = token()) => fetchProfile(accessToken, { baseURL: emu.url });

  it('malformed JSON is invalid_response, for both endpoints and through the client', async () => {
    emu.faults.usageMalformed('{"five_hour": {"utilization": 3', 2);
    await invalidResponse(usageOf(), /did not answer with JSON/);
    await invalidResponse(client().getUsage());
    emu.faults.profileMalformed('[1, 2]');
    await invalidResponse(profileOf(), /not an object/);
  });

  it('an HTML page with 200 is invalid_response; an HTML 502 is the SDK error, not described', async () => {
    emu.faults.usageMalformed('<html><body>Bad gateway</body></html>', 1, 200, 'text/html');
    await invalidResponse(usageOf());
    emu.faults.usageMalformed('<html><body>Bad gateway</body></html>', 1, 502, 'text/html');
    const error = await rejection(usageOf());
    expect(error).toBeInstanceOf(InternalServerError);
    expect(describeApiError(error)).toBeNull();
  });

  it('a 5xx through the client is retried by the SDK, then thrown as its error', async () => {
    emu.faults.usageMalformed('{"type":"error","error":{"type":"api_error","message":"boom"}}', 3, 500);
    const error = await rejection(client().getUsage({ maxRetries: 1 }));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(accountRequests('/api/oauth/usage').length).toBe(2);
  });

  it('a 403 with another message is the SDK error and not scope_missing', async () => {
    emu.faults.usageMalformed(
      '{"type":"error","error":{"type":"permission_error","message":"Your organization has been disabled."}}',
      1,
      403,
    );
    const error = await rejection(usageOf());
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(describeApiError(error)).toBeNull();
  });

  it('a body over 1 MiB is invalid_response, not read to the end', async () => {
    emu.faults.usageMalformed(`{"pad":"${'x'.repeat(1100 * 1024)}"}`);
    await invalidResponse(usageOf(), /larger than 1 MiB/);
  });

  it.each([
    ['a string', '"42"'],
    ['negative', '-5'],
    ['an object', '{"value":1}'],
    ['huge', '1e400'],
  ])('a known window whose utilization is %s is invalid_response naming it', async (_, value) => {
    emu.faults.usageMalformed(`{"five_hour":{"utilization":${value},"resets_at":null}}`);
    await invalidResponse(usageOf(), /five_hour\.utilization/);
  });

  it('utilization null is kept as null; above 100 is kept (past the limit)', async () => {
    emu.faults.usageMalformed('{"five_hour":{"utilization":null,"resets_at":null},"seven_day":{"utilization":104.5}}');
    const usage = await usageOf();
    expect(usage.fiveHour).toMatchObject({ utilization: null, resetsAt: null });
    expect(usage.sevenDay?.utilization).toBe(104.5);
  });

  it.each(['tomorrow', '1', '2026-02-30T10:00:00Z', '2026-07-19T25:00:00+00:00', '2026-07-19'])(
    'resets_at %j is invalid_response',
    async (value) => {
      emu.faults.usageMalformed(JSON.stringify({ seven_day: { utilization: 1, resets_at: value } }));
      await invalidResponse(usageOf(), /seven_day\.resets_at/);
    },
  );

  it('reads the service time format with microseconds and an offset', async () => {
    emu.faults.usageMalformed(
      '{"five_hour":{"utilization":1,"resets_at":"2026-07-19T05:39:59.570750+02:00"},"seven_day":{"utilization":2,"resets_at":"2026-07-19T03:39:59Z"}}',
    );
    const usage = await usageOf();
    expect(usage.fiveHour?.resetsAt?.toISOString()).toBe('2026-07-19T03:39:59.570Z');
    expect(usage.sevenDay?.resetsAt?.toISOString()).toBe('2026-07-19T03:39:59.000Z');
  });

  it('unknown windows are listed when they read cleanly, skipped otherwise; other unknown keys never fail', async () => {
    emu.faults.usageMalformed(
      JSON.stringify({
        five_hour: { utilization: 10, resets_at: null },
        seven_day_cowork: { utilization: 50, resets_at: '2026-07-19T03:39:59.570750+00:00', limit_dollars: 5 },
        tangelo: { utilization: 'lots' },
        nimbus_quill: null,
        limits: [{ kind: 'session', percent: 10 }],
        spend: { used: { amount_minor: 10 } },
      }),
    );
    const usage = await usageOf();
    expect(Object.keys(usage.windows)).toEqual(['five_hour', 'seven_day_cowork']);
    expect(usage.windows.seven_day_cowork?.utilization).toBe(50);
    expect(usage.raw).toHaveProperty('limits');
  });

  it('extra_usage of the wrong shape is invalid_response; null limit means no limit', async () => {
    emu.faults.usageMalformed('{"extra_usage":{"is_enabled":"yes"}}');
    await invalidResponse(usageOf(), /extra_usage\.is_enabled/);
    emu.faults.usageMalformed('{"extra_usage":[]}');
    await invalidResponse(usageOf(), /extra_usage/);
    emu.faults.usageMalformed(
      '{"extra_usage":{"is_enabled":true,"monthly_limit":null,"used_credits":250,"utilization":null}}',
    );
    expect((await usageOf()).extraUsage).toMatchObject({ isEnabled: true, monthlyLimit: null, usedCredits: 250 });
  });

  it.each([
    ['no account', '{"organization":null}', /account/],
    ['account.email_address instead of email', '{"account":{"uuid":"a","email_address":"x@y"}}', /account\.email/],
    [
      'a number as organization name',
      '{"account":{"uuid":"a","email":"x@y"},"organization":{"uuid":"o","name":7}}',
      /organization\.name/,
    ],
    ['a string as has_claude_max', '{"account":{"uuid":"a","email":"x@y","has_claude_max":"true"}}', /has_claude_max/],
  ])('a profile with %s is invalid_response naming the field', async (_, body, field) => {
    emu.faults.profileMalformed(body);
    await invalidResponse(profileOf(), field);
  });

  it('a profile with no organization, or an unknown type, has no plan, and keeps escape sequences for the caller to strip', async () => {
    emu.faults.profileMalformed(
      '{"account":{"uuid":"a","email":"x@y"},"organization":{"uuid":"o","name":"Evil\\u001b[2J Org","organization_type":"claude_galaxy"}}',
    );
    const profile = await profileOf();
    expect(profile.plan).toBeNull();
    expect(profile.organization?.name).toBe('Evil\u001b[2J Org');
    emu.faults.profileMalformed('{"account":{"uuid":"a","email":"x@y","has_claude_pro":true}}');
    expect(await profileOf()).toMatchObject({ plan: 'pro', organization: null });
  });

  it('a redirect is never followed (the token would follow it)', async () => {
    emu.faults.usageMalformed('', 1, 302);
    await invalidResponse(usageOf(), /redirect/);
    expect(accountRequests('/api/oauth/usage').length).toBe(1);
  });
});

describe('timeouts', () => {
  let server: Server;
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });

  it('a server that sends headers and then stalls is APIConnectionTimeoutError, body included', async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"five_hour":');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const error = await rejection(fetchUsage('tok', { baseURL: base, timeoutMs: 300 }));
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
  });
});

describe('the interpreters on plain Responses', () => {
  it('processUsageResponse and processProfileResponse validate without a server', async () => {
    const usage = await processUsageResponse(
      new Response('{"five_hour":{"utilization":80,"resets_at":"2026-07-19T03:39:59.570750+00:00"}}', { status: 200 }),
    );
    expect(usage.fiveHour?.utilization).toBe(80);
    await expect(processProfileResponse(new Response('null'))).rejects.toMatchObject({ code: 'invalid_response' });
  });
});
