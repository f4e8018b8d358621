/**
 * `anthropic-oauth status | token | logout`, usage errors, `--help` and `--version`, each run as a
 * child process in a temporary HOME against the emulator. `login` is in tests/cli-login.test.ts.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shownArgument } from '../src/cli/args.js';
import { forTerminal, jsonText } from '../src/cli/context.js';
import { TokenStorage } from '../src/store/file.js';
import { nextLineage, pendingJson, writeRescue } from '../src/store/pending.js';
import type { Emulator, IssuedTokens } from '../src/testing/index.js';
import type { OAuthTokens } from '../src/types.js';
import { VERSION } from '../src/version.js';
import { type CliEnv, closedPort, leakedIn, runCli, spawnCli, useCliWorld } from './helpers/cli-run.js';
import { nowSeconds, snapshotEnv, type TempDir, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: TempDir;
let env: CliEnv;
let tokenFile: string;
useCliWorld('anthropic-oauth-cli-', (world) => ({ emu, temp, env, tokenFile } = world));

const SCOPES = 'org:create_api_key user:profile user:inference';

function stored(issued: IssuedTokens, overrides: Partial<OAuthTokens> = {}): OAuthTokens {
  return tokensOf(issued, {
    scope: SCOPES,
    account: { uuid: 'acc-1', emailAddress: 'user@example.com' },
    organization: { uuid: 'org-1', name: 'Example Org' },
    ...overrides,
  });
}

async function logIn(overrides: Partial<OAuthTokens> = {}, path = tokenFile): Promise<OAuthTokens> {
  const tokens = stored(emu.issueTokens(), overrides);
  await new TokenStorage(path).save(tokens);
  return tokens;
}

const secretsOf = (tokens: OAuthTokens): string[] => [tokens.accessToken, tokens.refreshToken].filter(Boolean);

describe('status', () => {
  it('says when nobody is logged in (exit 3), in text and JSON', async () => {
    const text = await runCli(['status'], env);
    expect(text.code).toBe(3);
    expect(text.stdout).toBe(
      `Not logged in (no login in the environment or in ${tokenFile}). Run \`npx anthropic-oauth login\` to sign in.\n`,
    );
    const json = await runCli(['status', '--json'], env);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ logged_in: false, source: null, path: tokenFile, profiles: [] });
  });

  it('shows account, organization, scopes, expiry, refresh token and the masked token', async () => {
    const tokens = await logIn();
    const result = await runCli(['status'], env);
    expect(result.code).toBe(0);
    const iso = new Date(Math.floor(tokens.expiresAt ?? 0) * 1000).toISOString().replace('.000Z', 'Z');
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('Logged in as user@example.com (Example Org)');
    expect(lines[1]).toBe(`  Source:         token file ${tokenFile}`);
    expect(lines[2]).toBe(`  Scopes:         ${SCOPES}`);
    expect(lines[3]).toMatch(new RegExp(`^ {2}Expires: {8}${iso} \\(in 7h 5\\dm\\)$`));
    expect(lines[4]).toBe('  Refresh token:  yes');
    expect(lines[5]).toBe('  Access token:   sk-ant-oat01-…');
    expect(leakedIn(result.stdout + result.stderr, secretsOf(tokens))).toEqual([]);
  });

  it('prints JSON for scripts', async () => {
    const tokens = await logIn();
    const result = await runCli(['status', '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      logged_in: true,
      kind: 'oauth',
      source: 'file',
      path: tokenFile,
      profile: 'default',
      env_variable: null,
      account: { email: 'user@example.com', uuid: 'acc-1' },
      organization: { name: 'Example Org', uuid: 'org-1' },
      scopes: SCOPES.split(' '),
      expires_at: Math.floor(tokens.expiresAt ?? 0),
      expires_at_iso: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      expired: false,
      has_refresh_token: true,
      access_token_masked: 'sk-ant-oat01-…',
      recovered_from: null,
      plan: null,
      profiles: [{ name: 'default', path: tokenFile, email: 'user@example.com', error: null, active: true }],
    });
    expect(leakedIn(result.stdout, secretsOf(tokens))).toEqual([]);
  });

  it('does not refresh an expired login, and says it will be refreshed on use', async () => {
    await logIn({ expiresAt: nowSeconds() - 3 * 3600 - 120 });
    const before = await readFile(tokenFile, 'utf8');
    const result = await runCli(['status'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Expires: +\S+ \(expired 3h [23]m ago; refreshed on next use\)/);
    expect(emu.stats().refresh).toBe(0);
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
  });

  it('exits 4 when the login expired and cannot be refreshed', async () => {
    await logIn({ expiresAt: nowSeconds() - 60, refreshToken: '' });
    const result = await runCli(['status'], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toContain('  Refresh token:  no');
    expect(result.stdout).toContain('The access token has expired and cannot be refreshed.');
  });

  it('names the environment variables as the source when they are set', async () => {
    await logIn();
    const result = await runCli(['status'], {
      ...env,
      ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-from-the-environment-0123456789',
      ANTHROPIC_REFRESH_TOKEN: 'sk-ant-ort01-from-the-environment-0123456789',
      ANTHROPIC_TOKEN_EXPIRES_AT: String(Math.floor(nowSeconds()) + 3600),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Logged in (account unknown: environment variables)');
    expect(result.stdout).toContain('  Source:         environment variable ANTHROPIC_OAUTH_ACCESS_TOKEN');
    expect(result.stdout).toMatch(/\(in (59m \d+s|1h)\)/);
    expect(result.stdout).toContain('  Refresh token:  yes');
    expect(result.stdout).toContain(`  Also saved:     ${tokenFile}`);
    expect(result.stdout).not.toContain('from-the-environment');
    const json = JSON.parse((await runCli(['status', '--json'], { ...env, ANTHROPIC_ACCESS_TOKEN: 'tok' })).stdout);
    expect(json).toMatchObject({ source: 'env', env_variable: 'ANTHROPIC_ACCESS_TOKEN', path: null });
  });

  it('reads --storage, and ANTHROPIC_OAUTH_TOKEN_FILE, instead of the default file', async () => {
    const custom = join(temp.dir, 'custom', 'tokens.json');
    await logIn({}, custom);
    expect((await runCli(['status'], env)).code).toBe(3);
    const flag = await runCli(['status', '--storage', custom], env);
    expect(flag.code).toBe(0);
    expect(flag.stdout).toContain(`token file ${custom}`);
    const variable = await runCli(['--json', 'status'], {
      ...env,
      ANTHROPIC_OAUTH_TOKEN_FILE: custom,
    });
    expect(JSON.parse(variable.stdout)).toMatchObject({ logged_in: true, path: custom });
  });

  it('reports an unsafe token file in one line with the fix (exit 1)', async () => {
    await logIn();
    await chmod(tokenFile, 0o644);
    const result = await runCli(['status'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `Error: The token file ${tokenFile} is accessible to other users (mode 0644). Run \`chmod 600 ${tokenFile}\` and try again.\n`,
    );
  });
});

describe('status: a login read from a copy, not from the store itself (recovered_from)', () => {
  /** A login in the token file, and a later one (another account name, to tell them apart) renewed from it. */
  async function spentAndRenewed(): Promise<{ spent: OAuthTokens; renewed: OAuthTokens }> {
    const spent = await logIn();
    const renewed = stored(emu.issueTokens(), { account: { uuid: 'acc-1', emailAddress: 'renewed@example.com' } });
    return { spent, renewed };
  }

  it('names the rescue copy a renewed login was kept in, in text and in --json', async () => {
    const { spent, renewed } = await spentAndRenewed();
    const state = join(temp.dir, 'state');
    const restore = snapshotEnv();
    let rescue: ReturnType<typeof writeRescue>;
    try {
      process.env.XDG_STATE_HOME = state;
      rescue = writeRescue(tokenFile, pendingJson(renewed, nextLineage(spent, undefined), tokenFile));
    } finally {
      restore();
    }
    const copy = 'file' in rescue ? rescue.file : '';
    expect(copy.startsWith(join(state, 'anthropic-oauth', 'rescue'))).toBe(true);
    const withState = { ...env, XDG_STATE_HOME: state };
    const json = await runCli(['status', '--json'], withState);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      source: 'file',
      path: tokenFile,
      recovered_from: copy,
      account: { email: 'renewed@example.com' },
    });
    const text = await runCli(['status'], withState);
    expect(text.stdout).toContain(`  Source:         token file ${tokenFile}\n`);
    expect(text.stdout).toContain(
      `  Recovered from: ${copy} (${tokenFile} could not take this login when it was saved; do not delete the copy: the next save to ${tokenFile} replaces it)\n`,
    );
    expect(leakedIn(json.stdout + text.stdout, [...secretsOf(spent), ...secretsOf(renewed)])).toEqual([]);
  });

  it('names the journal a process that died mid-save left beside the token file', async () => {
    const { spent, renewed } = await spentAndRenewed();
    const journal = join(temp.dir, '.anthropic', '.oauth_tokens.json.4194303.0123456789ab.tmp');
    await writeFile(journal, pendingJson(renewed, nextLineage(spent, undefined), tokenFile), { mode: 0o600 });
    const json = await runCli(['status', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      recovered_from: journal,
      account: { email: 'renewed@example.com' },
    });
  });

  it('--store keychain with the file fallback (no Secret Service here): names the fallback file', async () => {
    await logIn();
    const json = await runCli(['status', '--store', 'keychain', '--allow-file-fallback', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      source: 'keychain',
      keychain: 'keychain:anthropic-oauth/default',
      recovered_from: tokenFile,
    });
    expect(json.stderr).toMatch(/^WARNING: the OS keychain is unavailable .*reading the login from the token file/m);
  });
});

describe('token', () => {
  it('prints the access token and nothing else', async () => {
    const tokens = await logIn();
    const result = await runCli(['token'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${tokens.accessToken}\n`);
    expect(result.stderr).toBe('');
    expect(emu.stats().refresh).toBe(0);
  });

  it('prints JSON with the expiry in epoch seconds', async () => {
    const tokens = await logIn();
    const result = await runCli(['token', '--json'], env);
    expect(JSON.parse(result.stdout)).toEqual({
      access_token: tokens.accessToken,
      expires_at: Math.floor(tokens.expiresAt ?? 0),
    });
  });

  it('refreshes an expired token first and saves the rotated tokens', async () => {
    const old = await logIn({ expiresAt: nowSeconds() - 60 });
    const result = await runCli(['token'], env);
    expect(result.code).toBe(0);
    expect(emu.stats().refresh).toBe(1);
    const saved = await new TokenStorage(tokenFile).load();
    expect(saved?.accessToken).not.toBe(old.accessToken);
    expect(saved?.refreshToken).not.toBe(old.refreshToken);
    expect(emu.isRefreshTokenLive(saved?.refreshToken ?? '')).toBe(true);
    expect(result.stdout).toBe(`${saved?.accessToken}\n`);
    expect(result.stderr).toBe('');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
  });

  it('exits 3 with a one-line hint when not logged in, printing nothing on stdout', async () => {
    const result = await runCli(['token'], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `Error: Not logged in: no OAuth tokens in the environment or in ${tokenFile}. Run \`npx anthropic-oauth login\` to sign in.\n`,
    );
  });

  it('exits 4 when the refresh token was revoked, and keeps the stored login', async () => {
    const tokens = await logIn({ expiresAt: nowSeconds() - 60, refreshToken: 'sk-ant-ort01-revoked-long-ago' });
    const before = await readFile(tokenFile, 'utf8');
    const result = await runCli(['token', '--debug'], env);
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Error: The login has expired or was revoked.*anthropic-oauth login/m);
    expect(result.stderr).toMatch(
      /^debug: error: OAuthFlowError code=reauth_required status=400 body.error=invalid_grant$/m,
    );
    expect(result.stderr).toMatch(/^debug: caused by: OAuthFlowError code=invalid_grant/m);
    expect(leakedIn(result.stderr, [...secretsOf(tokens)])).toEqual([]);
    expect(await readFile(tokenFile, 'utf8')).toBe(before);
  });

  it('exits 5 when the token endpoint cannot be reached', async () => {
    await logIn({ expiresAt: nowSeconds() - 60 });
    const port = await closedPort();
    const result = await runCli(['token', '--debug'], {
      ...env,
      ANTHROPIC_OAUTH_TOKEN_URL: `http://127.0.0.1:${port}/v1/oauth/token`,
    });
    expect(result.code).toBe(5);
    expect(result.stdout).toBe('');
    // It names the URL it tried (origin and path), so a wrong ANTHROPIC_OAUTH_TOKEN_URL shows.
    expect(result.stderr).toMatch(
      new RegExp(
        `^Error: Could not reach the token endpoint \\(http://127\\.0\\.0\\.1:${port}/v1/oauth/token\\)\\. Check your connection`,
        'm',
      ),
    );
    expect(result.stderr).toMatch(/^debug: error: OAuthFlowError code=network_error$/m);
    expect(result.stderr).toMatch(/^debug: caused by: Error: fetch failed: .*ECONNREFUSED/m);
  });

  it('refuses an http token URL that is not loopback before sending anything (exit 1)', async () => {
    await logIn({ expiresAt: nowSeconds() - 60 });
    const result = await runCli(['token'], { ...env, ANTHROPIC_OAUTH_TOKEN_URL: 'http://example.com/token' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'Error: The token URL must use https (http is allowed only on localhost). Got http://example.com.\n',
    );
  });

  it('prints a token from the environment variables', async () => {
    const result = await runCli(['token'], { ...env, ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-env-token' });
    expect(result).toEqual({ code: 0, stdout: 'sk-ant-oat01-env-token\n', stderr: '' });
  });

  it('into a pipe whose reader has gone (`token | head -c 0`, and status, usage): exit 0, no stack, no token on stderr', async () => {
    const tokens = await logIn();
    // `usage` looks at stdout's stream (a terminal gets colours): the reader's absence must end it quietly too.
    for (const args of [['token'], ['token', '--json'], ['status'], ['usage']]) {
      const cli = spawnCli(args, env);
      // The reading end closed before the CLI writes: its write meets EPIPE.
      cli.child.stdout.destroy();
      cli.child.stdin.end();
      const result = await cli.done;
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code, args.join(' ')).toBe(0);
      expect(leakedIn(result.stderr, secretsOf(tokens))).toEqual([]);
    }
  });
});

describe('logout', () => {
  it('removes the token file, says so, and is idempotent', async () => {
    await logIn();
    const first = await runCli(['logout'], env);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(`Logged out: removed ${tokenFile}\n`);
    await expect(stat(tokenFile)).rejects.toThrow();
    const second = await runCli(['logout'], env);
    expect(second.code).toBe(0);
    expect(second.stderr).toBe(`Already logged out: there is no login at ${tokenFile}\n`);
    expect((await runCli(['status'], env)).code).toBe(3);
  });

  it('says a login from the environment is not affected', async () => {
    await logIn();
    const result = await runCli(['logout'], { ...env, ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-env-token' });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Logged out: removed ${tokenFile}`);
    expect(result.stderr).toContain(
      'ANTHROPIC_OAUTH_ACCESS_TOKEN is still set in the environment: that login is not affected. Unset it to stop using it.',
    );
    expect(result.stderr).not.toContain('env-token');
  });

  it('removes the --storage file only', async () => {
    await logIn();
    const custom = join(temp.dir, 'other.json');
    await logIn({}, custom);
    const result = await runCli(['logout', '--storage', custom], env);
    expect(result.stderr).toBe(`Logged out: removed ${custom}\n`);
    expect((await stat(tokenFile)).isFile()).toBe(true);
  });

  it('fails in one line when the file cannot be removed', async () => {
    await mkdir(join(temp.dir, 'dir.json'));
    await writeFile(join(temp.dir, 'dir.json', 'x'), '');
    const result = await runCli(['logout', '--storage', join(temp.dir, 'dir.json')], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: Could not delete the token file .*dir\.json \(E[A-Z]+\)\.\n$/);
  });
});

describe('usage, --help and --version', () => {
  it.each([
    [
      ['frobnicate'],
      /^Error: Unknown command "frobnicate"\. The commands are login, status, token, logout, usage, setup-token, emulator\./,
    ],
    [['status', '--bogus'], /^Error: Unknown option --bogus for `status`\. Run `anthropic-oauth status --help`/],
    [['login', '--json'], /^Error: Unknown option --json for `login`\./],
    [['login', '--port', 'eighty'], /^Error: --port must be a number from 1 to 65535\./],
    [['login', '--port', '70000'], /^Error: --port must be a number from 1 to 65535\./],
    [['setup-token', '--port', 'abc'], /^Error: --port must be a number from 1 to 65535\./],
    [['login', '--timeout', '0'], /^Error: --timeout must be a positive number of seconds\./],
    [['login', '--manual', '--port', '8080'], /^Error: --port has no use with --manual/],
    [['token', '--storage'], /^Error: --storage needs a file path\./],
    [
      ['login', '--timeout', '-5'],
      /^Error: --timeout needs a positive number of seconds\. Run `anthropic-oauth login --help`/,
    ],
    [['login', '--port', '-1'], /^Error: --port needs a port number from 1 to 65535\./],
    [['login', '--timeout=-5'], /^Error: --timeout must be a positive number of seconds\./],
    [['logout', 'now'], /^Error: Unexpected argument for `logout`: now\./],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--help lists the commands, options and exit codes', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const result = await runCli(args, env);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: anthropic-oauth <command> [options]');
      for (const text of ['login', 'status', 'token', 'logout', '--storage PATH', '--debug', 'Exit codes:']) {
        expect(result.stdout).toContain(text);
      }
      expect(result.stdout).toMatch(/^ {2}3 {4}not logged in$/m);
      expect(result.stdout).toMatch(/^ {2}4 {4}login needed again/m);
      expect(result.stdout).toMatch(/^ {2}5 {4}network failure/m);
    }
  });

  it('no command at all is a usage error: the help on stderr, exit 2', async () => {
    for (const args of [[], ['--debug'], ['--profile', 'work']]) {
      const result = await runCli(args, env);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('Usage: anthropic-oauth <command> [options]');
    }
  });

  it('<command> --help shows that command’s options', async () => {
    const cases: Array<[string, string[]]> = [
      ['login', ['--no-browser', '--manual', '--port N', '--timeout SECONDS']],
      ['status', ['--json']],
      ['token', ['--json', 'ANTHROPIC_AUTH_TOKEN="$(anthropic-oauth token)"']],
      ['logout', ['not affected']],
    ];
    for (const [command, texts] of cases) {
      for (const args of [
        [command, '--help'],
        ['help', command],
      ]) {
        const result = await runCli(args, env);
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(`Usage: anthropic-oauth ${command} [options]`);
        for (const text of texts) expect(result.stdout).toContain(text);
      }
    }
  });

  it('--version prints the version', async () => {
    expect(await runCli(['--version'], env)).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
});

/** The characters of `text` a terminal would act on: C0 (but tab and newline), DEL, C1, bidi overrides. */
function unsafeIn(text: string): string[] {
  return Array.from(text).filter((char) => {
    const code = char.charCodeAt(0);
    return (
      (code < 0x20 && code !== 0x09 && code !== 0x0a) ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x202a && code <= 0x202e)
    );
  });
}

describe('secrets and hostile text never reach the terminal (issue 10 item 9)', () => {
  const TOKEN = 'sk-ant-oat01-SECRETSECRETSECRETSECRET0123456789';
  const OPAQUE = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQifQ.SECRETsignature';

  it.each([
    [['token', TOKEN], /^Error: Unexpected argument for `token`: sk-ant-oat01-…\. Run/],
    [['status', OPAQUE], /^Error: Unexpected argument for `status`: eyJh…\. Run/],
    [[TOKEN], /^Error: Unknown command "sk-ant-oat01-…"\. The commands are/],
    [[OPAQUE, 'status'], /^Error: Unknown command "eyJh…"\./],
    [['help', TOKEN], /^Error: Unknown command "sk-ant-oat01-…"\. Run/],
    [['status', `--${TOKEN}`], /^Error: Unknown option sk-ant-oat01-… for `status`\./],
    [['status', `--token=${TOKEN}`], /^Error: Unknown option --token for `status`\./],
    [['login', `--port=${TOKEN}`], /^Error: --port must be a number from 1 to 65535\./],
    [['logout', 'short-SECRET'], /^Error: Unexpected argument for `logout`: short-SECRET\./],
  ])('%j: a usage error that never shows the whole token', async (args, message) => {
    const result = await runCli(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    for (const secret of [TOKEN, OPAQUE]) expect(result.stderr).not.toContain(secret.slice(0, 20));
  });

  it('an escape sequence given as an argument is not echoed', async () => {
    for (const args of [['\u001b]0;pwned\u0007'], ['status', '\u001b[2J\u001b[31mred'], ['status', '--\u001b[2Jx']]) {
      const result = await runCli(args, env);
      expect(result.code).toBe(2);
      expect(unsafeIn(result.stderr)).toEqual([]);
      expect(result.stderr).not.toContain('pwned');
    }
  });

  /** Organization, account and scope text with every trick a terminal understands. */
  const HOSTILE = {
    org: 'Evil\u001b[2J\u001b[H Org\u001b]0;pwned-title\u0007\u009b31m\u202e',
    email: 'user\r@example.com\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\',
  };

  it('status prints server-supplied names without their escape sequences, and JSON keeps them exact', async () => {
    await logIn({
      organization: { uuid: 'org-1', name: HOSTILE.org },
      account: { uuid: 'acc-1', emailAddress: HOSTILE.email },
    });
    const text = await runCli(['status'], env);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe('Logged in as user@example.comclick (Evil Org)');
    expect(unsafeIn(text.stdout)).toEqual([]);
    expect(text.stdout).not.toContain('pwned-title');

    const json = await runCli(['status', '--json'], env);
    expect(unsafeIn(json.stdout)).toEqual([]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      organization: { name: HOSTILE.org },
      account: { email: HOSTILE.email },
    });
  });

  it('an error description with escape sequences from the token endpoint is printed without them', async () => {
    const tokens = await logIn({ expiresAt: nowSeconds() - 60 });
    emu.faults.tokenMalformed(
      JSON.stringify({
        error: 'invalid_request\u001b[2J',
        error_description: 'Bad \u001b[31mred\u001b[0m \u001b]0;pwned\u0007text\r\u009b2K done',
      }),
      1,
      400,
    );
    const result = await runCli(['token', '--debug'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Error: The token endpoint answered HTTP 400: invalid_request \(Bad red text done\)\./m,
    );
    expect(unsafeIn(result.stderr)).toEqual([]);
    expect(leakedIn(result.stdout + result.stderr, secretsOf(tokens))).toEqual([]);
  });

  it('a refresh token of any shape that the endpoint echoes is not printed, even with --debug', async () => {
    const refreshToken = 'opaque-refresh/token+value=0123456789abcdef';
    const tokens = await logIn({ expiresAt: nowSeconds() - 60, refreshToken });
    // A real server on 127.0.0.1 that echoes the request body into its error.
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
      });
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_request', error_description: `you sent ${raw}` }));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as { port: number };
      const result = await runCli(['token', '--debug'], {
        ...env,
        ANTHROPIC_OAUTH_TOKEN_URL: `http://127.0.0.1:${port}/v1/oauth/token`,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('"refresh_token":"[redacted]"');
      expect(leakedIn(result.stdout + result.stderr, [...secretsOf(tokens), encodeURIComponent(refreshToken)])).toEqual(
        [],
      );
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('a token URL with user:password@ is refused, without the password', async () => {
    await logIn({ expiresAt: nowSeconds() - 60 });
    for (const url of ['https://user:p4ss-SECRET@platform.example.com/t', 'https://u:p4ss-SECRET@[bad/t']) {
      const result = await runCli(['token', '--debug'], { ...env, ANTHROPIC_OAUTH_TOKEN_URL: url });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^Error: The token URL (must not contain a user name or password|is not a valid URL)/,
      );
      expect(result.stderr).not.toContain('SECRET');
      expect(emu.stats().refresh).toBe(0);
    }
  });
});

describe('forTerminal / jsonText / shownArgument', () => {
  it.each([
    ['CSI colour and clear', 'a\u001b[31mb\u001b[0m\u001b[2Jc', 'abc'],
    ['8-bit CSI', 'a\u009b31mb', 'ab'],
    ['OSC title ended by BEL', 'a\u001b]0;title\u0007b', 'ab'],
    ['OSC 8 hyperlink ended by ST', 'a\u001b]8;;https://x\u001b\\link\u001b]8;;\u001b\\b', 'alinkb'],
    ['8-bit OSC ended by 8-bit ST', 'a\u009d0;t\u009cb', 'ab'],
    ['an unterminated OSC swallows the rest', 'a\u001b]0;never ends', 'a'],
    ['DCS', 'a\u001bPq#0;2;0;0;0\u001b\\b', 'ab'],
    ['ESC ( B and ESC c', 'a\u001b(Bb\u001bcc', 'abc'],
    ['ESC at the end', 'ab\u001b', 'ab'],
    ['CR, BS, BEL, NUL, DEL', 'a\rb\bc\u0007d\u0000e\u007f', 'abcde'],
    ['bidirectional overrides and isolates', 'a\u202eb\u2066c\u2069\u200fd', 'abcd'],
    ['tab, newline and unicode are kept', 'a\tb\nÜ 🙂 日本', 'a\tb\nÜ 🙂 日本'],
  ])('forTerminal strips %s', (_label, input, output) => {
    expect(forTerminal(input)).toBe(output);
  });

  it('jsonText keeps the data exact with C1, DEL and bidi characters escaped', () => {
    const value = { name: 'x\u009b31m\u007f\u202e\u001b[2Jy', n: 1 };
    const text = jsonText(value);
    expect(unsafeIn(text)).toEqual([]);
    expect(text).toContain('\\u009b');
    expect(JSON.parse(text)).toEqual(value);
  });

  it.each([
    ['frobnicate', 'frobnicate'],
    ['--bogus', '--bogus'],
    ['sk-ant-oat01-abc', 'sk-ant-oat01-…'],
    ['--sk-ant-oat01-abc', 'sk-ant-oat01-…'],
    ['a-very-long-word-that-is-probably-a-secret', 'a-ve…'],
    ['"quoted"', '…'],
    ['\u001b[2Jxxxxxxxxxxxxxxxxxxxxxx', '…'],
    ['', '…'],
  ])('shownArgument(%j) is %j', (value, shown) => {
    expect(shownArgument(value)).toBe(shown);
  });
});
