/**
 * The keychain worker transport (src/store/keychain-worker.ts) in the default `npm test` run: the
 * real worker thread, loading a stand-in for `@napi-rs/keyring` (tests/helpers/fake-keyring.cjs)
 * whose calls block the thread, throw keyring-rs' errors or end the thread. With the real native
 * module and gnome-keyring, tests/keychain.test.ts covers the rest (`npm run test:keychain`).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeychainTokenStore, TokenStorageError } from '../src/index.js';
import { workerBackend } from '../src/store/keychain-worker.js';
import { makeTempDir, snapshotEnv } from './helpers/fixtures.js';
import { fakeTokens, retryUntil } from './helpers/keychain.js';

const FAKE_KEYRING = join(import.meta.dirname, 'helpers', 'fake-keyring.cjs');

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let restoreEnv: () => void;

beforeEach(async () => {
  temp = await makeTempDir();
  restoreEnv = snapshotEnv();
  process.env.HOME = temp.dir;
});

afterEach(async () => {
  restoreEnv();
  await temp.cleanup();
});

describe('the keychain worker', () => {
  it('saves, loads and clears through the worker thread, with the entry pinned to the Secret Service', async () => {
    const backend = workerBackend(async () => FAKE_KEYRING);
    const store = new KeychainTokenStore({ account: 'a', backend });
    const tokens = fakeTokens();
    await store.save(tokens);
    expect(await store.load()).toEqual(tokens);
    expect(await new KeychainTokenStore({ account: 'b', backend }).load()).toBeNull();
    await store.clear();
    expect(await store.load()).toBeNull();
    await store.clear();

    await backend.open?.();
    const options = await backend.get({ service: 'options', account: 'a' });
    expect(options.ok && JSON.parse(options.value ?? '')).toEqual({ linux: { store: 'secret-service' } });
  });

  it('a native call that blocks: timeout, then fail fast while it is stuck, then the keychain again', async () => {
    const backend = workerBackend(async () => FAKE_KEYRING);
    const stuck = new KeychainTokenStore({ service: 'hang:800', account: 'a', backend, timeoutMs: 100 });
    const other = new KeychainTokenStore({ service: 'fine', account: 'a', backend, timeoutMs: 2_000 });
    await expect(other.load()).resolves.toBeNull(); // the worker is up

    const error = await stuck.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStorageError);
    expect((error as TokenStorageError).code).toBe('timeout');
    expect((error as Error).message).toContain('did not answer within 100 ms');
    // The worker is busy with the stuck call: another entry is refused rather than queued.
    await expect(other.save(fakeTokens())).rejects.toMatchObject({
      code: 'timeout',
      message: /has not returned for \d+ s/,
    });

    const tokens = fakeTokens();
    await retryUntil(() => other.save(tokens), 10_000);
    expect(await other.load()).toEqual(tokens);
  });

  it.each([
    ['no-bus', 'keychain_unavailable', 'The OS keychain is unavailable (Could not connect to the D-Bus session bus)'],
    [
      'platform',
      'keychain_unavailable',
      'The OS keychain is unavailable (Platform failure: org.freedesktop.DBus.Error.ServiceUnknown)',
    ],
    ['denied', 'read_failed', 'The OS keychain could not read keychain:denied/a (Access denied).'],
  ])('keyring error "%s" is %s', async (service, code, message) => {
    const store = new KeychainTokenStore({ service, account: 'a', backend: workerBackend(async () => FAKE_KEYRING) });
    const error = await store.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenStorageError);
    expect(error).toMatchObject({ code, path: `keychain:${service}/a` });
    expect((error as Error).message).toContain(message);
  });

  it('a worker that dies is keychain_unavailable, and the next call starts a new one', async () => {
    const backend = workerBackend(async () => FAKE_KEYRING);
    const crash = new KeychainTokenStore({ service: 'crash', account: 'a', backend });
    await expect(crash.load()).rejects.toMatchObject({
      code: 'keychain_unavailable',
      message: /unavailable \(the keychain worker exited \(code 3\)\)/,
    });
    const fine = new KeychainTokenStore({ service: 'fine', account: 'a', backend });
    const tokens = fakeTokens();
    await fine.save(tokens);
    expect(await fine.load()).toEqual(tokens);
  });

  it('a keyring module that cannot be loaded is that error, tried again on the next call', async () => {
    let attempts = 0;
    const backend = workerBackend(async () => {
      attempts++;
      if (attempts === 1) throw new TokenStorageError('keychain_not_installed', 'run `npm install @napi-rs/keyring`');
      return FAKE_KEYRING;
    });
    const store = new KeychainTokenStore({ account: 'a', backend, fallback: join(temp.dir, 'unused.json') });
    await expect(store.load()).rejects.toMatchObject({ code: 'keychain_not_installed' });
    await expect(store.load()).resolves.toBeNull();
    expect(attempts).toBe(2);
  });
});
