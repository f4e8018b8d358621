/**
 * `login --console --manual` and `setup-token` as the built CLI in a temporary HOME against the
 * emulator: the code pasted as a person pastes it (CODE#STATE from the emulator's code page), what
 * is saved, what `status` and `token` then show, and what a refused or failed `setup-token` leaves
 * (exit code, nothing saved, no secret printed). The browser versions are in tests/browser/.
 */
import { readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../src/testing/index.js';
import {
  type CliEnv,
  type CliProcess,
  closedPort,
  leakedIn,
  runCli,
  secretsSeen,
  spawnCli,
  useCliWorld,
} from './helpers/cli-run.js';
import { exists, hello, nowSeconds, tokenRequests } from './helpers/fixtures.js';

let emu: Emulator;
let env: CliEnv;
let tokenFile: string;
useCliWorld('anthropic-oauth-cli-console-', (world) => {
  ({ emu, tokenFile } = world);
  env = { ...world.env, ANTHROPIC_OAUTH_CONSOLE_AUTHORIZE_URL: world.emu.consoleAuthorizeUrl };
});

const ONE_YEAR = 31_536_000;

/** Approves the printed URL at the emulator and reads the CODE#STATE its code page shows. */
async function pasteCode(cli: CliProcess): Promise<{ url: string; code: string }> {
  const url = await cli.authorizeUrl();
  await cli.waitForStderr(/Paste the code the page shows \(CODE#STATE\)/);
  const page = await (await fetch(await emu.approve(url))).text();
  const code = /id="auth-code">([^<]+)</.exec(page)?.[1] ?? '';
  expect(code).toMatch(/^[^#\s]+#[^#\s]+$/);
  cli.write(`${code}\n`);
  return { url, code };
}

/** Every secret of the run: what the emulator saw, the bearer tokens of the Console calls, the keys it minted. */
async function allSecrets(files: readonly string[] = []): Promise<string[]> {
  const bearers = emu.requests
    .map((request) => request.headers.authorization ?? '')
    .filter((value) => value.startsWith('Bearer '))
    .map((value) => value.slice('Bearer '.length));
  return [...(await secretsSeen(emu, files)), ...bearers, ...emu.apiKeys().map((key) => key.key)];
}

describe('login --console --manual', () => {
  it('pasting CODE#STATE stores an API key (kind api_key), status shows it masked, token prints it', async () => {
    const cli = spawnCli(['login', '--console', '--manual', '--no-browser'], env);
    const { url, code } = await pasteCode(cli);
    expect(url.startsWith(emu.consoleAuthorizeUrl)).toBe(true);
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(emu.manualRedirectUri);
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const [minted] = emu.apiKeys();
    const key = minted?.key ?? '';
    expect(key).toMatch(/^sk-ant-api03-/);
    expect(result.stderr).toContain('Logged in to the Console (Example Org); an API key was created.');
    expect(result.stderr).toContain(`API key: sk-ant-api03-…${key.slice(-4)}`);
    expect(result.stderr).toContain(`Login saved to ${tokenFile}`);
    expect(tokenRequests(emu)[0]?.body).toMatchObject({
      grant_type: 'authorization_code',
      redirect_uri: emu.manualRedirectUri,
    });

    // Saved alone, 0600: the key, never the OAuth tokens that minted it.
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(tokenFile, 'utf8'));
    expect(saved).toMatchObject({ type: 'api_key', api_key: key });
    expect(JSON.stringify(saved)).not.toMatch(/sk-ant-o[ar]t01-/);

    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`sk-ant-api03-…${key.slice(-4)}`);
    const json = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    expect(json).toMatchObject({ logged_in: true, kind: 'api_key', api_key_masked: `sk-ant-api03-…${key.slice(-4)}` });
    expect((await runCli(['token'], env)).stdout).toBe(`${key}\n`);

    // Nothing secret in the login's or status's output: not the code, the OAuth tokens, nor the key.
    const secrets = [...(await allSecrets()), code];
    const shown = result.stderr + status.stdout + status.stderr + JSON.stringify(json);
    expect(leakedIn(shown, secrets)).toEqual([]);
    expect(shown).not.toMatch(/sk-ant-o[ar]t01-/); // no OAuth token, even one never sent back to the emulator
  });
});

describe('setup-token --manual', () => {
  it('--json prints exactly {"variable", "access_token", "expires_at"} and saves nothing', async () => {
    const cli = spawnCli(['setup-token', '--manual', '--no-browser', '--json'], env);
    const { url } = await pasteCode(cli);
    expect(new URL(url).searchParams.get('scope')).toBe('user:inference');
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const printed = JSON.parse(result.stdout);
    expect(Object.keys(printed)).toEqual(['variable', 'access_token', 'expires_at']);
    expect(printed.variable).toBe('ANTHROPIC_OAUTH_ACCESS_TOKEN');
    expect(printed.access_token).toMatch(/^sk-ant-oat01-\S+$/);
    expect(Number.isInteger(printed.expires_at)).toBe(true);
    expect(Math.abs(printed.expires_at - (nowSeconds() + ONE_YEAR))).toBeLessThan(60);
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ expires_in: ONE_YEAR, redirect_uri: emu.manualRedirectUri });
    expect(result.stderr).toContain('Put this token in ANTHROPIC_OAUTH_ACCESS_TOKEN');
    expect(result.stderr).toContain('It was not saved');
    expect(result.stderr).not.toContain(printed.access_token);
    expect(await exists(tokenFile)).toBe(false);
    // The printed token is the credential: the client takes it from the variable.
    const inEnv = { ...env, ANTHROPIC_OAUTH_ACCESS_TOKEN: printed.access_token };
    expect((await runCli(['token'], inEnv)).stdout).toBe(`${printed.access_token}\n`);
  });

  it('--save keeps it in the token store, and `token` and a client use the saved login', async () => {
    const cli = spawnCli(['setup-token', '--manual', '--no-browser', '--save'], env);
    await pasteCode(cli);
    const result = await cli.done;
    expect(result.code).toBe(0);
    const token = /^ANTHROPIC_OAUTH_ACCESS_TOKEN=(sk-ant-oat01-\S+)\n$/.exec(result.stdout)?.[1] ?? '';
    expect(token).not.toBe('');
    expect(result.stderr).toContain(`It was also saved to ${tokenFile}.`);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(tokenFile, 'utf8'));
    expect(saved).toMatchObject({ access_token: token, scope: 'user:inference' });

    const printed = await runCli(['token'], env);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(`${token}\n`);
    const asJson = JSON.parse((await runCli(['token', '--json'], env)).stdout);
    expect(asJson).toMatchObject({ access_token: token });
    expect(Math.abs(asJson.expires_at - (nowSeconds() + ONE_YEAR))).toBeLessThan(60);
    const { AnthropicOAuth } = await import('../src/client.js');
    const client = new AnthropicOAuth({
      tokenStorage: tokenFile,
      baseURL: emu.url,
      oauthConfig: emu.oauthConfig,
      env: {},
    });
    expect((await client.messages.create(hello)).type).toBe('message');
    expect(emu.stats().refresh).toBe(0);
    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(leakedIn(status.stdout + status.stderr, [token])).toEqual([]);
  });
});

describe('setup-token refused or failing', () => {
  it('access denied in the browser: exit 1, the JSON error on stdout, nothing saved even with --save', async () => {
    const cli = spawnCli(['setup-token', '--no-browser', '--save', '--json'], env);
    const callback = await emu.deny(await cli.authorizeUrl());
    await fetch(callback);
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'access_denied',
        message: expect.stringMatching(/denied in the browser.*Run the login again and choose Approve\.$/),
        hint: null,
      },
    });
    expect(await exists(tokenFile)).toBe(false);
    expect(tokenRequests(emu)).toEqual([]);
  });

  it('the token endpoint failing (503): exit 5, nothing saved, no code or verifier printed', async () => {
    const cli = spawnCli(['setup-token', '--manual', '--no-browser', '--save'], env);
    emu.faults.tokenServerError(5, 503);
    const { code } = await pasteCode(cli);
    const result = await cli.done;
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Error: The token endpoint answered HTTP 503/m);
    expect(await exists(tokenFile)).toBe(false);
    expect(leakedIn(result.stderr, [...(await allSecrets()), code])).toEqual([]);
  });

  it('the token endpoint unreachable (network failure): exit 5, nothing saved, no secret printed', async () => {
    const away = { ...env, ANTHROPIC_OAUTH_TOKEN_URL: `http://127.0.0.1:${await closedPort()}/v1/oauth/token` };
    const cli = spawnCli(['setup-token', '--manual', '--no-browser', '--save', '--json', '--debug'], away);
    const { code } = await pasteCode(cli);
    const result = await cli.done;
    expect(result.code).toBe(5);
    const printed = JSON.parse(result.stdout);
    expect(printed.error).toMatchObject({ code: 'network_error', message: /^Could not reach the token endpoint/ });
    expect(Object.keys(printed)).toEqual(['error']);
    expect(await exists(tokenFile)).toBe(false);
    expect(leakedIn(result.stdout + result.stderr, [...(await allSecrets()), code])).toEqual([]);
  });

  it('a previous login is kept when setup-token --save fails', async () => {
    const first = spawnCli(['login', '--manual', '--no-browser'], env);
    await pasteCode(first);
    expect((await first.done).code).toBe(0);
    const before = await readFile(tokenFile, 'utf8');
    const cli = spawnCli(['setup-token', '--manual', '--no-browser', '--save'], env);
    emu.faults.tokenServerError(5, 500);
    await pasteCode(cli);
    const result = await cli.done;
    expect(result.code).toBe(5);
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
  });
});
