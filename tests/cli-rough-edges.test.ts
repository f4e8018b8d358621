/**
 * The CLI's rough edges of issue 13, each as a new user met it: hints that name the exact command
 * (profile, store, token file), a store that cannot save found out before the browser, aligned
 * `--help` columns, JSON errors with `--json`, and `--allow-file-fallback` covering a missing
 * `@napi-rs/keyring`. Each runs the built CLI as a child process in a temporary HOME against the
 * emulator. (`--timeout -5`, bare `anthropic-oauth`, the URL in a network error are in
 * tests/cli.test.ts; the wrong-state re-prompt in tests/cli-login.test.ts.)
 */
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/args.js';
import { OPTION_COLUMN } from '../src/cli/help.js';
import { exactHints, loginCommand, shellQuote } from '../src/cli/hint.js';
import { TokenStorage } from '../src/store/file.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { type CliEnv, cliEnv, closedPort, profileFileIn, runCli, tokenFileIn } from './helpers/cli-run.js';
import { exists, makeTempDir, nowSeconds, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let env: CliEnv;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-edges-');
  env = cliEnv(temp.dir, emu);
});

afterEach(async () => {
  await emu.close();
  await temp.cleanup();
});

/** A login the emulator knows, saved at `path`. */
async function saveLogin(path: string, expiresAt = nowSeconds() + 3600) {
  const tokens = tokensOf(emu.issueTokens(), { expiresAt, scope: 'user:inference user:profile' });
  await new TokenStorage(path).save(tokens);
  return tokens;
}

describe('hints name the exact command that fixes the login in use', () => {
  it('renders the flags as given, shell-quoted', () => {
    const base = { profile: undefined, store: 'file', allowFileFallback: false, storage: undefined } as const;
    expect(loginCommand(base)).toBe('npx anthropic-oauth login');
    expect(loginCommand({ ...base, profile: 'work' })).toBe('npx anthropic-oauth login --profile work');
    expect(loginCommand({ ...base, profile: 'work', store: 'keychain', allowFileFallback: true })).toBe(
      'npx anthropic-oauth login --profile work --store keychain --allow-file-fallback',
    );
    expect(loginCommand({ ...base, storage: "/tmp/it's here/t.json", profile: 'work' })).toBe(
      `npx anthropic-oauth login --storage '/tmp/it'\\''s here/t.json'`,
    );
    expect(shellQuote('$(rm -rf ~)')).toBe("'$(rm -rf ~)'");
    // The library's generic hints, and ours, are all rewritten.
    expect(exactHints('Run `npx anthropic-oauth login` to sign in.', 'npx anthropic-oauth login --profile a')).toBe(
      'Run `npx anthropic-oauth login --profile a` to sign in.',
    );
    expect(exactHints('replace it: `npx anthropic-oauth login --store keychain`.', 'X')).toBe('replace it: `X`.');
  });

  it('status, token and usage for a named profile say `login --profile NAME`', async () => {
    const status = await runCli(['status', '--profile', 'work'], env);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('Run `npx anthropic-oauth login --profile work` to sign in.');
    for (const command of ['token', 'usage']) {
      const result = await runCli([command, '--profile', 'work'], env);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('Run `npx anthropic-oauth login --profile work` to sign in.');
      expect(result.stderr).not.toMatch(/`npx anthropic-oauth login`/);
    }
    // The profile from the environment is named too: the hint works in another shell.
    const fromEnv = await runCli(['token'], { ...env, ANTHROPIC_OAUTH_PROFILE: 'work' });
    expect(fromEnv.stderr).toContain('`npx anthropic-oauth login --profile work`');
  });

  it('a --storage path with a space is quoted, and a revoked login (the library’s hint) is rewritten', async () => {
    const file = join(temp.dir, 'my logins', 'tokens.json');
    const tokens = await saveLogin(file, nowSeconds() - 60);
    // Spend the refresh token elsewhere: reusing it is refused (and revokes the family).
    await fetch(emu.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'refresh_token',
        refresh_token: tokens.refreshToken,
        client_id: emu.oauthConfig.clientId,
      }),
    });
    const result = await runCli(['token', '--storage', file], env);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`Run \`npx anthropic-oauth login --storage '${file}'\` to sign in.`);
  });
});

describe('login checks the store before the browser', () => {
  it('a token file whose directory cannot be created: the error before any URL, nothing spent', async () => {
    // A file where the directory should be (ENOTDIR, also as root).
    await writeFile(join(temp.dir, 'blocker'), 'not a directory');
    const file = join(temp.dir, 'blocker', 'tokens.json');
    const result = await runCli(['login', '--no-browser', '--storage', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Error: Cannot sign in: the login could not be saved to .*tokens\.json \(a part of the path is not a directory\)\. Nothing was sent to Anthropic\./m,
    );
    expect(result.stderr).toContain(`then run \`npx anthropic-oauth login --storage ${file}\` again.`);
    expect(result.stderr).not.toContain('/oauth/authorize');
    expect(emu.requests).toEqual([]);
  });

  it('a corrupt token file is no reason to refuse: the new login replaces it', async () => {
    const file = tokenFileIn(temp.dir);
    await mkdir(join(temp.dir, '.anthropic'), { recursive: true, mode: 0o700 });
    await writeFile(file, '{ not json', { mode: 0o600 });
    const result = await runCli(['login', '--no-browser', '--timeout', '1'], env);
    // It got as far as the URL and waited (then gave up: nobody answered).
    expect(result.stderr).toContain('/oauth/authorize');
    expect(result.code).toBe(6);
  });
});

describe('--help', () => {
  it.each([['(main)', ['--help']], ...COMMANDS.map((command) => [command, [command, '--help']] as [string, string[]])])(
    '%s: every option description starts in the one column',
    async (_name, args) => {
      const { code, stdout } = await runCli(args, env);
      expect(code).toBe(0);
      const lines = stdout.split('\n');
      const start = lines.indexOf('Options:');
      expect(start).toBeGreaterThan(-1);
      const block = lines.slice(start + 1, lines.indexOf('', start));
      expect(block.length).toBeGreaterThan(3);
      const misaligned = block.filter((line) => {
        // A continuation line: the description column exactly.
        if (line.startsWith(' '.repeat(OPTION_COLUMN))) return line[OPTION_COLUMN] === ' ';
        // `  --flag ARG   description` (names hold single spaces only), or a long name alone on its line.
        const gap = /^ {2,}\S.*?\S {2,}(?=\S)/.exec(line);
        return gap !== null && gap[0].length !== OPTION_COLUMN;
      });
      expect(misaligned).toEqual([]);
    },
  );
});

describe('--json failures print a JSON error object on stdout', () => {
  it('status --json with a corrupt token file: {"error": {code, message, hint}}, exit 1', async () => {
    await mkdir(join(temp.dir, '.anthropic'), { recursive: true, mode: 0o700 });
    await writeFile(tokenFileIn(temp.dir), '{ not json', { mode: 0o600 });
    const result = await runCli(['status', '--json', '--profile', 'default'], {
      ...env,
      ANTHROPIC_OAUTH_TOKEN_FILE: tokenFileIn(temp.dir),
    });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: {
        code: 'corrupt_file',
        message: expect.stringContaining('is not valid JSON'),
        hint: null,
      },
    });
    expect(result.stderr).toMatch(/^Error: The token file .* is not valid JSON/);
  });

  it('token --json and usage --json when not logged in: the exact login command as the hint, exit 3', async () => {
    for (const command of ['token', 'usage']) {
      const result = await runCli([command, '--json', '--profile', 'work'], env);
      expect(result.code).toBe(3);
      const { error } = JSON.parse(result.stdout);
      expect(error).toEqual({
        code: 'not_logged_in',
        message: expect.stringContaining('Not logged in'),
        hint: 'Run `npx anthropic-oauth login --profile work` to sign in.',
      });
    }
  });

  it('usage --json when the API cannot be reached names it, exit 5', async () => {
    await saveLogin(tokenFileIn(temp.dir));
    const base = `http://127.0.0.1:${await closedPort()}`;
    const result = await runCli(['usage', '--json'], { ...env, ANTHROPIC_BASE_URL: base });
    expect(result.code).toBe(5);
    const { error } = JSON.parse(result.stdout);
    expect(error.code).toBe('network_error');
    expect(error.message).toContain(base);
  });
});

describe('without @napi-rs/keyring installed', () => {
  /** The built package installed in a project without the optional peer; its CLI. */
  async function installWithoutKeyring(): Promise<string> {
    const root = resolve('.');
    const app = join(temp.dir, 'app');
    const pkg = join(app, 'node_modules', 'anthropic-oauth');
    await mkdir(join(app, 'node_modules', '@anthropic-ai'), { recursive: true });
    await cp(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
    await cp(join(root, 'package.json'), join(pkg, 'package.json'));
    for (const dep of ['@anthropic-ai/sdk', 'open', 'proper-lockfile']) {
      await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
    }
    return join(pkg, 'dist', 'cli.cjs');
  }

  it('--allow-file-fallback uses the profile’s token file with a WARNING; without it, the error says what to install', async () => {
    const cli = await installWithoutKeyring();
    const tokens = await saveLogin(profileFileIn(temp.dir, 'a'));
    const run = (args: string[]) => runCli(args, env, '', cli);

    const fallback = await run(['token', '--store', 'keychain', '--allow-file-fallback', '--profile', 'a']);
    expect(fallback.code).toBe(0);
    expect(fallback.stdout).toBe(`${tokens.accessToken}\n`);
    expect(fallback.stderr).toMatch(
      /^WARNING: the OS keychain is unavailable \(@napi-rs\/keyring is not installed\); reading the login from the token file .*a\.json instead\.$/m,
    );

    const strict = await run(['token', '--store', 'keychain', '--profile', 'a']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^Error: The keychain store needs the optional package @napi-rs\/keyring/);

    // login finds out before the browser.
    const login = await run(['login', '--no-browser', '--store', 'keychain']);
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/^Error: The keychain store needs the optional package @napi-rs\/keyring/);
    expect(login.stderr).not.toContain('/oauth/authorize');
    expect(emu.requests.filter((request) => request.path === '/v1/oauth/token')).toEqual([]);
    expect(await exists(tokenFileIn(temp.dir))).toBe(false);
  });
});
