/**
 * "A login must never be lost" (issue 10): a refresh token is spent only when the new one can be
 * kept. Real file systems made hostile as root (an immutable file, a full tmpfs, a read-only bind
 * mount, a directory made immutable in the middle of a refresh), the emulator as the token
 * endpoint, and its request log to prove that no token request was sent.
 */
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenSource } from '../src/provider.js';
import { TokenStorage } from '../src/store/file.js';
import { type Emulator, type IssuedTokens, startEmulator } from '../src/testing/index.js';
import type { OAuthTokens } from '../src/types.js';
import { type CliEnv, cliEnv, runCli } from './helpers/cli-run.js';
import { makeTempDir, nowSeconds, snapshotEnv, tokenRequests, tokensOf } from './helpers/fixtures.js';
import {
  bindReadOnly,
  chattr,
  clearImmutable,
  fillDisk,
  gatedFetch,
  mountTmpfs,
  requireRoot,
  startTokenProxy,
  unmountAll,
} from './helpers/hostile.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
/** The token file's directory, and the token file. */
let dir: string;
let path: string;
/** Where rescue copies go in these tests (`XDG_STATE_HOME`, `TMPDIR`). */
let state: string;
let tmp: string;
let mounts: string[];
let restoreEnv: () => void;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-loss-');
  dir = join(temp.dir, 'store');
  path = join(dir, 'login.json');
  state = join(temp.dir, 'state');
  tmp = join(temp.dir, 'tmp');
  for (const d of [dir, state, tmp]) await mkdir(d, { mode: 0o700 });
  mounts = [];
  restoreEnv = snapshotEnv();
  process.env.XDG_STATE_HOME = state;
  process.env.TMPDIR = tmp;
  delete process.env.XDG_RUNTIME_DIR;
});
afterEach(async () => {
  restoreEnv();
  for (const mount of mounts.reverse()) unmountAll(mount);
  clearImmutable(temp.dir);
  await emu.close();
  await temp.cleanup();
});

const source = (options: Parameters<typeof createTokenSource>[0] = {}) =>
  createTokenSource({ oauthConfig: emu.oauthConfig, env: {}, tokenStorage: path, ...options });

/** A stored login: `expired` (must be refreshed) or `expiring` (inside the buffer, still valid). */
async function storeLogin(kind: 'expired' | 'expiring'): Promise<IssuedTokens> {
  const issued = emu.issueTokens();
  const expiresAt = kind === 'expired' ? nowSeconds() - 1 : nowSeconds() + 100;
  await new TokenStorage(path).save(tokensOf(issued, { expiresAt }));
  return issued;
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; path?: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error & { code?: string };
}

const mount = (where: string, size: string): void => {
  mountTmpfs(where, size);
  mounts.push(where);
};

const rescueDir = (): string => join(state, 'anthropic-oauth', 'rescue');

describe('a token file that cannot take a save: nothing is spent', () => {
  beforeEach(requireRoot);

  it('immutable (chattr +i): a still-valid token is served, and no token request is sent', async () => {
    const issued = await storeLogin('expiring');
    chattr('+i', path);
    expect((await source().getTokens()).accessToken).toBe(issued.accessToken);
    expect(tokenRequests(emu)).toHaveLength(0);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
    expect(await readdir(dir)).toEqual(['login.json']);
  });

  it('immutable, with an expired token: an error saying what to fix, no token request, the login intact', async () => {
    const issued = await storeLogin('expired');
    const before = await readFile(path, 'utf8');
    chattr('+i', path);
    const error = await rejection(source().getTokens());
    expect(error).toMatchObject({ name: 'TokenStorageError', code: 'permission_denied', path });
    expect(error.message).toContain('not renewed');
    expect(error.message).toContain('chattr -i');
    expect(error.message).toContain('Nothing was changed');
    expect(error.message).not.toMatch(/try again/i);
    expect(tokenRequests(emu)).toHaveLength(0);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(dir)).toEqual(['login.json']);
  });

  it('on a full disk (a 64 KiB tmpfs): no token request; a still-valid token is served', async () => {
    mount(dir, '64k');
    const issued = await storeLogin('expired');
    fillDisk(dir);
    const error = await rejection(source().getTokens());
    expect(error).toMatchObject({ code: 'write_failed', message: expect.stringContaining('the disk is full') });
    expect(tokenRequests(emu)).toHaveLength(0);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
    const stillValid = tokensOf(issued, { expiresAt: nowSeconds() + 100 });
    expect((await source({ oauthTokens: stillValid }).getTokens()).accessToken).toBe(issued.accessToken);
    expect(tokenRequests(emu)).toHaveLength(0);
  });

  it('in a read-only directory: the lock cannot be created; a still-valid token is served, an expired one is lock_unavailable', async () => {
    const issued = await storeLogin('expiring');
    bindReadOnly(dir);
    mounts.push(dir);
    expect((await source().getTokens()).accessToken).toBe(issued.accessToken);
    const expired = tokensOf(issued, { expiresAt: nowSeconds() - 1 });
    const error = await rejection(source({ oauthTokens: expired }).getTokens());
    expect(error).toMatchObject({
      code: 'lock_unavailable',
      message: expect.stringContaining('read-only file system'),
    });
    expect(error.message).not.toMatch(/try again|delete|rm /i);
    expect(tokenRequests(emu)).toHaveLength(0);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
  });
});

describe('a save that fails after the refresh token was spent: the renewed login survives', () => {
  beforeEach(requireRoot);

  it('the directory becomes immutable during the refresh: kept in a rescue copy that later runs use, then moved back', async () => {
    const issued = await storeLogin('expired');
    const gate = gatedFetch(() => chattr('+i', dir));
    gate.release();
    const s = source({ fetch: gate.fetch });
    const error = await rejection(s.getTokens());
    expect(error).toMatchObject({ name: 'TokenStorageError', code: 'saved_elsewhere', path });
    const [rescue] = await readdir(rescueDir());
    const rescuePath = join(rescueDir(), rescue ?? '');
    expect(error.message).toContain(rescuePath);
    expect(error.message).toContain('do not delete it');
    expect(error.message).not.toMatch(/try again/i);
    expect((await stat(rescuePath)).mode & 0o777).toBe(0o600);
    expect((await stat(rescueDir())).mode & 0o777).toBe(0o700);
    // The lock could not be removed from the immutable directory: it is left stale for the next taker.
    expect((await stat(`${path}.lock`)).mtimeMs).toBe(0);
    // The spent login is still in the file; every reader gets the renewed one instead.
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);
    const renewed = await s.getTokens();
    expect(emu.isRefreshTokenLive(renewed.refreshToken)).toBe(true);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(renewed.accessToken);
    expect((await source().getTokens()).accessToken).toBe(renewed.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    // Writable again: the next renewal (8 h later) writes the file and removes the copy.
    clearImmutable(dir);
    const later = source({ now: () => nowSeconds() + 8 * 3600 - 60 });
    const next = await later.getTokens();
    expect(next.accessToken).not.toBe(renewed.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 2, invalidGrant: 0 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ access_token: next.accessToken });
    expect(await readdir(rescueDir())).toEqual([]);
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a rescue copy someone made readable by others (0644) is refused with the chmod to run, never passed over', async () => {
    const issued = await storeLogin('expired');
    const gate = gatedFetch(() => chattr('+i', dir));
    gate.release();
    await rejection(source({ fetch: gate.fetch }).getTokens());
    const [rescue] = await readdir(rescueDir());
    const rescuePath = join(rescueDir(), rescue ?? '');
    await chmod(rescuePath, 0o644);
    // Passing over it would send the refresh token the file still holds, which is spent.
    const error = await rejection(source().getTokens());
    expect(error).toMatchObject({ name: 'TokenStorageError', code: 'permission_denied', path: rescuePath });
    expect(error.message).toBe(
      `The renewed login kept in ${rescuePath} is accessible to other users (mode 0644). It holds the only live refresh token of this login (the one in ${path} is used up): run \`chmod 600 ${rescuePath}\` and try again.`,
    );
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);
    // Following the advice as written brings the renewed login back, with no refresh.
    await chmod(rescuePath, 0o600);
    const renewed = await source().getTokens();
    expect(emu.isRefreshTokenLive(renewed.refreshToken)).toBe(true);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  });

  it('a rescue location that is not ours (a symlink planted there) is passed over for the next one', async () => {
    await storeLogin('expired');
    const attacker = join(temp.dir, 'attacker');
    await mkdir(attacker);
    await mkdir(join(state, 'anthropic-oauth'));
    await symlink(attacker, rescueDir());
    const gate = gatedFetch(() => chattr('+i', path));
    gate.release();
    const error = await rejection(source({ fetch: gate.fetch }).getTokens());
    const fallback = join(tmp, `anthropic-oauth-${process.getuid?.()}`, 'rescue');
    expect(error).toMatchObject({ code: 'saved_elsewhere', message: expect.stringContaining(fallback) });
    expect(await readdir(attacker)).toEqual([]);
    expect((await stat(fallback)).mode & 0o777).toBe(0o700);
    expect((await stat(join(fallback, '..'))).mode & 0o777).toBe(0o700);
    expect((await readdir(fallback)).map((name) => name.endsWith('.json'))).toEqual([true]);
  });

  it('nothing can keep it (journal removed, rescue disks full): the error says the login will be lost, never "try again"; this source keeps it and never replays the spent token', async () => {
    const issued = await storeLogin('expired');
    mount(state, '16k');
    mount(tmp, '16k');
    fillDisk(state);
    fillDisk(tmp);
    let once = false;
    const gate = gatedFetch(async () => {
      if (once) return;
      once = true;
      chattr('+i', path);
      // Something deletes our temporary file while the request is out.
      for (const name of await readdir(dir)) if (name.endsWith('.tmp')) await unlink(join(dir, name));
    });
    gate.release();
    let shift = 0;
    const s = source({ fetch: gate.fetch, now: () => nowSeconds() + shift });
    const error = await rejection(s.getTokens());
    expect(error).toMatchObject({ code: 'write_failed', path });
    expect(error.message).toContain('could not be saved');
    expect(error.message).toContain('anthropic-oauth login');
    expect(error.message).not.toMatch(/try again/i);
    const renewed = await s.getTokens();
    expect(renewed.accessToken).not.toBe(issued.accessToken);
    // The file still holds the spent login: 8 h later this source renews with its own refresh
    // token, not the spent one in the file, and saves the result.
    chattr('-i', path);
    shift = 8 * 3600 - 60;
    const next = await s.getTokens();
    expect(next.accessToken).not.toBe(renewed.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 2, invalidGrant: 0 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ access_token: next.accessToken });
  });
});

describe('the CLI after a save that failed mid-refresh', () => {
  let env: CliEnv;
  let proxy: Awaited<ReturnType<typeof startTokenProxy>> | undefined;
  beforeEach(() => {
    requireRoot();
    env = { ...cliEnv(temp.dir, emu), XDG_STATE_HOME: state, TMPDIR: tmp };
    proxy = undefined;
  });
  afterEach(async () => {
    await proxy?.close();
  });

  it('`token` prints the renewed token and warns where it is kept; the next run uses it without a refresh', async () => {
    const issued = await storeLogin('expired');
    proxy = await startTokenProxy(emu, () => chattr('+i', path));
    const first = await runCli(['token', '--storage', path], { ...env, ANTHROPIC_OAUTH_TOKEN_URL: proxy.tokenUrl });
    expect(first.code).toBe(0);
    const token = first.stdout.trim();
    expect(token).not.toBe(issued.accessToken);
    expect(first.stderr).toMatch(
      /^WARNING: The login was renewed, but .* could not be written \(operation not permitted/,
    );
    expect(first.stderr).toContain(rescueDir());
    expect(first.stderr).not.toMatch(/try again/i);
    const second = await runCli(['token', '--storage', path], env);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout.trim()).toBe(token);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  });

  it('with the rescue locations full too, the journal beside the token file keeps it, and the next run uses it', async () => {
    await storeLogin('expired');
    mount(state, '16k');
    mount(tmp, '16k');
    fillDisk(state);
    fillDisk(tmp);
    proxy = await startTokenProxy(emu, () => chattr('+i', path));
    const first = await runCli(['token', '--storage', path], { ...env, ANTHROPIC_OAUTH_TOKEN_URL: proxy.tokenUrl });
    expect(first.code).toBe(0);
    const journal = (await readdir(dir)).find((name) => name.endsWith('.tmp'));
    expect(journal).toBeDefined();
    expect(first.stderr).toContain(join(dir, journal ?? ''));
    expect((await stat(join(dir, journal ?? ''))).mode & 0o777).toBe(0o600);
    const second = await runCli(['token', '--storage', path], env);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toBe(first.stdout);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  });
});

describe('logout of a symlinked token file', () => {
  let env: CliEnv;
  beforeEach(() => {
    env = cliEnv(temp.dir, emu);
  });

  it('removes the login the link points to (the link stays, for the next login); status then says not logged in', async () => {
    const real = join(temp.dir, 'real.json');
    const tokens: OAuthTokens = tokensOf(emu.issueTokens());
    await new TokenStorage(real).save(tokens);
    const link = join(dir, 'link.json');
    await symlink(real, link);
    const result = await runCli(['logout', '--storage', link], env);
    expect(result).toMatchObject({ code: 0, stderr: `Logged out: removed ${real} (where ${link} points)\n` });
    await expect(stat(real)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await runCli(['status', '--storage', link], env)).code).toBe(3);
    const again = await runCli(['logout', '--storage', link], env);
    expect(again.stderr).toBe(`Already logged out: there is no login at ${link}\n`);
  });

  it('leaves a link target that is not a token file alone, saying so', async () => {
    const other = join(temp.dir, 'notes.txt');
    await writeFile(other, 'my notes, not a login\n');
    const link = join(dir, 'link.json');
    await symlink(other, link);
    const result = await runCli(['logout', '--storage', link], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${link} is a symbolic link to ${other}, which is not a token file`);
    expect(await readFile(other, 'utf8')).toBe('my notes, not a login\n');
  });
});
