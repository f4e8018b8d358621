/**
 * `anthropic-oauth login` as a child process against the emulator, in a temporary HOME. The
 * "browser" is `emu.approve()`/`emu.deny()` plus a GET of the callback URL; the real browser is in
 * tests/browser/.
 */
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { canOpenBrowser } from '../src/browser.js';
import type { Emulator } from '../src/testing/index.js';
import { type CliEnv, leakedIn, redirectUriOf, secretsSeen, spawnCli, useCliWorld } from './helpers/cli-run.js';
import { exists, type TempDir, tokenRequests } from './helpers/fixtures.js';

let emu: Emulator;
let temp: TempDir;
let env: CliEnv;
let tokenFile: string;
useCliWorld('anthropic-oauth-cli-', (world) => ({ emu, temp, env, tokenFile } = world));

describe('login through the loopback listener', () => {
  it('saves the tokens (0600) when the browser comes back, and says who is logged in', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const redirectUri = redirectUriOf(url);
    expect(redirectUri).toMatch(/^http:\/\/localhost:\d+\/callback$/);

    const callback = await emu.approve(url);
    expect(callback.startsWith(`${redirectUri}?`)).toBe(true);
    const page = await fetch(callback);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('You can close this tab and return to the terminal');

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Logged in as user@example.com (Example Org)');
    expect(result.stderr).toContain(`Login saved to ${tokenFile}`);
    expect(result.stdout).toBe('');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ grant_type: 'authorization_code', redirect_uri: redirectUri });
    expect(leakedIn(result.stderr, await secretsSeen(emu, [tokenFile]))).toEqual([]);
    // One callback only: the listener is gone.
    await expect(fetch(callback)).rejects.toThrow();
  });

  it('accepts the callback URL pasted on stdin instead (a browser on another machine)', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const callback = await emu.approve(url);
    cli.write(`  ${callback}  \n`);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Logged in as user@example.com (Example Org)');
    // Exchanged with the loopback redirect URI the code was issued for, and the listener is closed.
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ redirect_uri: redirectUriOf(url) });
    await expect(fetch(callback)).rejects.toThrow();
    expect(leakedIn(result.stderr, await secretsSeen(emu, [tokenFile]))).toEqual([]);
  });

  it('says what is wrong with a pasted line that is no answer, and keeps waiting', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    cli.write('not a code\n\n');
    await cli.waitForStderr(/no `#` between code and state/);
    const params = new URL(await emu.approve(url)).searchParams;
    cli.write(`?${params.toString()}\n`);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(await exists(tokenFile)).toBe(true);
  });

  it('asks again when a pasted answer has the wrong state, and logs in with the right one', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const callback = new URL(await emu.approve(url));
    cli.write(`${callback.searchParams.get('code')}#not-the-state\n`);
    await cli.waitForStderr(
      /The pasted code is from another login attempt .*Paste the code from the page this login opened/,
    );
    expect(tokenRequests(emu)).toHaveLength(0);
    cli.write(`${callback.href}\n`);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(await exists(tokenFile)).toBe(true);
  });

  it('ends the login after the third answer of another login attempt, sending nothing', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const code = new URL(await emu.approve(url)).searchParams.get('code');
    cli.write(`${code}#other-1\n${code}#other-2\n${code}#other-3\n`);

    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr.match(/The pasted code is from another login attempt/g)).toHaveLength(2);
    expect(result.stderr).toMatch(
      /^Error: The pasted answer belongs to another login attempt .*Start the login again/m,
    );
    expect(tokenRequests(emu)).toHaveLength(0);
    expect(await exists(tokenFile)).toBe(false);
  });

  it('reports a denial in the browser and saves nothing', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const denied = await emu.deny(await cli.authorizeUrl());
    const page = await fetch(denied);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('Sign-in was denied');

    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: The authorization was denied in the browser.*choose Approve\.$/m);
    expect(await exists(tokenFile)).toBe(false);
  });

  it('refuses a callback with a wrong state with an error page, says so once, and keeps waiting for the real one', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const callback = await emu.approve(url);
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'tampered');
    for (let i = 0; i < 3; i++) {
      const page = await fetch(tampered);
      expect(page.status).toBe(400);
      expect(await page.text()).toContain('does not belong to the login waiting in your terminal');
    }
    await cli.waitForStderr(/Refused a callback that does not belong to this login \(wrong state\); still waiting\./);
    expect(tokenRequests(emu)).toHaveLength(0);
    expect((await fetch(callback)).status).toBe(200);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr.match(/Refused a callback/g)).toHaveLength(1);
    expect(tokenRequests(emu)).toHaveLength(1);
    expect(await exists(tokenFile)).toBe(true);
  });

  it('gives up after --timeout with its own exit code', async () => {
    const cli = spawnCli(['login', '--no-browser', '--timeout', '1'], env);
    const url = await cli.authorizeUrl();
    const result = await cli.done;
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(
      /^Error: No answer from the browser within 1 second\. Run `npx anthropic-oauth login` again/m,
    );
    expect(await exists(tokenFile)).toBe(false);
    // The listener went with it.
    await expect(fetch(`${redirectUriOf(url)}?code=x&state=y`)).rejects.toThrow();
  });

  it('listens on the port given with --port, and says so when it is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const taken = spawnCli(['login', '--no-browser', '--port', String(port)], env);
      taken.child.stdin.end();
      const refused = await taken.done;
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(`^Error: Cannot listen on port ${port} of 127\\.0\\.0\\.1 \\(EADDRINUSE\\)`, 'm'),
      );
    } finally {
      await new Promise<void>((done) => blocker.close(() => done()));
    }

    const cli = spawnCli(['login', '--no-browser', '--port', String(port)], env);
    const url = await cli.authorizeUrl();
    expect(redirectUriOf(url)).toBe(`http://localhost:${port}/callback`);
    await fetch(await emu.approve(url));
    expect((await cli.done).code).toBe(0);
  });

  it('setup-token listens on the port given with --port too', async () => {
    const free: Server = createServer();
    await new Promise<void>((done) => free.listen(0, '127.0.0.1', done));
    const address = free.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((done) => free.close(() => done()));
    const cli = spawnCli(['setup-token', '--no-browser', '--port', String(port)], env);
    const url = await cli.authorizeUrl();
    expect(redirectUriOf(url)).toBe(`http://localhost:${port}/callback`);
    await fetch(await emu.approve(url));
    expect((await cli.done).code).toBe(0);
  });

  it('writes to --storage instead of the default file', async () => {
    const custom = `${temp.dir}/elsewhere/login.json`;
    const cli = spawnCli(['login', '--no-browser', '--storage', custom], env);
    await fetch(await emu.approve(await cli.authorizeUrl()));
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Login saved to ${custom}`);
    expect((await stat(custom)).mode & 0o777).toBe(0o600);
    expect(await exists(tokenFile)).toBe(false);
  });

  it('fails with a one-line network error (exit 5) when the token endpoint is down', async () => {
    const cli = spawnCli(['login', '--no-browser', '--debug'], env);
    const url = await cli.authorizeUrl();
    const callback = await emu.approve(url);
    emu.faults.tokenServerError(5, 503);
    await fetch(callback);
    const result = await cli.done;
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^Error: The token endpoint answered HTTP 503/m);
    expect(result.stderr).toMatch(/^debug: error: OAuthFlowError code=token_endpoint_error status=503/m);
    expect(leakedIn(result.stderr, await secretsSeen(emu))).toEqual([]);
  });
});

describe('login --manual', () => {
  it('uses the manual redirect page and the pasted CODE#STATE', async () => {
    const cli = spawnCli(['login', '--manual', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    expect(redirectUriOf(url)).toBe(emu.manualRedirectUri);
    await cli.waitForStderr(/Paste the code the page shows \(CODE#STATE\)/);
    const page = await (await fetch(await emu.approve(url))).text();
    const code = /id="auth-code">([^<]+)</.exec(page)?.[1];
    expect(code).toMatch(/#/);
    cli.write(`${code}\n`);

    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Logged in as user@example.com (Example Org)');
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ redirect_uri: emu.manualRedirectUri });
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(leakedIn(result.stderr, await secretsSeen(emu, [tokenFile]))).toEqual([]);
  });

  it('fails plainly when stdin ends before a code is pasted', async () => {
    const cli = spawnCli(['login', '--manual', '--no-browser'], env);
    await cli.authorizeUrl();
    cli.child.stdin.end();
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: The input ended before a code was pasted\./m);
    expect(await exists(tokenFile)).toBe(false);
  });
});

describe('login after a login from the environment', () => {
  it('warns that the environment variable still wins', async () => {
    const cli = spawnCli(['login', '--no-browser'], { ...env, ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-fromenv' });
    await fetch(await emu.approve(await cli.authorizeUrl()));
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'Note: ANTHROPIC_OAUTH_ACCESS_TOKEN is set, and programs use it before this login.',
    );
  });
});

describe('whether login opens a browser', () => {
  it('does not on Linux without a display (SSH), and does with one, with BROWSER, on WSL, macOS and Windows', () => {
    expect(canOpenBrowser({}, 'linux')).toBe(false);
    expect(canOpenBrowser({ DISPLAY: '' }, 'freebsd')).toBe(false);
    expect(canOpenBrowser({ DISPLAY: ':0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ BROWSER: 'firefox' }, 'linux')).toBe(true);
    expect(canOpenBrowser({ WSL_DISTRO_NAME: 'Ubuntu' }, 'linux')).toBe(true);
    expect(canOpenBrowser({}, 'darwin')).toBe(true);
    expect(canOpenBrowser({}, 'win32')).toBe(true);
  });
});
