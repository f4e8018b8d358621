/**
 * `anthropic-oauth usage`, the plan in `status`, and API errors explained, run as the built CLI in
 * a temporary HOME against the emulator (the screen read as a user sees it); colours checked
 * in-process, where stdout can be a terminal.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { TokenStorage } from '../src/store/file.js';
import { type Emulator, type EmulatorOptions, type IssuedTokens, startEmulator } from '../src/testing/index.js';
import type { OAuthTokens } from '../src/types.js';
import { type CliEnv, cliEnv, leakedIn, loginByPaste, runCli, tokenFileIn } from './helpers/cli-run.js';
import { makeTempDir, nowSeconds, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let env: CliEnv;

const EXTRA = { enabled: true, monthlyLimitCents: 5000, usedCents: 1234 };

async function setUp(options: EmulatorOptions = {}): Promise<void> {
  emu = await startEmulator(options);
  env = cliEnv(temp.dir, emu);
}

beforeEach(async () => {
  temp = await makeTempDir('anthropic-oauth-cli-usage-');
});

afterEach(async () => {
  await emu?.close();
  await temp.cleanup();
});

async function logIn(issued: IssuedTokens = emu.issueTokens(), overrides: Partial<OAuthTokens> = {}) {
  const tokens = tokensOf(issued, {
    scope: 'org:create_api_key user:profile user:inference',
    account: { uuid: 'acc-1', emailAddress: 'user@example.com' },
    organization: { uuid: 'org-1', name: 'Example Org' },
    ...overrides,
  });
  await new TokenStorage(tokenFileIn(temp.dir)).save(tokens);
  return tokens;
}

/** A duration as `usage` prints it, one second either side (the screen is read a moment later). */
const around = (seconds: number): string => {
  const options = [seconds, seconds - 1, seconds - 2].map((s) => {
    const d = Math.floor(s / 86_400);
    const h = Math.floor((s % 86_400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    return d > 0 ? `${d}d ${h}h` : `${h}h ${m}m`;
  });
  return `(${[...new Set(options)].join('|')})`;
};

describe('usage', () => {
  it('shows each window as a labelled bar with percent used and time to reset, and the extra usage', async () => {
    await setUp({ usage: { extraUsage: EXTRA } });
    const tokens = await logIn();
    const result = await runCli(['usage'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('Usage of user@example.com (Example Org)');
    expect(lines[1]).toBe('');
    expect(lines[2]).toMatch(new RegExp(`^ {2}5-hour {10}\\[█{7}░{13}\\]  37% used   resets in ${around(8040)}$`));
    expect(lines[3]).toMatch(new RegExp(`^ {2}Weekly {10}\\[█{2}░{18}\\]  12% used   resets in ${around(273_600)}$`));
    expect(lines[4]).toMatch(/^ {2}Weekly Sonnet {3}\[█░{19}\] {3}4% used {3}resets in 3d [34]h$/);
    expect(lines[5]).toBe('  Extra usage     [█████░░░░░░░░░░░░░░░]  25% used   $12.34 of $50.00 this month');
    expect(lines.slice(6)).toEqual(['']);
    // Not a terminal: no escape sequences at all.
    expect(result.stdout).not.toContain('\u001b');
    expect(leakedIn(result.stdout, [tokens.accessToken, tokens.refreshToken])).toEqual([]);
  });

  it('names a new window from its key, says "not used yet" at 0 %, and extra usage off or unlimited', async () => {
    await setUp({ usage: { fiveHour: 0, sevenDaySonnet: null } });
    await logIn();
    const off = await runCli(['usage'], env);
    expect(off.stdout).toContain('  5-hour          [░░░░░░░░░░░░░░░░░░░░]   0% used   not used yet\n');
    expect(off.stdout).not.toContain('Sonnet');
    expect(off.stdout).toContain('  Extra usage     off (turn it on at claude.ai/settings/usage)\n');
    emu.setUsage({ extraUsage: { enabled: true, monthlyLimitCents: null, usedCents: 250 } });
    expect((await runCli(['usage'], env)).stdout).toContain(
      '  Extra usage     on, $2.50 spent this month (no limit)\n',
    );
    emu.faults.usageMalformed(
      JSON.stringify({
        five_hour: { utilization: 99.6, resets_at: new Date(Date.now() + 90_000).toISOString() },
        seven_day_cowork: { utilization: 50, resets_at: null },
        'evil\u001b[2J_window': { utilization: 1, resets_at: null },
        extra_usage: null,
      }),
    );
    const shown = await runCli(['usage'], env);
    expect(shown.stdout).toMatch(/ {2}5-hour {10}\[█{20}\] 100% used {3}resets in 1m \d+s\n/);
    expect(shown.stdout).toContain('  Seven day cowork[██████████░░░░░░░░░░]  50% used   not used yet\n');
    expect(shown.stdout).toContain('  Evil window     [');
    expect(shown.stdout).not.toContain('\u001b');
    expect(shown.stdout).toContain('  Extra usage     not reported\n');
  });

  it('--json prints the normalized object', async () => {
    await setUp({ usage: { extraUsage: EXTRA } });
    await logIn();
    const result = await runCli(['usage', '--json'], env);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toEqual({
      fiveHour: { utilization: 37, resetsAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) },
      sevenDay: { utilization: 12, resetsAt: expect.any(String) },
      sevenDayOpus: null,
      sevenDaySonnet: { utilization: 4, resetsAt: expect.any(String) },
      sevenDayOauthApps: null,
      windows: {
        five_hour: json.fiveHour,
        seven_day: json.sevenDay,
        seven_day_sonnet: json.sevenDaySonnet,
      },
      extraUsage: {
        isEnabled: true,
        monthlyLimit: 5000,
        usedCredits: 1234,
        utilization: 24.68,
        currency: 'USD',
        decimalPlaces: 2,
      },
    });
  });

  it('shows extra usage in the decimals of its currency: JPY 0, KWD 3, from decimal_places or the code', async () => {
    const extraLine = async (): Promise<string> => {
      const result = await runCli(['usage'], env);
      expect(result.code).toBe(0);
      return result.stdout.split('\n').find((line) => line.startsWith('  Extra usage')) ?? '';
    };
    await setUp({
      usage: { extraUsage: { enabled: true, monthlyLimitCents: 5000, usedCents: 1234, currency: 'JPY' } },
    });
    await logIn();
    expect(await extraLine()).toBe(
      '  Extra usage     [█████░░░░░░░░░░░░░░░]  25% used   1234 JPY of 5000 JPY this month',
    );
    const json = JSON.parse((await runCli(['usage', '--json'], env)).stdout);
    expect(json.extraUsage).toMatchObject({ usedCredits: 1234, currency: 'JPY', decimalPlaces: 0 });
    // Without decimal_places in the answer, the currency code decides.
    emu.setUsage({
      extraUsage: { enabled: true, monthlyLimitCents: 50000, usedCents: 12345, currency: 'KWD', decimalPlaces: null },
    });
    expect(await extraLine()).toBe(
      '  Extra usage     [█████░░░░░░░░░░░░░░░]  25% used   12.345 KWD of 50.000 KWD this month',
    );
    emu.setUsage({ extraUsage: { enabled: true, monthlyLimitCents: null, usedCents: 250, currency: 'JPY' } });
    expect(await extraLine()).toBe('  Extra usage     on, 250 JPY spent this month (no limit)');
    // decimal_places as sent wins over the code; one that makes no sense is ignored.
    emu.setUsage({
      extraUsage: { enabled: true, monthlyLimitCents: null, usedCents: 250, currency: 'EUR', decimalPlaces: 3 },
    });
    expect(await extraLine()).toBe('  Extra usage     on, 0.250 EUR spent this month (no limit)');
    const answer = (extra: Record<string, unknown>): string =>
      JSON.stringify({
        five_hour: null,
        extra_usage: { is_enabled: true, monthly_limit: null, used_credits: 250, ...extra },
      });
    for (const [extra, shown] of [
      [{ currency: 'JPY', decimal_places: 99 }, '250 JPY'],
      [{ currency: 'JPY', decimal_places: '2' }, '250 JPY'],
      [{ currency: 'JPY', decimal_places: 1.5 }, '250 JPY'],
      [{}, '$2.50'], // no currency: USD, as the service has always meant
      [{ currency: 'XYZ' }, '2.50 XYZ'], // a code no one knows: two decimals, the code shown
      [{ currency: 'Dollars' }, '2.50 Dollars'],
      [{ currency: '\u001b[2J' }, '2.50 (currency not named)'],
    ] as const) {
      emu.faults.usageMalformed(answer(extra));
      expect(await extraLine(), JSON.stringify(extra)).toBe(
        `  Extra usage     on, ${shown} spent this month (no limit)`,
      );
    }
  });

  it('refreshes an expired login first and saves the rotated tokens', async () => {
    await setUp();
    const tokens = await logIn(emu.issueTokens(), { expiresAt: nowSeconds() - 60 });
    const result = await runCli(['usage'], env);
    expect(result.code).toBe(0);
    expect(emu.stats().refresh).toBe(1);
    const saved = await new TokenStorage(tokenFileIn(temp.dir)).load();
    expect(saved?.refreshToken).not.toBe(tokens.refreshToken);
  });

  it('after a 401 refreshes once and retries once (a token replaced elsewhere)', async () => {
    await setUp();
    await logIn();
    emu.expireAccessTokens();
    const result = await runCli(['usage'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(emu.stats().refresh).toBe(1);
    expect(emu.requests.filter((r) => r.path === '/api/oauth/usage').map((r) => r.status)).toEqual([401, 200]);
  });

  it('a 403 saying the token was revoked, in words the client also takes for a rejection: refresh once, retry once, as the client does', async () => {
    await setUp();
    const tokens = await logIn();
    const revoked =
      '{"type":"error","error":{"type":"permission_error","message":"Your OAuth token was revoked by an administrator."}}';
    emu.faults.usageMalformed(revoked, 1, 403);
    const result = await runCli(['usage'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(emu.stats().refresh).toBe(1);
    expect(emu.requests.filter((r) => r.path === '/api/oauth/usage').map((r) => r.status)).toEqual([403, 200]);
    // The client reads the same answer the same way (replay.ts): one refresh, one retry.
    const saved = await new TokenStorage(tokenFileIn(temp.dir)).load();
    expect(saved?.accessToken).not.toBe(tokens.accessToken);
    emu.revokeAccessToken(saved?.accessToken ?? '');
    emu.faults.usageMalformed(revoked, 1, 403);
    const { AnthropicOAuth } = await import('../src/client.js');
    const client = new AnthropicOAuth({
      tokenStorage: tokenFileIn(temp.dir),
      baseURL: emu.url,
      oauthConfig: emu.oauthConfig,
      env: {},
    });
    expect((await client.getUsage()).fiveHour?.utilization).toBe(37);
    expect(emu.stats().refresh).toBe(2);
    // Refused again after the refresh: the login to renew (exit 4), described as the revoked token it is.
    emu.faults.usageMalformed(revoked, 2, 403);
    const again = await runCli(['usage'], env);
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(
      /^Error: The OAuth token was revoked\. Run `npx anthropic-oauth login` to sign in\.\n$/,
    );
    expect(emu.stats().refresh).toBe(3);
    // Another 403 is no rejection for either: no refresh, one line.
    emu.faults.usageMalformed(
      '{"type":"error","error":{"type":"permission_error","message":"Organization disabled"}}',
      1,
      403,
    );
    expect((await runCli(['usage'], env)).code).toBe(1);
    expect(emu.stats().refresh).toBe(3);
  });

  it('a login without user:profile gets a clear message to log in again (exit 4)', async () => {
    await setUp();
    await logIn(emu.issueTokens({ scope: 'user:inference' }), { scope: 'user:inference' });
    const result = await runCli(['usage'], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'Error: This login lacks the `user:profile` scope (a long-lived or inference-only login has only `user:inference`). Sign in again to grant it: Run `npx anthropic-oauth login` to sign in.\n',
    );
  });

  it('not logged in: exit 3 with the login hint', async () => {
    await setUp();
    const result = await runCli(['usage'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^Error: Not logged in: .*anthropic-oauth login/);
  });

  it.each([
    [
      'malformed JSON',
      '{"five_hour":',
      200,
      'application/json',
      1,
      /^Error: The usage endpoint did not answer with JSON \(HTTP 200\)\./,
    ],
    [
      'an HTML error page',
      '<html><body><h1>502 Bad Gateway</h1></body></html>',
      502,
      'text/html',
      5,
      /^Error: The API answered HTTP 502\. This is usually temporary: try again shortly\.\n$/,
    ],
    [
      'a 403 with another message',
      '{"type":"error","error":{"type":"permission_error","message":"Org \\u001b[31mdisabled"}}',
      403,
      'application/json',
      1,
      /^Error: The API answered HTTP 403 \(permission_error\)\. Run again with --debug for details\.\n$/,
    ],
  ])('%s: one line, no body, no escape sequence', async (_, body, status, type, code, line) => {
    await setUp();
    await logIn();
    emu.faults.usageMalformed(body, 3, status, type);
    const result = await runCli(['usage'], env);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(line);
    expect(result.stderr).not.toContain('<html>');
    expect(result.stderr).not.toContain('\u001b');
  });

  it('--debug adds the server message, stripped of escape sequences', async () => {
    await setUp();
    await logIn();
    emu.faults.usageMalformed(
      '{"type":"error","error":{"type":"permission_error","message":"Org \\u001b[31mdisabled"}}',
      1,
      403,
    );
    const result = await runCli(['usage', '--debug'], env);
    expect(result.stderr).toContain('Error: The API answered HTTP 403 (permission_error).\n');
    expect(result.stderr).toContain('debug: the API said: Org disabled\n');
    expect(result.stderr).not.toContain('\u001b');
  });
});

describe('colours', () => {
  /** Runs the CLI in-process with stdout as a terminal (or not). */
  async function screen(tty: boolean, extraEnv: Record<string, string> = {}): Promise<string> {
    const stdout = Object.assign(new PassThrough(), { isTTY: tty });
    const stderr = new PassThrough();
    let out = '';
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const code = await main(['usage', '--storage', tokenFileIn(temp.dir)], {
      env: { ...env, ...extraEnv },
      stdin: new PassThrough(),
      stdout,
      stderr,
      openBrowser: async () => {},
      now: () => Date.now(),
    });
    expect(code).toBe(0);
    return out;
  }

  it('on a terminal only, and never with NO_COLOR', async () => {
    await setUp({ usage: { fiveHour: 95, sevenDay: 80, sevenDaySonnet: 10 } });
    await logIn();
    const coloured = await screen(true);
    expect(coloured).toContain('\u001b[31m███████████████████\u001b[39m'); // 95 %: red
    expect(coloured).toContain('\u001b[33m████████████████\u001b[39m'); // 80 %: yellow
    expect(coloured).toContain('\u001b[32m██\u001b[39m'); // 10 %: green
    expect(await screen(true, { NO_COLOR: '1' })).not.toContain('\u001b');
    expect(await screen(false)).not.toContain('\u001b');
    // An empty NO_COLOR does not count (no-color.org).
    expect(await screen(true, { NO_COLOR: '' })).toContain('\u001b[');
  });
});

describe('status shows the plan saved at login, without the network', () => {
  it('login saves the plan and organization of the profile; status shows them "as of" then', async () => {
    await setUp({ plan: 'max_20x' });
    expect((await loginByPaste(emu, [], env)).code).toBe(0);
    const profileCalls = emu.requests.filter((request) => request.path === '/api/oauth/profile').length;
    expect(profileCalls).toBe(1);
    const before = emu.requests.length;
    const result = await runCli(['status'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}Plan: {11}Claude Max 20x \(as of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/m);
    expect(result.stdout).toContain('  Organization:   Example Org\n');
    const json = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(json.plan).toEqual({
      label: 'Claude Max 20x',
      email: 'user@example.com',
      organization: { uuid: '9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1', name: 'Example Org' },
      as_of: expect.stringMatching(/^\d{4}-/),
    });
    // No request of any kind: status reads the saved summary only.
    expect(emu.requests.length).toBe(before);
  });

  it('a refresh keeps the summary as it was', async () => {
    await setUp();
    const tokenFile = tokenFileIn(temp.dir);
    await loginByPaste(emu, [], env);
    const saved = JSON.parse(await readFile(tokenFile, 'utf8'));
    await writeFile(tokenFile, JSON.stringify({ ...saved, expires_at: nowSeconds() - 60 }), { mode: 0o600 });
    expect((await runCli(['token'], env)).code).toBe(0);
    expect(emu.stats().refresh).toBe(1);
    const after = JSON.parse(await readFile(tokenFile, 'utf8'));
    expect(after.access_token).not.toBe(saved.access_token);
    expect(after.account).toEqual(saved.account);
  });

  it('strips escape sequences from the organization name the server sent', async () => {
    await setUp({ organization: { uuid: 'org-x', name: 'Evil\u001b]0;pwned\u0007 \u001b[2JOrg\u202e' } });
    await loginByPaste(emu, [], env);
    const result = await runCli(['status'], env);
    const plan = result.stdout.split('\n').filter((line) => line.startsWith('  Organization:'));
    expect(plan).toEqual(['  Organization:   Evil Org']);
  });

  it('without user:profile, or an unreachable API at login: the login is saved and the plan unknown; --offline is accepted', async () => {
    await setUp({ scopes: 'user:inference' });
    expect((await loginByPaste(emu, [], env)).code).toBe(0);
    const before = emu.requests.length;
    const noScope = await runCli(['status'], env);
    expect(noScope.code).toBe(0);
    expect(noScope.stdout).toContain('  Plan:           unknown (not saved with this login; `usage` asks the API)\n');
    const offline = await runCli(['status', '--offline', '--json'], env);
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ logged_in: true, kind: 'oauth', plan: null });
    expect(emu.requests.length).toBe(before);
    await emu.close();
    await setUp();
    const away = await loginByPaste(emu, [], { ...env, ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' });
    expect(away.code).toBe(0);
    expect((await runCli(['status'], env)).stdout).toContain('  Plan:           unknown (not saved');
  });
});

describe('errors explained', () => {
  it('token: a rate-limited token endpoint is explained with its reset time', async () => {
    await setUp();
    await logIn(emu.issueTokens(), { expiresAt: nowSeconds() - 60 });
    emu.faults.tokenRateLimited(1, 3);
    const result = await runCli(['token'], env);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^Error: The token endpoint is rate limiting requests \(HTTP 429\)\. It resets in [01]s, at \S+Z\. Wait and try again; the login is kept\.\n$/,
    );
  });

  it('usage: a 429 of the usage endpoint is explained in one line', async () => {
    await setUp();
    await logIn();
    emu.faults.usageMalformed(
      '{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit. Please try again later."}}',
      3,
      429,
    );
    const result = await runCli(['usage'], env);
    expect(result.code).toBe(5);
    expect(result.stderr).toBe(
      'Error: The API is rate limiting requests (HTTP 429). Wait until it resets; `npx anthropic-oauth usage` shows every limit.\n',
    );
  });

  it('usage: a 429 whose Retry-After no date can hold is still the rate-limit line (it was "Invalid time value")', async () => {
    await setUp();
    await logIn();
    const server = createServer((_request, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '99999999999999' });
      response.end('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runCli(['usage'], { ...env, ANTHROPIC_OAUTH_USAGE_URL: `http://127.0.0.1:${port}/usage` });
      expect(result.code).toBe(5);
      expect(result.stderr).toBe(
        'Error: The API is rate limiting requests (HTTP 429). Wait until it resets; `npx anthropic-oauth usage` shows every limit.\n',
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
