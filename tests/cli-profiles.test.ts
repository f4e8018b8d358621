/**
 * `--profile NAME` and `--store file|keychain`, each command run as a child process in a temporary
 * HOME against the emulator. `npm test` has no D-Bus session, so the OS keychain is unavailable
 * here: `--store keychain` must fail plainly, or fall back to the file with a WARNING.
 */
import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../src/testing/index.js';
import { type CliEnv, loginByPaste, profileFileIn, runCli, tokenFileIn, useCliWorld } from './helpers/cli-run.js';
import { exists, type TempDir } from './helpers/fixtures.js';

let emu: Emulator;
let temp: TempDir;
let env: CliEnv;
// No session bus, whatever the machine running the tests has.
useCliWorld('anthropic-oauth-cli-profiles-', (world) => ({ emu, temp, env } = world), { DBUS_SESSION_BUS_ADDRESS: '' });

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('--profile', () => {
  it('keeps one login per profile, each in its own 0600 file, and logout removes only its own', async () => {
    const fileA = profileFileIn(temp.dir, 'a');
    const fileB = profileFileIn(temp.dir, 'b');
    const a = await loginByPaste(emu, ['--profile', 'a'], env);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain(`Login saved to ${fileA} (profile a)`);
    // The environment variable selects a profile as the flag does.
    const b = await loginByPaste(emu, [], { ...env, ANTHROPIC_OAUTH_PROFILE: 'b' });
    expect(b.code).toBe(0);
    expect(b.stderr).toContain(`Login saved to ${fileB} (profile b)`);

    expect(await modeOf(fileA)).toBe(0o600);
    expect(await modeOf(fileB)).toBe(0o600);
    // The default profile was not touched.
    expect(await exists(tokenFileIn(temp.dir))).toBe(false);

    const tokenA = await runCli(['token', '--profile', 'a'], env);
    const tokenB = await runCli(['token', '--profile', 'b'], env);
    expect(tokenA.code).toBe(0);
    expect(tokenB.code).toBe(0);
    expect(tokenA.stdout).toMatch(/^sk-ant-oat01-\S+\n$/);
    expect(tokenB.stdout).toMatch(/^sk-ant-oat01-\S+\n$/);
    expect(tokenA.stdout).not.toBe(tokenB.stdout);
    expect((await runCli(['token'], { ...env, ANTHROPIC_OAUTH_PROFILE: 'b' })).stdout).toBe(tokenB.stdout);
    // No default login: `token` alone is "not logged in".
    expect((await runCli(['token'], env)).code).toBe(3);

    const status = await runCli(['status'], env);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain('Profiles:');
    expect(status.stdout).toMatch(new RegExp(`^ {4}a {2}user@example\\.com {2}${fileA}$`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^ {4}b {2}user@example\\.com {2}${fileB}$`, 'm'));
    const json = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { profiles: unknown };
    expect(json.profiles).toEqual([
      { name: 'a', path: fileA, email: 'user@example.com', error: null, active: false },
      { name: 'b', path: fileB, email: 'user@example.com', error: null, active: false },
    ]);

    const one = await runCli(['status', '--profile', 'a'], env);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('  Profile:        a');
    expect(one.stdout).toContain(`  Source:         token file ${fileA}`);
    expect(one.stdout).not.toContain('Profiles:');

    const out = await runCli(['logout', '--profile', 'a'], env);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe(`Logged out: removed ${fileA}\n`);
    expect(await exists(fileA)).toBe(false);
    expect(await exists(fileB)).toBe(true);
    expect((await runCli(['token', '--profile', 'b'], env)).stdout).toBe(tokenB.stdout);
    expect((await runCli(['token', '--profile', 'a'], env)).code).toBe(3);
  });

  it('keeps the default profile where it always was, and lists it beside the others', async () => {
    const login = await loginByPaste(emu, ['--profile', 'default'], env);
    expect(login.code).toBe(0);
    expect(login.stderr).toContain(`Login saved to ${tokenFileIn(temp.dir)}`);
    expect(await modeOf(tokenFileIn(temp.dir))).toBe(0o600);
    // Without a named profile, `status` looks exactly as before.
    const plain = await runCli(['status'], env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('Profiles:');

    expect((await loginByPaste(emu, ['--profile', 'work'], env)).code).toBe(0);
    const status = await runCli(['status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout.split('\n')[0]).toBe('Logged in as user@example.com (Example Org)');
    expect(status.stdout).toMatch(
      new RegExp(`^ {2}\\* default {2}user@example\\.com {2}${tokenFileIn(temp.dir)}$`, 'm'),
    );
    expect(status.stdout).toMatch(/^ {4}work {5}user@example\.com {2}\S+work\.json$/m);
  });

  it('lets --storage win over a profile', async () => {
    const file = `${temp.dir}/elsewhere.json`;
    const login = await loginByPaste(emu, ['--profile', 'a', '--storage', file], env);
    expect(login.code).toBe(0);
    expect(await exists(file)).toBe(true);
    expect(await exists(profileFileIn(temp.dir, 'a'))).toBe(false);
  });

  it('refuses an invalid profile name: a usage error for the flag, a configuration error for the variable', async () => {
    for (const name of ['..', '.', 'a/b', 'x'.repeat(65), '']) {
      const result = await runCli(['token', '--profile', name], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^Error: --profile needs a name of 1 to 64 letters, digits/);
    }
    const fromEnv = await runCli(['status'], { ...env, ANTHROPIC_OAUTH_PROFILE: '../etc' });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe(
      'Error: Invalid profile name "../etc": use 1 to 64 letters, digits, `_`, `.` or `-` (not `.` or `..`).\n',
    );
  });
});

describe('--store', () => {
  it('keychain without a Secret Service: one plain error line, exit 1, nothing written', async () => {
    for (const command of ['status', 'token', 'logout']) {
      const result = await runCli([command, '--store', 'keychain', '--profile', 'a'], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^Error: The OS keychain is unavailable \(.*\)\. On Linux it needs a Secret Service/,
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
    // login finds out before the browser: no URL, no code spent.
    const login = await runCli(['login', '--no-browser', '--store', 'keychain'], env);
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/^Error: The OS keychain is unavailable/m);
    expect(login.stderr).not.toContain('/oauth/authorize');
    expect(emu.requests).toEqual([]);
    expect(await exists(tokenFileIn(temp.dir))).toBe(false);
  });

  it('keychain with --allow-file-fallback: a WARNING each time, and the profile’s file is used', async () => {
    const fileA = profileFileIn(temp.dir, 'a');
    const flags = ['--store', 'keychain', '--allow-file-fallback', '--profile', 'a'];
    const login = await loginByPaste(emu, flags, env);
    expect(login.code).toBe(0);
    expect(login.stderr).toMatch(
      /^WARNING: the OS keychain is unavailable .*saving the login to the token file .*a\.json instead\.$/m,
    );
    expect(login.stderr).toContain('Login saved to keychain:anthropic-oauth/a (profile a)');
    expect(await modeOf(fileA)).toBe(0o600);

    const token = await runCli(['token', ...flags], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^sk-ant-oat01-\S+\n$/);
    expect(token.stderr).toMatch(/^WARNING: the OS keychain is unavailable/m);
    // The same login as the file store holds for that profile.
    expect((await runCli(['token', '--profile', 'a'], env)).stdout).toBe(token.stdout);

    const logout = await runCli(['logout', ...flags], env);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toMatch(/^WARNING: /m);
    expect(await exists(fileA)).toBe(false);
  });

  it('refuses bad combinations as usage errors', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['status', '--store', 'vault'], /--store must be file, keychain or redis/],
      [['status', '--allow-file-fallback'], /--allow-file-fallback only applies with --store keychain/],
      [['status', '--store', 'keychain', '--storage', 'x.json'], /--storage is a token file/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args, env);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it('documents --profile, --store and --allow-file-fallback in every command’s --help', async () => {
    for (const command of ['login', 'status', 'token', 'logout']) {
      const help = (await runCli([command, '--help'], env)).stdout;
      for (const flag of ['--profile NAME', '--store file|keychain', '--allow-file-fallback']) {
        expect(help).toContain(flag);
      }
    }
    expect((await runCli(['--help'], env)).stdout).toContain('ANTHROPIC_OAUTH_PROFILE');
  });
});
