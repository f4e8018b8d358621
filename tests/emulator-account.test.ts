/**
 * The emulator's account side over real HTTP: `/api/oauth/profile` and `/api/oauth/usage` (the
 * `plan`/`usage` options, `setPlan`/`setUsage`, the 403 for a login without `user:profile`), the
 * `anthropic-ratelimit-unified-*` headers and the 429 of `/v1/messages`, and the subscription
 * faults with their verbatim bodies. Raw `fetch` here: the library's view is tests/account.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptions, startEmulator } from '../src/testing/index.js';

const BETA = 'oauth-2025-04-20';
let emu: Emulator | undefined;

afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(options: EmulatorOptions = {}): Promise<Emulator> {
  emu = await startEmulator(options);
  return emu;
}

function get(e: Emulator, path: string, token: string, beta: string | null = BETA): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (beta !== null) headers['anthropic-beta'] = beta;
  return fetch(`${e.url}${path}`, { headers });
}

function message(e: Emulator, token: string): Promise<Response> {
  return fetch(`${e.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'anthropic-beta': BETA, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

describe('GET /api/oauth/profile', () => {
  it('describes the account (email, not email_address) and the organization with the default max plan', async () => {
    const e = await start();
    const response = await get(e, '/api/oauth/profile', e.issueTokens().accessToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, Record<string, unknown>>;
    expect(body.account).toMatchObject({
      uuid: '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
      email: 'user@example.com',
      has_claude_max: true,
      has_claude_pro: false,
    });
    expect(body.account).not.toHaveProperty('email_address');
    expect(body.organization).toMatchObject({
      name: 'Example Org',
      organization_type: 'claude_max',
      rate_limit_tier: 'default_claude_max_5x',
      billing_type: 'stripe_subscription',
      has_extra_usage_enabled: false,
      subscription_status: 'active',
    });
  });

  it('follows the plan option and setPlan, and the account and organization options', async () => {
    const e = await start({
      plan: 'pro',
      account: { uuid: 'acc', emailAddress: 'pro@example.com' },
      organization: { uuid: 'org', name: 'Pro Org' },
    });
    const token = e.issueTokens().accessToken;
    const pro = (await (await get(e, '/api/oauth/profile', token)).json()) as Record<string, Record<string, unknown>>;
    expect(pro.account).toMatchObject({ email: 'pro@example.com', has_claude_pro: true });
    expect(pro.organization).toMatchObject({ uuid: 'org', name: 'Pro Org', organization_type: 'claude_pro' });
    e.setPlan('enterprise');
    const ent = (await (await get(e, '/api/oauth/profile', token)).json()) as Record<string, Record<string, unknown>>;
    expect(ent.organization?.organization_type).toBe('claude_enterprise');
    expect(() => e.setPlan('gold' as 'pro')).toThrow(RangeError);
  });

  it('does not insist on the OAuth beta (Claude Code sends none here), but on a live token', async () => {
    const e = await start();
    expect((await get(e, '/api/oauth/profile', e.issueTokens().accessToken, null)).status).toBe(200);
    const bad = await get(e, '/api/oauth/profile', 'sk-ant-oat01-unknown');
    expect(bad.status).toBe(401);
    expect(e.stats().unauthorized).toBe(1);
  });
});

describe('the user:profile scope', () => {
  it('a login without it gets the real 403 on both endpoints; scopes: sets it for every login', async () => {
    const e = await start({ scopes: 'user:inference' });
    for (const path of ['/api/oauth/profile', '/api/oauth/usage']) {
      const response = await get(e, path, e.issueTokens().accessToken);
      expect(response.status).toBe(403);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({
        type: 'error',
        error: {
          type: 'permission_error',
          message: 'OAuth token does not meet scope requirement user:profile',
          details: { error_visibility: 'user_facing' },
        },
        request_id: response.headers.get('request-id'),
      });
    }
    expect((await get(e, '/api/oauth/usage', e.issueTokens({ scope: 'user:profile' }).accessToken)).status).toBe(200);
  });

  it('a refreshed token keeps the scope of its login', async () => {
    const e = await start();
    const issued = e.issueTokens({ scope: 'user:inference' });
    const refreshed = await fetch(e.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: issued.refreshToken,
        client_id: e.oauthConfig.clientId,
      }),
    });
    const { access_token } = (await refreshed.json()) as { access_token: string };
    expect((await get(e, '/api/oauth/usage', access_token)).status).toBe(403);
  });
});

describe('GET /api/oauth/usage', () => {
  it('reports the default windows (percent, ISO with microseconds), unknown keys as null, extra usage off', async () => {
    const e = await start();
    const before = Date.now();
    const response = await get(e, '/api/oauth/usage', e.issueTokens().accessToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, { utilization: number; resets_at: string } | null>;
    expect(body.five_hour?.utilization).toBe(37);
    expect(body.five_hour?.resets_at).toMatch(ISO_MICROS);
    const inSeconds = (Date.parse(body.five_hour?.resets_at ?? '') - before) / 1000;
    expect(Math.round(inSeconds)).toBe(2 * 3600 + 14 * 60);
    expect(body.seven_day?.utilization).toBe(12);
    expect(body.seven_day_sonnet?.utilization).toBe(4);
    expect(body.seven_day_opus).toBeNull();
    expect(body).toHaveProperty('iguana_necktie', null);
    expect(body.extra_usage).toEqual({ is_enabled: false, monthly_limit: null, used_credits: null, utilization: null });
  });

  it('requires the OAuth beta (without it: the real 401)', async () => {
    const e = await start();
    const response = await get(e, '/api/oauth/usage', e.issueTokens().accessToken, null);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      'OAuth authentication is currently not supported.',
    );
  });

  it('follows the usage option and setUsage (merged); extra usage in cents, a 0 % window has no reset', async () => {
    const e = await start({
      usage: {
        fiveHour: 0,
        sevenDay: { utilization: 91.5, resetsInSeconds: 60 },
        extraUsage: { enabled: true, monthlyLimitCents: 2000, usedCents: 500 },
      },
    });
    const token = e.issueTokens().accessToken;
    const body = (await (await get(e, '/api/oauth/usage', token)).json()) as Record<string, Record<string, unknown>>;
    expect(body.five_hour).toEqual({ utilization: 0, resets_at: null });
    expect(body.seven_day?.utilization).toBe(91.5);
    expect(body.extra_usage).toEqual({
      is_enabled: true,
      monthly_limit: 2000,
      used_credits: 500,
      utilization: 25,
      currency: 'USD',
      decimal_places: 2,
    });
    e.setUsage({ sevenDaySonnet: null, extraUsage: { enabled: true, monthlyLimitCents: null, usedCents: 7 } });
    const next = (await (await get(e, '/api/oauth/usage', token)).json()) as Record<string, Record<string, unknown>>;
    expect(next.seven_day?.utilization).toBe(91.5);
    expect(next.seven_day_sonnet).toBeNull();
    expect(next.extra_usage).toMatchObject({ monthly_limit: null, used_credits: 7, utilization: null });
  });

  it('refuses bad numbers with a RangeError naming the option, and a bad setUsage changes nothing', async () => {
    await expect(startEmulator({ usage: { fiveHour: -1 } })).rejects.toThrow(/usage\.fiveHour/);
    await expect(startEmulator({ usage: { extraUsage: { enabled: true, usedCents: 1.5 } } })).rejects.toThrow(
      RangeError,
    );
    await expect(startEmulator({ plan: 'gold' as 'pro' })).rejects.toThrow(/plan must be one of/);
    const e = await start();
    expect(() => e.setUsage({ fiveHour: 50, sevenDay: Number.NaN })).toThrow(/usage\.sevenDay/);
    const body = (await (await get(e, '/api/oauth/usage', e.issueTokens().accessToken)).json()) as Record<
      string,
      Record<string, unknown>
    >;
    expect(body.five_hour?.utilization).toBe(37);
  });
});

describe('rate-limit headers and the limit on /v1/messages', () => {
  it('every answer carries the unified headers: 0-1 fractions, epoch-second resets, the fullest window', async () => {
    const e = await start({ usage: { fiveHour: 20, sevenDay: { utilization: 50, resetsInSeconds: 1000 } } });
    const before = Math.floor(Date.now() / 1000);
    const response = await message(e, e.issueTokens().accessToken);
    expect(response.status).toBe(200);
    const h = (name: string) => response.headers.get(`anthropic-ratelimit-unified-${name}`);
    expect(h('status')).toBe('allowed');
    expect(h('representative-claim')).toBe('seven_day');
    expect(Number(h('reset')) - before).toBeGreaterThanOrEqual(999);
    expect(Number(h('reset')) - before).toBeLessThanOrEqual(1001);
    expect(h('5h-utilization')).toBe('0.2');
    expect(h('7d-utilization')).toBe('0.5');
    expect(h('5h-status')).toBe('allowed');
    expect(h('overage-status')).toBe('rejected');
    expect(h('overage-disabled-reason')).toBe('overage_not_provisioned');
  });

  it('at 100 % answers the real 429 with Retry-After; extra usage takes over, until it is spent', async () => {
    const e = await start({ usage: { fiveHour: { utilization: 100, resetsInSeconds: 300 } } });
    const token = e.issueTokens().accessToken;
    const limited = await message(e, token);
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: unknown }).error).toEqual({
      type: 'rate_limit_error',
      message: "This request would exceed your account's rate limit. Please try again later.",
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(290);
    expect(limited.headers.get('anthropic-ratelimit-unified-status')).toBe('rejected');
    expect(e.stats().messages).toBe(0);

    e.setUsage({ extraUsage: { enabled: true, monthlyLimitCents: 1000, usedCents: 999 } });
    const overage = await message(e, token);
    expect(overage.status).toBe(200);
    expect(overage.headers.get('anthropic-ratelimit-unified-overage-status')).toBe('allowed');

    e.setUsage({ extraUsage: { enabled: true, monthlyLimitCents: 1000, usedCents: 1000 } });
    const spent = await message(e, token);
    expect(spent.status).toBe(429);
    expect(spent.headers.get('anthropic-ratelimit-unified-overage-disabled-reason')).toBe('out_of_credits');
  });
});

describe('subscription faults on /v1/messages', () => {
  const cases = [
    [
      'messagesExtraUsageRequired',
      400,
      'invalid_request_error',
      "Third-party apps now draw from your extra usage, not your plan limits. We've added a $20 credit to get you started. Claim it at claude.ai/settings/usage and keep going.",
    ],
    [
      'messagesOutOfExtraUsage',
      400,
      'invalid_request_error',
      "You're out of extra usage. Add more at claude.ai/settings/usage and keep going.",
    ],
    [
      'messagesClaudeCodeOnly',
      400,
      'invalid_request_error',
      'This credential is only authorized for use with Claude Code and cannot be used for other API requests.',
    ],
    ['messagesOAuthNotSupported', 401, 'authentication_error', 'OAuth authentication is currently not supported.'],
  ] as const;

  it.each(cases)('%s answers %i with the verbatim body, once per count', async (fault, status, type, text) => {
    const e = await start();
    const token = e.issueTokens().accessToken;
    e.faults[fault](2);
    for (let i = 0; i < 2; i++) {
      const response = await message(e, token);
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ type: 'error', error: { type, message: text } });
      expect(response.headers.get('request-id')).toMatch(/^req_emu/);
    }
    expect((await message(e, token)).status).toBe(200);
  });

  it('messagesExtraUsageRequired has the organization wording', async () => {
    const e = await start();
    e.faults.messagesExtraUsageRequired(1, 'organization');
    const body = (await (await message(e, e.issueTokens().accessToken)).json()) as { error: { message: string } };
    expect(body.error.message).toBe(
      "Third-party apps now draw from extra usage, not plan limits. We've added a credit to your organization to get you started. Ask your workspace admin to claim it and keep going.",
    );
  });

  it('messagesRateLimited sends the unified headers for the window, and Retry-After', async () => {
    const e = await start();
    e.faults.messagesRateLimited(1, { window: 'seven_day_opus', resetsInSeconds: 90 });
    const before = Date.now() / 1000;
    const response = await message(e, e.issueTokens().accessToken);
    const after = Date.now() / 1000;
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('90');
    expect(response.headers.get('anthropic-ratelimit-unified-representative-claim')).toBe('seven_day_opus');
    const reset = Number(response.headers.get('anthropic-ratelimit-unified-reset'));
    // 90 s after the answer (whole seconds), however long the answer took.
    expect(reset).toBeGreaterThanOrEqual(Math.floor(before + 90) - 1);
    expect(reset).toBeLessThanOrEqual(Math.ceil(after + 90) + 1);
  });

  it('profileMalformed and usageMalformed answer the raw body with the status and type given', async () => {
    const e = await start();
    const token = e.issueTokens().accessToken;
    e.faults.usageMalformed('<h1>502</h1>', 1, 502, 'text/html');
    const html = await get(e, '/api/oauth/usage', token);
    expect([html.status, html.headers.get('content-type'), await html.text()]).toEqual([
      502,
      'text/html',
      '<h1>502</h1>',
    ]);
    e.faults.profileMalformed('{');
    expect(await (await get(e, '/api/oauth/profile', token)).text()).toBe('{');
    expect(() => e.faults.usageMalformed('x', 1, 99)).toThrow(RangeError);
  });
});
