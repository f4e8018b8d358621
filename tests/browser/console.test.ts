/**
 * Issue 16 end to end in a real browser: `login --console` (the Console's consent page, an API key
 * created and saved, never the OAuth tokens) and `setup-token` (a long-lived inference-only token,
 * printed once, not saved), each as the built CLI with headless Chromium clicking Approve.
 */
import { readFile, stat } from 'node:fs/promises';
import { Anthropic } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/testing/index.js';
import { launchBrowser, type TestBrowser } from '../helpers/cli-browser.js';
import {
  type CliEnv,
  cliEnv,
  leakedIn,
  redirectUriOf,
  runCli,
  secretsSeen,
  spawnCli,
  tokenFileIn,
} from '../helpers/cli-run.js';
import { exists, hello, makeTempDir } from '../helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let env: CliEnv;
let tokenFile: string;
let browser: TestBrowser;

async function setUp(options: Parameters<typeof startEmulator>[0] = {}) {
  emu = await startEmulator(options);
  temp = await makeTempDir('anthropic-oauth-browser-console-');
  env = cliEnv(temp.dir, emu, { ANTHROPIC_OAUTH_CONSOLE_AUTHORIZE_URL: emu.consoleAuthorizeUrl });
  tokenFile = tokenFileIn(temp.dir);
  browser = await launchBrowser();
}

afterEach(async () => {
  await browser.close();
  await emu.close();
  await temp.cleanup();
  expect(browser.blocked).toEqual([]);
});

/** The Console authorize URL the CLI printed (the emulator serves it under `/console`). */
async function consoleUrl(cli: ReturnType<typeof spawnCli>): Promise<string> {
  return (await cli.waitForStderr(/^ {2}(http:\/\/127\.0\.0\.1:\d+\/console\/oauth\/authorize\?\S+)$/m))[1] ?? '';
}

/** Opens the URL the CLI printed, checks it is the page expected, and clicks Approve. */
async function approveIn(url: string, pathname: string) {
  expect(new URL(url).pathname).toBe(pathname);
  const { page } = browser;
  await page.goto(url);
  await page.click('#approve');
  await page.waitForURL((target) => target.href.startsWith(`${redirectUriOf(url)}?`));
  await expect(page.locator('#result').getAttribute('data-outcome')).resolves.toBe('success');
}

describe('login --console in a real browser', () => {
  it('Approve on the Console page: an API key is created, saved 0600 alone, and every command uses it', async () => {
    await setUp();
    const cli = spawnCli(['login', '--console', '--no-browser'], env);
    const url = await consoleUrl(cli);
    await browser.page.goto(url);
    await expect(browser.page.locator('.console-banner').textContent()).resolves.toContain('Anthropic Console');
    await browser.page.goto('about:blank');
    await approveIn(url, '/console/oauth/authorize');

    const result = await cli.done;
    expect(result.code).toBe(0);
    const [minted] = emu.apiKeys();
    const key = minted?.key ?? '';
    expect(key).toMatch(/^sk-ant-api03-/);
    expect(result.stderr).toContain('Logged in to the Console (Example Org); an API key was created.');
    expect(result.stderr).toContain('Role: organization developer, workspace workspace_developer');
    expect(result.stderr).toContain(`API key: sk-ant-api03-…${key.slice(-4)}`);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(tokenFile, 'utf8'));
    expect(saved).toMatchObject({ type: 'api_key', api_key: key, organization_role: 'developer' });
    expect(JSON.stringify(saved)).not.toMatch(/sk-ant-o[ar]t01-/);
    // The OAuth tokens, the code and the key itself are never printed by the login.
    const bearers = emu.requests
      .filter((request) => request.path.startsWith('/api/oauth/claude_cli/'))
      .map((request) => (request.headers.authorization ?? '').slice('Bearer '.length));
    expect(bearers[0]).toMatch(/^sk-ant-oat01-/);
    const secrets = [...(await secretsSeen(emu, [])), ...bearers, key];
    expect(leakedIn(result.stderr + result.stdout, secrets)).toEqual([]);

    const status = await runCli(['status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({
      logged_in: true,
      kind: 'api_key',
      organization: { name: 'Example Org' },
      role: { organization: 'developer', workspace: 'workspace_developer' },
      api_key_masked: `sk-ant-api03-…${key.slice(-4)}`,
    });
    expect(status.stdout).not.toContain(key);
    const token = await runCli(['token'], env);
    expect(token.stdout).toBe(`${key}\n`);
    // The key works on the API as the SDK sends it.
    const answer = await new Anthropic({ apiKey: token.stdout.trim(), baseURL: emu.url }).messages.create(hello);
    expect(answer.type).toBe('message');
    const logout = await runCli(['logout'], env);
    expect(logout.stderr).toContain('stays valid until it is revoked');
    expect(logout.stderr).toContain('https://platform.claude.com/settings/keys');
    expect(await exists(tokenFile)).toBe(false);
  });

  it('an organization that forbids keys: exit 1 saying what to do, no key, the previous login kept', async () => {
    await setUp({ consoleForbidsApiKeys: true });
    const first = spawnCli(['login', '--no-browser'], env);
    await approveIn(await first.authorizeUrl(), '/oauth/authorize');
    expect((await first.done).code).toBe(0);
    const before = await readFile(tokenFile, 'utf8');

    const cli = spawnCli(['login', '--console', '--no-browser'], env);
    await approveIn(await consoleUrl(cli), '/console/oauth/authorize');
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does not allow creating API keys/);
    expect(result.stderr).toContain('https://platform.claude.com/settings/keys');
    expect(emu.apiKeys()).toEqual([]);
    expect(emu.requests.some((request) => request.path.includes('create_api_key'))).toBe(false);
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
  });
});

describe('setup-token in a real browser', () => {
  it('prints a one-year inference-only token once with its variable, saves nothing, and the client takes it', async () => {
    await setUp();
    const cli = spawnCli(['setup-token', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    expect(new URL(url).searchParams.get('scope')).toBe('user:inference');
    await approveIn(url, '/oauth/authorize');

    const result = await cli.done;
    expect(result.code).toBe(0);
    const match = /^ANTHROPIC_OAUTH_ACCESS_TOKEN=(sk-ant-oat01-\S+)\n$/.exec(result.stdout);
    expect(match).not.toBeNull();
    const token = match?.[1] ?? '';
    expect(result.stderr).toContain('Put this token in ANTHROPIC_OAUTH_ACCESS_TOKEN');
    const year = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
    expect(result.stderr).toContain(`It expires ${year}`);
    expect(result.stderr).not.toContain(token);
    expect(await exists(tokenFile)).toBe(false);
    const exchange = emu.requests.find((request) => request.path === '/v1/oauth/token');
    expect(exchange?.body).toMatchObject({ expires_in: 31_536_000 });

    // From the environment: used as it is; a 401 on it says what to do, without a refresh.
    const withToken = { ...env, ANTHROPIC_OAUTH_ACCESS_TOKEN: token };
    const status = await runCli(['status', '--json'], withToken);
    expect(JSON.parse(status.stdout)).toMatchObject({ source: 'env', has_refresh_token: false, expires_at: null });
    emu.revokeAccessToken(token);
    const usage = await runCli(['usage'], withToken);
    expect(usage.code).toBe(4);
    expect(usage.stderr).toContain('setup-token');
    expect(emu.stats().refresh).toBe(0);
  });
});
