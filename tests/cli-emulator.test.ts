/**
 * `anthropic-oauth emulator` as a new user runs it: the built CLI as a child process, its printed
 * `export` lines read as a shell would, and a whole `login --manual` / `status` / `token` / `usage` /
 * `logout` round run with only those variables (plus PATH and a temporary HOME). The "browser" is a
 * tiny HTTP client that reads the emulator's consent page, posts its form and reads the code page.
 * Then Ctrl+C (SIGINT) stops the emulator with exit 0.
 */
import { cp, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliEnv, type CliProcess, profileFileIn, runCli, spawnCli, tokenFileIn } from './helpers/cli-run.js';
import { exists, makeTempDir } from './helpers/fixtures.js';

let temp: Awaited<ReturnType<typeof makeTempDir>>;
const running: CliProcess[] = [];

beforeEach(async () => {
  temp = await makeTempDir('anthropic-oauth-cli-emulator-');
});

afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  }
  await temp.cleanup();
});

/** Only what any shell has: no variable of ours, no ANTHROPIC_*. */
function bareEnv(home: string): CliEnv {
  return { PATH: process.env.PATH ?? '', HOME: home };
}

/** Starts `anthropic-oauth emulator <args>` and waits for its last export line. */
async function startCliEmulator(args: readonly string[] = []): Promise<CliProcess> {
  const cli = spawnCli(['emulator', ...args], bareEnv(temp.dir));
  running.push(cli);
  await cli.waitForStderr(/Serving until Ctrl\+C\./);
  // stdout is another pipe: its lines may arrive after stderr's.
  while (!/ANTHROPIC_OAUTH_PROFILE.*\n/.test(cli.stdout())) {
    if (cli.child.exitCode !== null) throw new Error(`The emulator exited: ${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return cli;
}

/** The variables of `export NAME=VALUE` lines (values plain or single-quoted), as a shell reads them. */
function readExports(stdout: string): { set: CliEnv; unset: string[] } {
  const set: CliEnv = {};
  let unset: string[] = [];
  for (const line of stdout.split('\n')) {
    const assignment = /^export ([A-Z_]+)=(.*)$/.exec(line);
    if (assignment) {
      const raw = assignment[2] ?? '';
      set[assignment[1] ?? ''] = raw.startsWith("'") ? raw.slice(1, -1).replace(/'\\''/g, "'") : raw;
    }
    const names = /^unset (.*)$/.exec(line);
    if (names) unset = (names[1] ?? '').split(' ');
  }
  return { set, unset };
}

/** A person in a browser: open the authorize URL, click Approve, read the code the page shows. */
async function approveInBrowser(authorizeUrl: string): Promise<string> {
  const page = await fetch(authorizeUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toMatch(/local emulator/i);
  const action = /<form method="post" action="([^"]*)">/.exec(html)?.[1] ?? '';
  const fields = [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map(
    ([, name, value]) => [name ?? '', (value ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"')] as [string, string],
  );
  const submitted = await fetch(new URL(action.replace(/&amp;/g, '&'), authorizeUrl), {
    method: 'POST',
    body: new URLSearchParams([...fields, ['decision', 'approve']]),
    redirect: 'manual',
  });
  expect(submitted.status).toBe(302);
  const codePage = await (await fetch(new URL(submitted.headers.get('location') ?? '', authorizeUrl))).text();
  const code = /id="auth-code">([^<]+)</.exec(codePage)?.[1];
  expect(code).toMatch(/#/);
  return code ?? '';
}

describe('anthropic-oauth emulator', () => {
  it('prints exports with which login --manual, status, token, usage and logout work; SIGINT stops it (exit 0)', async () => {
    const emulator = await startCliEmulator();
    expect(emulator.stderr()).toMatch(/^LOCAL EMULATOR of Anthropic's .* this is not Anthropic\.$/m);
    const { set, unset } = readExports(emulator.stdout());
    expect(Object.keys(set).sort()).toEqual(
      [
        'ANTHROPIC_BASE_URL',
        'ANTHROPIC_OAUTH_AUTHORIZE_URL',
        'ANTHROPIC_OAUTH_CONSOLE_AUTHORIZE_URL',
        'ANTHROPIC_OAUTH_CLIENT_ID',
        'ANTHROPIC_OAUTH_PROFILE',
        'ANTHROPIC_OAUTH_PROFILE_URL',
        'ANTHROPIC_OAUTH_REDIRECT_URI',
        'ANTHROPIC_OAUTH_TOKEN_URL',
        'ANTHROPIC_OAUTH_USAGE_URL',
      ].sort(),
    );
    expect(unset).toContain('ANTHROPIC_OAUTH_ACCESS_TOKEN');
    const env = { ...bareEnv(temp.dir), ...set };

    const login = spawnCli(['login', '--manual', '--no-browser'], env);
    running.push(login);
    const code = await approveInBrowser(await login.authorizeUrl());
    login.write(`${code}\n`);
    const loggedIn = await login.done;
    expect(loggedIn.stderr).toContain('Logged in as user@example.com (Example Org)');
    expect(loggedIn.code).toBe(0);
    // In the emulator's own profile: a real login in the default file is never touched.
    expect(await exists(profileFileIn(temp.dir, 'emulator'))).toBe(true);
    expect(await exists(tokenFileIn(temp.dir))).toBe(false);

    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('Logged in as user@example.com');
    expect(status.stdout).toMatch(/Plan: +Claude Max 5x/);
    const token = await runCli(['token'], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^sk-ant-oat01-\S+\n$/);
    const usage = await runCli(['usage'], env);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(/5-hour .* 37% used/);
    const logout = await runCli(['logout'], env);
    expect(logout.code).toBe(0);
    expect(await exists(profileFileIn(temp.dir, 'emulator'))).toBe(false);

    // The Console login too: its authorize page is the emulator's, and the key it makes works there.
    const consoleLogin = spawnCli(['login', '--console', '--manual', '--no-browser'], env);
    running.push(consoleLogin);
    const consoleUrl = await consoleLogin.authorizeUrl();
    expect(consoleUrl.startsWith(set.ANTHROPIC_OAUTH_CONSOLE_AUTHORIZE_URL ?? 'unset')).toBe(true);
    consoleLogin.write(`${await approveInBrowser(consoleUrl)}\n`);
    const consoleDone = await consoleLogin.done;
    expect(consoleDone.code).toBe(0);
    expect(consoleDone.stderr).toContain('an API key was created');
    expect((await runCli(['token'], env)).stdout).toMatch(/^sk-ant-api03-\S+\n$/);
    expect((await runCli(['logout'], env)).code).toBe(0);

    emulator.child.kill('SIGINT');
    const stopped = await emulator.done;
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain('Emulator stopped (SIGINT).');
  });

  it('--json, --plan and --fault: the variables as JSON, the plan reported, the fault served once, each request shown; SIGTERM exits 0', async () => {
    const emulator = await startCliEmulator(['--json', '--plan', 'pro', '--fault', 'token-server-error']);
    const printed = JSON.parse(emulator.stdout());
    expect(printed).toMatchObject({ faults: ['token-server-error'], env: { ANTHROPIC_OAUTH_PROFILE: 'emulator' } });
    const env = { ...bareEnv(temp.dir), ...(printed.env as CliEnv) };

    // The first exchange meets the queued 500: exit 5, nothing saved; the next login works.
    const failing = spawnCli(['login', '--manual', '--no-browser'], env);
    running.push(failing);
    failing.write(`${await approveInBrowser(await failing.authorizeUrl())}\n`);
    const failed = await failing.done;
    expect(failed.code).toBe(5);
    expect(await exists(profileFileIn(temp.dir, 'emulator'))).toBe(false);

    const login = spawnCli(['login', '--manual', '--no-browser'], env);
    running.push(login);
    login.write(`${await approveInBrowser(await login.authorizeUrl())}\n`);
    expect((await login.done).code).toBe(0);
    const status = await runCli(['status'], env);
    expect(status.stdout).toMatch(/Plan: +Claude Pro/);

    // Each request shows on the emulator's terminal: method, path and status; the queued fault's
    // 500 among them; never a query, a header or a body.
    const tokenLines = emulator.stderr().match(/^ {2}POST \/v1\/oauth\/token -> \d+$/gm) ?? [];
    expect(tokenLines).toEqual(['  POST /v1/oauth/token -> 500', '  POST /v1/oauth/token -> 200']);
    expect(emulator.stderr()).toMatch(/^ {2}GET \/oauth\/authorize -> \d+$/m);
    await fetch(`${printed.url}/api/oauth/usage?code=SECRET-CODE&state=SECRET-STATE`);
    await emulator.waitForStderr(/^ {2}GET \/api\/oauth\/usage -> 401$/m);
    expect(emulator.stderr()).not.toMatch(/SECRET|sk-ant-|Bearer/);

    emulator.child.kill('SIGTERM');
    expect((await emulator.done).code).toBe(0);
  });

  it('works from an installed copy of the package: the CLI finds anthropic-oauth/testing beside it', async () => {
    // The built package in a project's node_modules, as npm installs it (no source tree around it).
    const pkg = join(temp.dir, 'app', 'node_modules', 'anthropic-oauth');
    await mkdir(pkg, { recursive: true });
    await cp(resolve('dist'), join(pkg, 'dist'), { recursive: true });
    await cp(resolve('package.json'), join(pkg, 'package.json'));
    const cli = spawnCli(['emulator', '--json'], bareEnv(temp.dir), join(pkg, 'dist', 'cli.cjs'));
    running.push(cli);
    await cli.waitForStderr(/Serving until Ctrl\+C\./);
    while (!cli.stdout().includes('\n')) await new Promise((done) => setTimeout(done, 20));
    const { url } = JSON.parse(cli.stdout());
    expect((await fetch(`${url}/oauth/authorize`)).status).toBe(400);
    cli.child.kill('SIGINT');
    expect((await cli.done).code).toBe(0);
  });

  it('refuses an unknown fault and a bad --token-lifetime as usage errors, naming the faults', async () => {
    const unknown = await runCli(['emulator', '--fault', 'meteor'], bareEnv(temp.dir));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Error: Unknown fault "meteor"\. The faults are token-server-error, /);
    const lifetime = await runCli(['emulator', '--token-lifetime', '-1'], bareEnv(temp.dir));
    expect(lifetime.code).toBe(2);
    expect(lifetime.stderr).toMatch(/^Error: --token-lifetime needs a positive number of seconds\./);
  });
});
