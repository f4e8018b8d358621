/**
 * Issue 10's hostile run, end to end, against the built CLI (`dist/cli.js`) and the library: what
 * another local program, a token endpoint, a file or an environment variable can send, and what
 * the user sees. Nothing crashes, hangs or prints a secret; every failure is a typed error with
 * the next step, and the stored login survives. The per-module cases are in the module's own file.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnthropicOAuth } from '../src/index.js';
import { toStoredCredentials } from '../src/oauth-tokens.js';
import { TokenStorage } from '../src/store/file.js';
import type { Emulator } from '../src/testing/index.js';
import { type CliEnv, leakedIn, runCli, spawnCli, useCliWorld } from './helpers/cli-run.js';
import { nowSeconds, type TempDir, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: TempDir;
let env: CliEnv;
let tokenFile: string;
useCliWorld('anthropic-oauth-hostile-', (world) => ({ emu, temp, env, tokenFile } = world));

/** Sends raw bytes to 127.0.0.1:port and resolves the status line of the answer (or `'closed'`). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(bytes));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(received === '' ? 'closed' : (received.split('\r\n')[0] ?? '')));
  });
}

async function logIn(expiresAt = nowSeconds() + 3600) {
  const tokens = tokensOf(emu.issueTokens(), { expiresAt });
  await new TokenStorage(tokenFile).save(tokens);
  return tokens;
}

describe('loopback: other local programs cannot end the login (item 5)', () => {
  it('malformed request lines and stray callbacks get answers; the CLI keeps waiting and logs in', async () => {
    const cli = spawnCli(['login', '--no-browser'], env);
    const url = await cli.authorizeUrl();
    const redirect = new URL(new URL(url).searchParams.get('redirect_uri') ?? '');
    const port = Number(redirect.port);
    const host = `Host: localhost:${port}\r\n`;
    for (const target of ['//[/callback', 'http://%zz/callback', '/callback?code=x&state=forged', '/callback']) {
      expect(await raw(port, `GET ${target} HTTP/1.1\r\n${host}Connection: close\r\n\r\n`), target).toBe(
        'HTTP/1.1 400 Bad Request',
      );
    }
    expect(await raw(port, `GET /callback?code=x\u0000 HTTP/1.1\r\n${host}\r\n`)).toBe('HTTP/1.1 400 Bad Request');
    expect(cli.child.exitCode).toBeNull();

    expect((await fetch(await emu.approve(url))).status).toBe(200);
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'Refused a callback that does not belong to this login (wrong state); still waiting.',
    );
    expect(result.stderr).toContain('Logged in');
  });
});

describe('values that used to break later (item 6)', () => {
  it('expires_in 1e308 from the token endpoint: clamped to 10 years, and status still works', async () => {
    await logIn(nowSeconds() - 60);
    emu.faults.tokenMalformed(
      JSON.stringify({
        access_token: 'sk-ant-oat01-huge-lifetime',
        refresh_token: 'sk-ant-ort01-n',
        expires_in: 1e308,
      }),
    );
    expect((await runCli(['token'], env)).stdout).toBe('sk-ant-oat01-huge-lifetime\n');
    const stored = JSON.parse(await readFile(tokenFile, 'utf8')) as { expires_in: number };
    expect(stored.expires_in).toBe(10 * 365 * 86_400);
    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Expires: +20\d\d-\d\d-\d\dT[\d:]+Z \(in 36(49d 23h|50d)\)/);
  });

  it('an access token with CR/LF from the token endpoint: invalid_response, the login kept', async () => {
    const tokens = await logIn(nowSeconds() - 60);
    const before = await readFile(tokenFile, 'utf8');
    emu.faults.tokenMalformed('{"access_token":"sk-ant-oat01-a\\r\\nX-Injected: 1","expires_in":3600}');
    const result = await runCli(['token'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'Error: The token endpoint sent an invalid response (`access_token` is not a token: visible ASCII characters only (no spaces, line breaks or control characters), at most 4096 characters). Try again; if it persists, check the token URL.\n',
    );
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
    expect(leakedIn(result.stderr, [tokens.accessToken, tokens.refreshToken])).toEqual([]);
  });

  it('a token with CR/LF in the environment: invalid_env naming the variable, in the CLI and the library', async () => {
    const hostile = { ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-SECRET\r\nX-Injected: 1' };
    for (const command of ['status', 'token']) {
      const result = await runCli([command], { ...env, ...hostile });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^Error: ANTHROPIC_OAUTH_ACCESS_TOKEN is not a token: visible ASCII characters only/,
      );
      expect(result.stderr).toContain('Set it to the token alone, or unset it.');
      expect(result.stderr).not.toContain('SECRET');
    }
    // Before, the client was built and every request failed with a raw TypeError from Headers.
    expect(() => AnthropicOAuth.fromEnv({ env: hostile, baseURL: emu.url })).toThrow(
      expect.objectContaining({ name: 'OAuthFlowError', code: 'invalid_env' }),
    );
  });

  it.each([
    ['milliseconds', String(Date.now()), /looks like milliseconds; it must be epoch seconds \(\d{10}\)/],
    ['a number beyond any date', '9'.repeat(30), /is too large to be a time/],
    ['a negative number', '-5', /must be the expiry in epoch seconds/],
    ['an ISO date', '2030-01-01T00:00:00Z', /must be the expiry in epoch seconds/],
  ])('ANTHROPIC_TOKEN_EXPIRES_AT in %s: status says what is wrong (exit 1)', async (_label, value, message) => {
    const result = await runCli(['status'], {
      ...env,
      ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-SECRET',
      ANTHROPIC_TOKEN_EXPIRES_AT: value,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('SECRET');
  });

  it('a token file with expires_at in milliseconds: corrupt_file with the fix, not a date in the year 55000', async () => {
    await mkdir(dirname(tokenFile), { recursive: true, mode: 0o700 });
    const data = { ...toStoredCredentials(tokensOf(emu.issueTokens())), expires_at: Date.now() };
    await writeFile(tokenFile, JSON.stringify(data), { mode: 0o600 });
    const result = await runCli(['status'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Error: The token file ${tokenFile} is not a valid login (\`expires_at\` is too large for epoch seconds; milliseconds are not accepted). Run \`npx anthropic-oauth login\` to replace it.\n`,
    );
  });
});

describe('token paths that are not a file (item 7)', () => {
  it('a FIFO at the token path: status answers at once (exit 1), with no chmod advice', async () => {
    await mkdir(dirname(tokenFile), { recursive: true, mode: 0o700 });
    execFileSync('mkfifo', ['-m', '644', tokenFile]);
    const result = await runCli(['status'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Error: The token file ${tokenFile} is a named pipe (FIFO), not a regular file, so no login can be read from it. Check the path (--storage, ANTHROPIC_OAUTH_TOKEN_FILE); nothing was changed.\n`,
    );
  });

  it('--storage pointing at the home directory or /dev/null: no chmod advice', async () => {
    for (const [path, kind] of [
      [temp.dir, 'a directory'],
      ['/dev/null', 'a device'],
    ]) {
      const result = await runCli(['status', '--storage', path ?? ''], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`is ${kind}, not a regular file`);
      expect(result.stderr).not.toContain('chmod');
    }
  });

  it('a token file with a byte order mark is read', async () => {
    await mkdir(dirname(tokenFile), { recursive: true, mode: 0o700 });
    const tokens = tokensOf(emu.issueTokens(), { account: { uuid: 'a', emailAddress: 'bom@example.com' } });
    await writeFile(tokenFile, `\uFEFF${JSON.stringify(toStoredCredentials(tokens))}`, { mode: 0o600 });
    const result = await runCli(['status'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Logged in as bom@example.com');
  });
});

describe('pasting into login (item 15 and hostile pastes)', () => {
  it('many junk lines: each is reported, no MaxListenersExceededWarning, then the real answer logs in', async () => {
    const cli = spawnCli(['login', '--manual', '--no-browser'], env);
    const callback = new URL(await emu.approve(await cli.authorizeUrl()));
    const junk = Array.from({ length: 40 }, (_, i) => `junk ${i}\n`).join('');
    cli.write(junk);
    // The 40th report, counted without a backtracking pattern.
    await cli.waitForStderr(/The pasted value has no `#`/);
    for (let tries = 0; (cli.stderr().match(/The pasted value has no `#`/g) ?? []).length < 40; tries++) {
      expect(tries).toBeLessThan(500);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    cli.write(`\u001b[200~${callback.searchParams.get('code')}#${callback.searchParams.get('state')}\u001b[201~\n`);
    const result = await cli.done;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('MaxListenersExceededWarning');
    expect(result.stderr).not.toContain('Warning');
    expect(result.stderr).toContain('Logged in');
  });
});
