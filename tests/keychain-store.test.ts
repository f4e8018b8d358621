/**
 * KeychainTokenStore's own logic on an in-memory keychain backend that can be made unavailable,
 * refuse, hang or flap, in the default `npm test` run: the fallback to the token file, which copy
 * is newer, `clear()` clearing both, `onFallback` being loud, the timeout and the stuck call.
 * The fallback is a real token file in a temporary directory; the flapping case runs a real client
 * against the emulator. tests/keychain.test.ts runs the same store on a real gnome-keyring.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicOAuth, KeychainTokenStore, type OAuthTokens, TokenStorage, TokenStorageError } from '../src/index.js';
import { toStoredCredentials } from '../src/oauth-tokens.js';
import type { KeychainBackend, KeychainEntry, KeychainResult } from '../src/store/keychain.js';
import { startEmulator } from '../src/testing/index.js';
import { hello, makeTempDir, nowSeconds, snapshotEnv, tokensOf } from './helpers/fixtures.js';
import { fakeTokens } from './helpers/keychain.js';

type Mode = 'up' | 'unavailable' | 'failed' | 'hang' | 'throws';

/**
 * A keychain in memory. `mode` applies to every call, and can change between calls (a flapping
 * keychain); `unavailableFor` makes some operations unavailable whatever the mode. A hanging call
 * takes effect, and answers, only on `release()`, like a native call stuck on an unlock prompt
 * that is finally answered.
 */
class MemoryKeychain implements KeychainBackend {
  readonly entries = new Map<string, string>();
  readonly calls: string[] = [];
  mode: Mode = 'up';
  /** Operations answered `unavailable` whatever the mode (a keychain that reads but cannot write). */
  unavailableFor = new Set<'get' | 'set' | 'delete'>();
  readonly #held: Array<() => void> = [];

  /** Lets every hanging call return. */
  release(): void {
    for (const settle of this.#held.splice(0)) settle();
  }

  get(entry: KeychainEntry): Promise<KeychainResult<string | null>> {
    return this.#run('get', () => this.entries.get(key(entry)) ?? null);
  }

  set(entry: KeychainEntry, secret: string): Promise<KeychainResult<void>> {
    return this.#run('set', () => {
      this.entries.set(key(entry), secret);
    });
  }

  delete(entry: KeychainEntry): Promise<KeychainResult<boolean>> {
    return this.#run('delete', () => this.entries.delete(key(entry)));
  }

  async #run<T>(op: 'get' | 'set' | 'delete', effect: () => T): Promise<KeychainResult<T>> {
    const mode = this.unavailableFor.has(op) ? 'unavailable' : this.mode;
    this.calls.push(`${op}:${mode}`);
    switch (mode) {
      case 'up':
        return { ok: true, value: effect() };
      case 'unavailable':
        return { ok: false, kind: 'unavailable', detail: 'Platform failure: no session bus' };
      case 'failed':
        return { ok: false, kind: 'failed', detail: 'Access denied by the keychain' };
      case 'throws':
        throw new Error('backend bug');
      case 'hang':
        return new Promise((resolve) => {
          this.#held.push(() => resolve({ ok: true, value: effect() }));
        });
    }
  }
}

const key = (entry: KeychainEntry) => `${entry.service}/${entry.account}`;

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let restoreEnv: () => void;
let keychain: MemoryKeychain;
let file: string;
let reasons: string[];

beforeEach(async () => {
  temp = await makeTempDir();
  restoreEnv = snapshotEnv();
  process.env.HOME = temp.dir;
  keychain = new MemoryKeychain();
  file = join(temp.dir, 'fallback', 'oauth_tokens.json');
  reasons = [];
});

afterEach(async () => {
  keychain.release();
  restoreEnv();
  await temp.cleanup();
});

/** A store on the memory keychain; `fallback: true` means the token file `file`. */
function store(options: { fallback?: boolean; timeoutMs?: number; backend?: KeychainBackend } = {}) {
  return new KeychainTokenStore({
    account: 'test',
    backend: options.backend ?? keychain,
    timeoutMs: options.timeoutMs ?? 5_000,
    ...(options.fallback ? { fallback: file, onFallback: (reason: string) => reasons.push(reason) } : {}),
  });
}

const inKeychain = () => {
  const secret = keychain.entries.get('anthropic-oauth/test');
  return secret === undefined ? null : JSON.parse(secret);
};
const inFile = () => new TokenStorage(file).load();

describe('on a working keychain', () => {
  it('saves the token file JSON under service/account, loads and clears it', async () => {
    const s = store();
    const tokens = fakeTokens();
    await s.save(tokens);
    expect(inKeychain()).toEqual(toStoredCredentials(tokens));
    expect(await s.load()).toEqual(tokens);
    await s.clear();
    expect(keychain.entries.size).toBe(0);
    expect(await s.load()).toBeNull();
  });

  it('a corrupt secret is corrupt_file, never quoted, even with a fallback holding a login', async () => {
    await new TokenStorage(file).save(fakeTokens());
    keychain.entries.set('anthropic-oauth/test', '{"access_token": "sk-ant-oat01-LEAKED", "refresh_token": 7}');
    const error = await store({ fallback: true })
      .load()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStorageError);
    expect(error).toMatchObject({ code: 'corrupt_file', path: 'keychain:anthropic-oauth/test' });
    expect(`${(error as Error).message} ${inspect(error, { depth: 5 })}`).not.toContain('LEAKED');
    expect(reasons).toEqual([]);
  });
});

describe('an unavailable keychain', () => {
  it('without a fallback: keychain_unavailable for load, save and clear, saying what to do', async () => {
    keychain.mode = 'unavailable';
    const s = store();
    const tokens = fakeTokens();
    for (const step of [() => s.load(), () => s.save(tokens), () => s.clear()]) {
      const error = await step().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenStorageError);
      expect(error).toMatchObject({ code: 'keychain_unavailable', path: 'keychain:anthropic-oauth/test' });
      expect((error as Error).message).toContain('The OS keychain is unavailable (Platform failure: no session bus)');
      expect((error as Error).message).toContain('use the file store (`--store file`), or allow the file fallback');
      expect((error as Error).message).not.toContain(tokens.refreshToken);
    }
    expect(keychain.entries.size).toBe(0);
  });

  it('with a file fallback: saves to and loads from the file, and says so every time', async () => {
    keychain.mode = 'unavailable';
    const s = store({ fallback: true });
    const tokens = fakeTokens();
    await s.save(tokens);
    expect(await s.load()).toEqual(tokens);
    expect(keychain.entries.size).toBe(0);
    expect(await inFile()).toEqual(tokens);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(reasons).toEqual([
      `the OS keychain is unavailable (Platform failure: no session bus); saving the login to the token file ${file} instead.`,
      `the OS keychain is unavailable (Platform failure: no session bus); reading the login from the token file ${file} instead.`,
    ]);
    for (const reason of reasons) expect(reason).not.toContain(tokens.accessToken);
  });

  it('with a file fallback, prepareSave says where a renewed login will go, before one exists', async () => {
    keychain.mode = 'unavailable';
    const s = store({ fallback: true });
    const prepared = await s.prepareSave();
    // Nothing is renewed yet, so nothing is said to be saved.
    expect(reasons).toEqual([
      `the OS keychain is unavailable (Platform failure: no session bus); a renewed login will be saved to the token file ${file} instead.`,
    ]);
    expect(await inFile()).toBeNull();
    const tokens = fakeTokens();
    expect(await prepared.commit(tokens)).toBe(true);
    expect(await inFile()).toEqual(tokens);
  });

  it('a keychain that refuses a call (not unavailable) is not covered by the fallback', async () => {
    const s = store({ fallback: true });
    keychain.mode = 'failed';
    await expect(s.load()).rejects.toMatchObject({
      code: 'read_failed',
      message: 'The OS keychain could not read keychain:anthropic-oauth/test (Access denied by the keychain).',
    });
    await expect(s.save(fakeTokens())).rejects.toMatchObject({ code: 'write_failed', message: /could not save/ });
    await expect(s.clear()).rejects.toMatchObject({ code: 'write_failed', message: /could not delete/ });
    expect(await inFile()).toBeNull();
    expect(reasons).toEqual([]);
  });

  it('a backend that throws is read_failed / write_failed, not a raw error', async () => {
    keychain.mode = 'throws';
    const s = store({ fallback: true });
    await expect(s.load()).rejects.toMatchObject({ name: 'TokenStorageError', code: 'read_failed' });
    await expect(s.save(fakeTokens())).rejects.toMatchObject({ name: 'TokenStorageError', code: 'write_failed' });
    expect(reasons).toEqual([]);
  });

  it('a backend that cannot open (keychain_not_installed) is that error, never a fallback', async () => {
    const notInstalled = new TokenStorageError('keychain_not_installed', 'run `npm install @napi-rs/keyring`');
    const backend: KeychainBackend = {
      open: () => Promise.reject(notInstalled),
      get: () => Promise.reject(new Error('unreachable')),
      set: () => Promise.reject(new Error('unreachable')),
      delete: () => Promise.reject(new Error('unreachable')),
    };
    await expect(store({ fallback: true, backend }).load()).rejects.toBe(notInstalled);
    expect(reasons).toEqual([]);
  });

  it('onFallback defaults to a process warning, every time', async () => {
    keychain.mode = 'unavailable';
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const s = new KeychainTokenStore({ account: 'test', backend: keychain, fallback: file });
      const tokens = fakeTokens();
      await s.save(tokens);
      await s.save(tokens);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toHaveLength(2);
    for (const warning of warnings) {
      expect(warning).toMatchObject({ code: 'ANTHROPIC_OAUTH_KEYCHAIN_FALLBACK' });
      expect(warning.message).toContain(`saving the login to the token file ${file} instead`);
    }
  });
});

describe('which copy is newer', () => {
  const save = async (where: 'keychain' | 'file', tokens: OAuthTokens) => {
    if (where === 'file') await new TokenStorage(file).save(tokens);
    else keychain.entries.set('anthropic-oauth/test', JSON.stringify(toStoredCredentials(tokens)));
  };

  it("the file's login wins when it expires later (saved there while the keychain was down), loudly", async () => {
    const older = fakeTokens({ expiresAt: nowSeconds() + 100 });
    const newer = fakeTokens({ expiresAt: nowSeconds() + 3600 });
    await save('keychain', older);
    await save('file', newer);
    const s = store({ fallback: true });
    expect(await s.load()).toEqual(newer);
    expect(reasons).toEqual([
      `the token file ${file} holds a newer login than the OS keychain (keychain:anthropic-oauth/test), saved there while the keychain was unavailable; using it. The next save puts it back in the keychain.`,
    ]);
    // The next save puts it back in the keychain; from then on the keychain's copy is the newer one.
    const latest = fakeTokens({ expiresAt: nowSeconds() + 7200 });
    await s.save(latest);
    expect(inKeychain()).toEqual(toStoredCredentials(latest));
    expect(await s.load()).toEqual(latest);
    expect(reasons).toHaveLength(1);
  });

  it("the file's login wins when the keychain has none", async () => {
    const tokens = fakeTokens();
    await save('file', tokens);
    expect(await store({ fallback: true }).load()).toEqual(tokens);
    expect(reasons).toHaveLength(1);
  });

  it.each([
    ['the keychain expires later', { expiresAt: nowSeconds() + 3600 }, { expiresAt: nowSeconds() + 100 }],
    ['both expire at once', { expiresAt: nowSeconds() + 3600 }, { expiresAt: nowSeconds() + 3600 }],
    ["the file's expiry is unknown", { expiresAt: nowSeconds() + 100 }, { expiresAt: null }],
    ["the keychain's expiry is unknown", { expiresAt: null }, { expiresAt: nowSeconds() + 3600 }],
  ])("the keychain's login wins when %s", async (_, inKeychainCopy, inFileCopy) => {
    const mine = fakeTokens(inKeychainCopy);
    await save('keychain', mine);
    await save('file', fakeTokens(inFileCopy));
    expect(await store({ fallback: true }).load()).toEqual(mine);
    expect(reasons).toEqual([]);
  });

  it('the same access token in both is the same login: the keychain copy, no notice', async () => {
    const mine = fakeTokens({ expiresAt: nowSeconds() + 100 });
    await save('keychain', mine);
    await save('file', { ...mine, expiresAt: nowSeconds() + 3600 });
    expect(await store({ fallback: true }).load()).toEqual(mine);
    expect(reasons).toEqual([]);
  });

  it('an unreadable fallback file does not hide the keychain login', async () => {
    const mine = fakeTokens();
    await save('keychain', mine);
    await save('file', fakeTokens());
    await writeFile(file, '{ not json', { mode: 0o600 });
    expect(await store({ fallback: true }).load()).toEqual(mine);
    expect(await readFile(file, 'utf8')).toBe('{ not json');
  });

  it('a flapping keychain never puts a spent refresh token back in charge (client against the emulator)', async () => {
    const emu = await startEmulator();
    try {
      const seeded = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 200 });
      await save('keychain', seeded);
      // Reads work, writes do not: the refreshed login goes to the file.
      keychain.unavailableFor = new Set(['set']);
      const first = new AnthropicOAuth({
        baseURL: emu.url,
        oauthConfig: emu.oauthConfig,
        tokenStorage: store({ fallback: true }),
      });
      await first.messages.create(hello);
      expect(emu.stats().refresh).toBe(1);
      expect(emu.isRefreshTokenLive(seeded.refreshToken)).toBe(false);
      const refreshed = (await inFile()) as OAuthTokens;
      expect(emu.isRefreshTokenLive(refreshed.refreshToken)).toBe(true);
      expect(inKeychain()).toEqual(toStoredCredentials(seeded));

      // Back up: a new client reads the keychain's spent login and the file's newer one, and uses the newer.
      keychain.unavailableFor = new Set();
      const second = new AnthropicOAuth({
        baseURL: emu.url,
        oauthConfig: emu.oauthConfig,
        tokenStorage: store({ fallback: true }),
      });
      await second.messages.create(hello);
      expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
      expect(emu.requests.at(-1)?.headers.authorization).toBe(`Bearer ${refreshed.accessToken}`);
      expect(emu.isRefreshTokenLive(refreshed.refreshToken)).toBe(true);
    } finally {
      await emu.close();
    }
  });
});

describe('clear()', () => {
  it('clears the keychain entry and the fallback file, so a logout cannot be undone by the file', async () => {
    const tokens = fakeTokens();
    keychain.entries.set('anthropic-oauth/test', JSON.stringify(toStoredCredentials(tokens)));
    await new TokenStorage(file).save(fakeTokens());
    const s = store({ fallback: true });
    await s.clear();
    expect(keychain.entries.size).toBe(0);
    expect(await inFile()).toBeNull();
    expect(await s.load()).toBeNull();
    expect(reasons).toEqual([]);
  });

  it('with the keychain unavailable: clears the file and says the keychain entry was not deleted', async () => {
    keychain.entries.set('anthropic-oauth/test', JSON.stringify(toStoredCredentials(fakeTokens())));
    await new TokenStorage(file).save(fakeTokens());
    keychain.mode = 'unavailable';
    await store({ fallback: true }).clear();
    expect(await inFile()).toBeNull();
    expect(keychain.entries.size).toBe(1);
    expect(reasons).toEqual([
      `the OS keychain is unavailable (Platform failure: no session bus); the keychain entry was not deleted; clearing the token file ${file} only.`,
    ]);
  });
});

describe('a keychain that does not answer', () => {
  it('times out, then fails at once while the call is stuck, and recovers once it returns', async () => {
    const s = store({ timeoutMs: 50 });
    keychain.mode = 'hang';
    const error = await s.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStorageError);
    expect(error).toMatchObject({ code: 'timeout', path: 'keychain:anthropic-oauth/test' });
    expect((error as Error).message).toContain(
      'The OS keychain did not answer within 50 ms (keychain:anthropic-oauth/test)',
    );
    expect((error as Error).message).toContain('Unlock the keychain and try again');

    // Not queued behind the stuck call: the next one is refused without reaching the keychain.
    keychain.mode = 'up';
    const tokens = fakeTokens();
    await expect(s.save(tokens)).rejects.toMatchObject({
      code: 'timeout',
      message: /^An earlier OS keychain call has not returned for \d+ s/,
    });
    // The same backend is stuck for every store on it.
    await expect(new KeychainTokenStore({ account: 'other', backend: keychain }).load()).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(keychain.calls).toEqual(['get:hang']);

    keychain.release();
    await new Promise((resolve) => setImmediate(resolve));
    await s.save(tokens);
    expect(await s.load()).toEqual(tokens);
  });

  it('with a fallback: the timed-out save goes to the file, and so does the next one while stuck', async () => {
    const s = store({ fallback: true, timeoutMs: 50 });
    keychain.mode = 'hang';
    const first = fakeTokens();
    await s.save(first);
    expect(await inFile()).toEqual(first);
    const second = fakeTokens({ expiresAt: nowSeconds() + 7200 });
    await s.save(second);
    expect(await inFile()).toEqual(second);
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toBe(
      `the OS keychain did not answer within 50 ms; saving the login to the token file ${file} instead.`,
    );
    expect(reasons[1]).toMatch(
      /^an earlier OS keychain call has not returned for \d+ s; saving the login to the token file/,
    );

    // The stuck save finally lands in the keychain; the file's later login (a later expiry) still
    // wins on load.
    keychain.release();
    await new Promise((resolve) => setImmediate(resolve));
    keychain.mode = 'up';
    expect(inKeychain()).toEqual(toStoredCredentials(first));
    expect(await s.load()).toEqual(second);
  });

  it('a stuck call that ends in an error also ends the stuck state', async () => {
    let fail!: (error: Error) => void;
    const backend: KeychainBackend = {
      get: () =>
        new Promise((_, reject) => {
          fail = reject;
        }),
      set: async () => ({ ok: true, value: undefined }),
      delete: async () => ({ ok: true, value: true }),
    };
    const s = store({ backend, timeoutMs: 50 });
    await expect(s.load()).rejects.toMatchObject({ code: 'timeout' });
    await expect(s.save(fakeTokens())).rejects.toMatchObject({ code: 'timeout' });
    fail(new Error('gave up'));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(s.save(fakeTokens())).resolves.toBeUndefined();
  });
});
