/**
 * `anthropic-oauth login` end to end in a real browser: the CLI runs as a child process with
 * `--no-browser` (the opener is this test), headless Chromium opens the URL it printed, clicks on
 * the emulator's consent page, and the redirect reaches the CLI's loopback listener.
 */
import { stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/testing/index.js';
import { launchBrowser, type TestBrowser } from '../helpers/cli-browser.js';
import {
  type CliEnv,
  cliEnv,
  leakedIn,
  redirectUriOf,
  secretsSeen,
  spawnCli,
  tokenFileIn,
} from '../helpers/cli-run.js';
import { exists, makeTempDir } from '../helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let env: CliEnv;
let tokenFile: string;
let browser: TestBrowser;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-browser-');
  env = cliEnv(temp.dir, emu);
  tokenFile = tokenFileIn(temp.dir);
  browser = await launchBrowser();
});

afterEach(async () => {
  await browser.close();
  await emu.close();
  await temp.cleanup();
  expect(browser.blocked).toEqual([]);
});

describe('login in a real browser', () => {
  it('Approve: the browser lands on the loopback page, the CLI exits 0 and the token file is 0600', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const { page } = browser;
    await page.goto(url);
    await expect(page.locator('#account-email').textContent()).resolves.toBe('user@example.com');
    await page.click('#approve');
    await page.waitForURL((target) => target.href.startsWith(`${redirectUriOf(url)}?`));
    await expect(page.locator('#result').getAttribute('data-outcome')).resolves.toBe('success');
    await expect(page.locator('body').textContent()).resolves.toContain(
      'You can close this tab and return to the terminal',
    );

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Logged in as user@example.com (Example Org)');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(leakedIn(result.stderr, await secretsSeen(emu, [tokenFile]))).toEqual([]);
  });

  it('Deny: the page says so, the CLI exits 1 with the reason, nothing is saved', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const { page } = browser;
    await page.goto(await cli.authorizeUrl());
    await page.click('#deny');
    await page.waitForSelector('#result[data-outcome="error"]');
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign-in was denied');

    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: The authorization was denied in the browser/m);
    expect(await exists(tokenFile)).toBe(false);
  });

  it('a wrong state: the loopback page refuses it and the CLI keeps waiting (here until its timeout)', async () => {
    const cli = spawnCli(['login', '--no-browser', '--timeout', '3'], env);
    const url = await cli.authorizeUrl();
    const tampered = new URL(redirectUriOf(url));
    tampered.searchParams.set('code', 'a-code-from-somewhere-else');
    tampered.searchParams.set('state', 'not-this-login');
    const { page } = browser;
    const response = await page.goto(tampered.href);
    expect(response?.status()).toBe(400);
    await expect(page.locator('h1').textContent()).resolves.toBe('This sign-in link does not match');
    await expect(page.locator('p').textContent()).resolves.toContain('The terminal is still waiting');

    const result = await cli.done;
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(
      'Refused a callback that does not belong to this login (wrong state); still waiting.',
    );
    expect(emu.stats().authorizationCode).toBe(0);
    expect(await exists(tokenFile)).toBe(false);
  });

  it('the paste path: on a remote browser the loopback page fails, its address is pasted on stdin', async () => {
    await browser.close();
    browser = await launchBrowser({ remote: true });
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const { page } = browser;
    const callbackPrefix = `${redirectUriOf(url)}?`;
    const failed = page.waitForEvent('requestfailed', (request) => request.url().startsWith(callbackPrefix));
    await page.goto(url);
    await page.click('#approve');
    // What the user copies from the address bar of the page that did not load.
    const address = (await failed).url();
    expect(cli.stderr()).not.toContain('Logged in');
    cli.write(`${address}\n`);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Logged in as user@example.com (Example Org)');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const exchange = emu.requests.find((request) => request.path === '/v1/oauth/token');
    expect(exchange?.body).toMatchObject({ redirect_uri: redirectUriOf(url) });
    expect(leakedIn(result.stderr, await secretsSeen(emu, [tokenFile]))).toEqual([]);
  });

  it('--manual: the code shown on the page is pasted on stdin', async () => {
    const cli = spawnCli(['login', '--manual', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    expect(redirectUriOf(url)).toBe(emu.manualRedirectUri);
    const { page } = browser;
    await page.goto(url);
    await page.click('#approve');
    const code = (await page.locator('#auth-code').textContent())?.trim() ?? '';
    expect(code).toContain('#');
    cli.write(`${code}\n`);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Logged in as user@example.com (Example Org)');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(leakedIn(result.stderr, await secretsSeen(emu, [tokenFile]))).toEqual([]);
  });

  it('the timeout: the CLI gives up (exit 6) and a late Approve finds no listener', async () => {
    const cli = spawnCli(['login', '--no-browser', '--timeout', '1'], env);
    const url = await cli.authorizeUrl();
    const { page } = browser;
    await page.goto(url);

    const result = await cli.done;
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/^Error: No answer from the browser within 1 second\./m);
    expect(await exists(tokenFile)).toBe(false);

    const failed = page.waitForEvent('requestfailed', (request) => request.url().startsWith(`${redirectUriOf(url)}?`));
    await page.click('#approve');
    expect((await failed).failure()?.errorText).toMatch(/ERR_CONNECTION_REFUSED/);
  });
});
