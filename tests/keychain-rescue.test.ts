/**
 * The keychain store keeps rotated tokens like the file store does: `prepareSave()` proves, under
 * the lock and before the refresh token is spent, that the keychain entry can be written; a renewed
 * login the keychain refuses afterwards goes to a rescue file beside the lock file (or to the
 * fallback file), which the next run uses until a renewal puts it back in the keychain. The
 * keychain is a `FileKeychain` (tests/helpers/keychain.ts), so several real processes share it; the
 * token endpoint is the emulator, the lock and rescue files are real files under a temporary HOME.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkStoreCanSave } from '../src/cli/commands/store-check.js';
import { KeychainTokenStore, type OAuthTokens, TokenStorage, TokenStorageError } from '../src/index.js';
import { toStoredCredentials } from '../src/oauth-tokens.js';
import { createTokenSource } from '../src/provider.js';
import { nextLineage, pendingJson } from '../src/store/pending.js';
import { type Emulator, type IssuedTokens, startEmulator } from '../src/testing/index.js';
import { makeTempDir, nowSeconds, rejectionOf, snapshotEnv, tokenRequests, tokensOf } from './helpers/fixtures.js';
import { FileKeychain, type FileKeychainPolicy } from './helpers/keychain.js';

const ENTRY = { service: 'anthropic-oauth', account: 'test' };
const LOCATION = 'keychain:anthropic-oauth/test';
const CHILD = join(import.meta.dirname, 'keychain-rescue-child.ts');
/** Seconds ahead of now at which every login the emulator issued has expired. */
const LATER = 2 * 86_400;

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let restoreEnv: () => void;
let keychain: FileKeychain;
let reasons: string[];
/** `~/.anthropic` under the temporary HOME, and the rescue file in it. */
let anthropicDir: string;
let rescueFile: string;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-kc-rescue-');
  restoreEnv = snapshotEnv();
  process.env.HOME = temp.dir;
  keychain = new FileKeychain(join(temp.dir, 'keychain.json'));
  reasons = [];
  anthropicDir = join(temp.dir, '.anthropic');
  rescueFile = join(anthropicDir, 'keychain-anthropic-oauth-test.rescue.json');
});
afterEach(async () => {
  restoreEnv();
  await emu.close();
  await temp.cleanup();
});

/** A store on the shared keychain; `fallback` is a token file path. */
const store = (fallback?: string, timeoutMs?: number) =>
  new KeychainTokenStore({
    account: 'test',
    backend: keychain,
    onFallback: (reason) => reasons.push(reason),
    ...(fallback === undefined ? {} : { fallback }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

/** A token source on `tokenStorage` whose clock runs `shiftSeconds` ahead (so a login expires). */
const source = (tokenStorage: KeychainTokenStore, shiftSeconds = 0) =>
  createTokenSource({
    oauthConfig: emu.oauthConfig,
    env: {},
    tokenStorage,
    now: () => nowSeconds() + shiftSeconds,
  });

/** A login minted by the emulator, put in the keychain: `expired` or `expiring` (inside the buffer, still valid). */
function seed(kind: 'expired' | 'expiring' = 'expired'): { issued: IssuedTokens; secret: string } {
  const issued = emu.issueTokens();
  const tokens = tokensOf(issued, { expiresAt: kind === 'expired' ? nowSeconds() - 1 : nowSeconds() + 100 });
  const secret = JSON.stringify(toStoredCredentials(tokens));
  keychain.put(ENTRY, secret);
  return { issued, secret };
}

const inKeychain = (): OAuthTokens | null => {
  const secret = keychain.secret(ENTRY);
  return secret === null ? null : (JSON.parse(secret) as OAuthTokens);
};
const accessInKeychain = () => (inKeychain() as unknown as { access_token?: string } | null)?.access_token;

/** The rescue file's login, as JSON (the token file format plus `lineage`). */
const rescued = async () => JSON.parse(await readFile(rescueFile, 'utf8')) as Record<string, unknown>;

/** The files under ~/.anthropic other than the lock's own. */
const keptFiles = async () => (await readdir(anthropicDir).catch(() => [])).filter((name) => !name.includes('.lock'));

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Runs tests/keychain-rescue-child.ts on the shared keychain; resolves its exit code and JSON line. */
function child(policy: FileKeychainPolicy): Promise<{ code: number | null; result: Record<string, string> | null }> {
  return new Promise((resolve, reject) => {
    const args = { keychainFile: keychain.file, policy, oauthConfig: emu.oauthConfig, shiftSeconds: 0 };
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
      env: { ...process.env, HOME: temp.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = stdout.trim().split('\n').at(-1);
      if (code !== 0 && code !== 7) reject(new Error(`child exited ${code}: ${stderr}`));
      else resolve({ code, result: line ? (JSON.parse(line) as Record<string, string>) : null });
    });
  });
}

describe('prepareSave: proved before the refresh token is spent', () => {
  it('a keychain that refuses every write: the renewal fails before any token request, the login untouched', async () => {
    const { issued, secret } = seed('expired');
    keychain.policy = 'refuse-writes';
    const error = await rejectionOf(TokenStorageError, source(store()).getTokens());
    expect(error).toMatchObject({ code: 'write_failed', path: LOCATION });
    expect(error.message).toBe(
      `The login in ${LOCATION} was not renewed: renewing uses up the refresh token it holds, and the OS keychain could not save the renewed login. Nothing was spent or changed. The OS keychain could not save ${LOCATION} (Access denied: the item is read-only).`,
    );
    expect(tokenRequests(emu)).toEqual([]);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
    expect(keychain.secret(ENTRY)).toBe(secret);
    expect(await keptFiles()).toEqual([]);
  });

  it('a login still valid keeps being served while the keychain refuses writes, with no token request', async () => {
    const { issued } = seed('expiring');
    keychain.policy = 'refuse-writes';
    const tokens = await source(store()).getTokens();
    expect(tokens.accessToken).toBe(issued.accessToken);
    expect(tokenRequests(emu)).toEqual([]);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
  });

  it('the write-back probe writes what the entry holds, before the token request', async () => {
    const { secret } = seed('expired');
    await source(store()).getTokens();
    // get (load), get (under the lock), get + set-same (prepare), get (compare), set (the renewed login).
    expect(keychain.calls).toEqual(['get', 'get', 'get', 'set-same', 'get', 'set']);
    expect(keychain.secret(ENTRY)).not.toBe(secret);
    expect(await keptFiles()).toEqual([]);
  });
});

describe('login, before the browser (checkStoreCanSave)', () => {
  /** What `login --store keychain` checks. */
  const check = (s: KeychainTokenStore) =>
    checkStoreCanSave({
      store: s,
      kind: 'keychain',
      where: s.location,
      path: undefined,
      explicit: true,
      profile: undefined,
      profileFlag: false,
    });

  it('a keychain that refuses writes over a login it holds: its own refusal, worded for a save, nothing changed', async () => {
    const { secret } = seed('expiring');
    keychain.policy = 'refuse-writes';
    const error = await rejectionOf(TokenStorageError, check(store()));
    expect(error).toMatchObject({ code: 'write_failed', path: LOCATION });
    expect(error.message).toBe(`The OS keychain could not save ${LOCATION} (Access denied: the item is read-only).`);
    expect(keychain.secret(ENTRY)).toBe(secret);
    expect(await keptFiles()).toEqual([]);
  });

  it('a keychain that takes writes: the check writes back what it holds and leaves no file', async () => {
    const { secret } = seed('expiring');
    await check(store());
    expect(keychain.calls).toEqual(['get', 'get', 'set-same']);
    expect(keychain.secret(ENTRY)).toBe(secret);
    expect(await keptFiles()).toEqual([]);
  });
});

describe('the keychain refuses the renewed login (after the refresh)', () => {
  it('kept in a 0600 rescue file beside the lock, named in the error (never "try again"); the next run uses it; a writable keychain gets it back at the next renewal', async () => {
    const { issued, secret } = seed('expired');
    keychain.policy = 'refuse-changes';
    const first = source(store());
    const error = await rejectionOf(TokenStorageError, first.getTokens());
    expect(error).toMatchObject({ code: 'saved_elsewhere', path: LOCATION });
    expect(error.message).toBe(
      `The login was renewed, but the OS keychain did not save it to ${LOCATION} (Access denied: the item is read-only). The renewed login is kept in ${rescueFile}, and this program and later runs use it from there: do not delete it. Once the keychain takes writes again (unlocked, reachable, this program allowed to change the entry), the next renewal saves it there and removes that copy.`,
    );
    expect(error.message).not.toMatch(/try again/i);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);
    expect(keychain.secret(ENTRY)).toBe(secret);
    expect((await stat(rescueFile)).mode & 0o777).toBe(0o600);
    expect((await stat(anthropicDir)).mode & 0o777).toBe(0o700);
    const copy = await rescued();
    expect(emu.isRefreshTokenLive(copy.refresh_token as string)).toBe(true);
    expect(error.message).not.toContain(copy.refresh_token as string);
    expect(error.message).not.toContain(copy.access_token as string);
    // This process goes on with it.
    expect((await first.getTokens()).accessToken).toBe(copy.access_token);
    expect(await keptFiles()).toEqual(['keychain-anthropic-oauth-test.rescue.json']);

    // The next run: the keychain still holds the spent login, the rescue file the live one.
    const next = store();
    expect(await next.loadDetailed()).toMatchObject({ recoveredFrom: rescueFile });
    expect((await source(next).getTokens()).accessToken).toBe(copy.access_token);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    expect(reasons.at(-1)).toBe(
      `${rescueFile} holds a renewed login that the OS keychain (${LOCATION}) did not take; using it. The next renewal saves it to the keychain and removes that copy.`,
    );

    // The keychain takes writes again: the next renewal sends the rescued refresh token, saves the
    // renewed login in the keychain and removes the copy.
    keychain.policy = 'up';
    const renewed = await source(store(), LATER).getTokens();
    expect(emu.stats()).toMatchObject({ refresh: 2, invalidGrant: 0 });
    expect(accessInKeychain()).toBe(renewed.accessToken);
    expect(await keptFiles()).toEqual([]);
    expect(await store().loadDetailed()).toEqual({ tokens: renewed, recoveredFrom: undefined });
  });

  it('with a file fallback, the refused renewed login goes to the fallback file, which later runs prefer', async () => {
    const fallback = join(temp.dir, 'fallback', 'oauth_tokens.json');
    const { secret } = seed('expired');
    keychain.policy = 'refuse-changes';
    const error = await rejectionOf(TokenStorageError, source(store(fallback)).getTokens());
    expect(error).toMatchObject({ code: 'saved_elsewhere', path: LOCATION });
    expect(error.message).toContain(`The renewed login is kept in the token file ${fallback}, and this program`);
    const inFile = (await new TokenStorage(fallback).load()) as OAuthTokens;
    expect(emu.isRefreshTokenLive(inFile.refreshToken)).toBe(true);
    expect(keychain.secret(ENTRY)).toBe(secret);
    expect(await keptFiles()).toEqual([]);
    expect(await store(fallback).loadDetailed()).toEqual({ tokens: inFile, recoveredFrom: fallback });
    expect((await source(store(fallback)).getTokens()).accessToken).toBe(inFile.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  });

  it("a keychain that does not answer the renewed login's save (timeout): kept in the rescue file, used by the next run", async () => {
    seed('expired');
    keychain.policy = 'hang-changes';
    const error = await rejectionOf(TokenStorageError, source(store(undefined, 200)).getTokens());
    expect(error).toMatchObject({ code: 'saved_elsewhere', path: LOCATION });
    expect(error.message).toContain(
      `did not save it to ${LOCATION} (the OS keychain did not answer within 200 ms). The renewed login is kept in ${rescueFile},`,
    );
    const copy = await rescued();
    // Another process (a new backend, not stuck behind the abandoned call) uses it without a refresh.
    keychain = new FileKeychain(keychain.file, 'refuse-changes');
    expect((await source(store()).getTokens()).accessToken).toBe(copy.access_token);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  });

  it("a keychain that becomes unavailable for the renewed login's save, file fallback given: the file takes it, with the usual notice", async () => {
    const fallback = join(temp.dir, 'fallback', 'oauth_tokens.json');
    seed('expired');
    keychain.policy = 'unavailable-changes';
    const tokens = await source(store(fallback)).getTokens();
    expect(((await new TokenStorage(fallback).load()) as OAuthTokens).accessToken).toBe(tokens.accessToken);
    expect(reasons).toEqual([
      `the OS keychain is unavailable (Platform failure: no session bus); saving the login to the token file ${fallback} instead.`,
    ]);
    expect(await keptFiles()).toEqual([]);
    keychain.policy = 'up';
    expect(await store(fallback).loadDetailed()).toEqual({ tokens, recoveredFrom: fallback });
  });

  it('a process that dies while the keychain writes the renewed login leaves the journal, which the next run uses', async () => {
    const { issued } = seed('expired');
    const crashed = await child('exit-on-change');
    expect(crashed.code).toBe(7);
    expect(emu.stats()).toMatchObject({ refresh: 1 });
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);
    const [journal, ...others] = await keptFiles();
    expect(others).toEqual([]);
    expect(journal).toMatch(/^\.keychain-anthropic-oauth-test\.rescue\.json\.\d+\.[0-9a-f]+\.tmp$/);

    const next = store();
    const loaded = await next.loadDetailed();
    expect(loaded.recoveredFrom).toBe(join(anthropicDir, journal as string));
    const tokens = loaded.tokens as OAuthTokens;
    expect(emu.isRefreshTokenLive(tokens.refreshToken)).toBe(true);
    expect((await source(next).getTokens()).accessToken).toBe(tokens.accessToken);
    // The next renewal puts the login in the keychain and sweeps the dead process's journal.
    const renewed = await source(store(), LATER).getTokens();
    expect(emu.stats()).toMatchObject({ refresh: 2, invalidGrant: 0 });
    expect(accessInKeychain()).toBe(renewed.accessToken);
    expect(await keptFiles()).toEqual([]);
  });

  it('two processes racing to renew: one refresh, one rescue file, and the other process uses it', async () => {
    seed('expired');
    const results = await Promise.all([child('refuse-changes'), child('refuse-changes')]);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    const copy = await rescued();
    const outcomes = results.map((run) => run.result?.code ?? run.result?.access).sort();
    expect(outcomes).toEqual([sha(copy.access_token as string), 'saved_elsewhere'].sort());
    expect(emu.isRefreshTokenLive(copy.refresh_token as string)).toBe(true);
    expect(await keptFiles()).toEqual(['keychain-anthropic-oauth-test.rescue.json']);
  });
});

describe('a hostile rescue file', () => {
  /** A real rescue file: a renewal whose renewed login the keychain refused. */
  async function makeRescue(): Promise<Record<string, unknown>> {
    seed('expired');
    keychain.policy = 'refuse-changes';
    await rejectionOf(TokenStorageError, source(store()).getTokens());
    return rescued();
  }

  it('corrupt: ignored and never quoted; the keychain login is used', async () => {
    const { secret } = seed('expiring');
    await mkdir(anthropicDir, { recursive: true, mode: 0o700 });
    await writeFile(rescueFile, '{"access_token": "sk-ant-oat01-LEAKED", "lineage": ', { mode: 0o600 });
    const loaded = await store().loadDetailed();
    expect(loaded.recoveredFrom).toBeUndefined();
    expect(JSON.stringify(toStoredCredentials(loaded.tokens as OAuthTokens))).toBe(secret);
    expect(reasons).toEqual([]);
    expect(await readFile(rescueFile, 'utf8')).toContain('LEAKED');
  });

  it('open to other users (0644): refused with the chmod to run, nothing sent; after the chmod it is used', async () => {
    const copy = await makeRescue();
    await chmod(rescueFile, 0o644);
    const error = await rejectionOf(TokenStorageError, store().load());
    expect(error).toMatchObject({ code: 'permission_denied', path: rescueFile });
    expect(error.message).toBe(
      `The renewed login kept in ${rescueFile} is accessible to other users (mode 0644). It holds the only live refresh token of this login (the one in ${LOCATION} is used up): run \`chmod 600 ${rescueFile}\` and try again.`,
    );
    await rejectionOf(TokenStorageError, source(store()).getTokens());
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    await chmod(rescueFile, 0o600);
    expect((await source(store()).getTokens()).accessToken).toBe(copy.access_token);
  });

  it('a symlink in its place is not followed, even to a copy that names this login: the keychain login is used', async () => {
    const { secret } = seed('expiring');
    const current = (await store().load()) as OAuthTokens;
    await mkdir(anthropicDir, { recursive: true, mode: 0o700 });
    // A well-formed copy of a later login for this very entry, planted elsewhere and linked in.
    const planted = join(temp.dir, 'planted.json');
    const lineage = nextLineage(current, undefined);
    await writeFile(planted, pendingJson(tokensOf(emu.issueTokens()), lineage, rescueFile), { mode: 0o600 });
    await symlink(planted, rescueFile);
    const loaded = await store().loadDetailed();
    expect(loaded.recoveredFrom).toBeUndefined();
    expect(JSON.stringify(toStoredCredentials(loaded.tokens as OAuthTokens))).toBe(secret);
    expect(reasons).toEqual([]);
  });

  it('stale (the keychain holds a later login): ignored, and removed by the next save', async () => {
    await makeRescue();
    const later = tokensOf(emu.issueTokens());
    keychain.put(ENTRY, JSON.stringify(toStoredCredentials(later)));
    expect(await store().loadDetailed()).toEqual({ tokens: later, recoveredFrom: undefined });
    keychain.policy = 'up';
    await store().save(later);
    expect(await keptFiles()).toEqual([]);
  });

  it('behind a file fallback: a renewed copy of the fallback that others can read is refused, never passed over for the keychain login', async () => {
    const fallback = join(temp.dir, 'fallback.json');
    // The keychain holds an older login; the fallback a newer one, whose renewal went to a rescue copy.
    seed('expired');
    const newer = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 50 });
    await new TokenStorage(fallback).save(newer);
    const renewed = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 3600 });
    process.env.XDG_STATE_HOME = join(temp.dir, 'state');
    const { writeRescue, lineageKey } = await import('../src/store/pending.js');
    const kept = writeRescue(
      fallback,
      pendingJson(renewed, { replaces: [lineageKey(newer)], generation: 1 }, fallback),
    );
    const copy = 'file' in kept ? kept.file : '';
    expect(copy).not.toBe('');
    expect((await store(fallback).load())?.accessToken).toBe(renewed.accessToken);
    await chmod(copy, 0o644);
    const error = await rejectionOf(TokenStorageError, store(fallback).load());
    expect(error).toMatchObject({ code: 'permission_denied', path: copy });
    expect(error.message).toContain(`run \`chmod 600 ${copy}\``);
  });

  it('a logout removes it, so the rescued login does not come back', async () => {
    await makeRescue();
    keychain.policy = 'up';
    await store().clear();
    expect(await keptFiles()).toEqual([]);
    expect(await store().load()).toBeNull();
  });
});
