/**
 * The `TokenStore` contract (src/store/types.ts) as tests, for any store: call `storeContract(name,
 * setup)` in a test file and it defines them. Every store of the package runs them (file, memory,
 * keychain on its in-memory backend, Redis on a real server); the optional parts (`lock`,
 * `prepareSave`, `saveSync`) are tested where the store declares them, and a store must have exactly
 * the parts it declares.
 */
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTokenSource } from '../../src/provider.js';
import { isTokenStore, type TokenStore } from '../../src/store/types.js';
import { type Emulator, startEmulator } from '../../src/testing/index.js';
import type { OAuthTokens, StoredLogin } from '../../src/types.js';
import { nowSeconds, tokensOf } from './fixtures.js';
import { fakeTokens } from './keychain.js';

export interface StoreUnderTest {
  /**
   * A store on the backing under test: each call may return a new instance on the same backing, as
   * another process would open it (a store that lives in memory returns itself).
   */
  open(): TokenStore;
  cleanup?(): Promise<void>;
}

/** The optional parts of the contract a store has. */
export interface StoreParts {
  lock: boolean;
  prepareSave: boolean;
  saveSync: boolean;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A login with every field, and one with as few as a login can have. */
const full = (): OAuthTokens => fakeTokens({ expiresIn: 3600 });
const minimal = (): OAuthTokens => ({
  accessToken: fakeTokens().accessToken,
  refreshToken: '',
  expiresAt: null,
  tokenType: 'Bearer',
  scope: '',
});

export function storeContract(name: string, has: StoreParts, setup: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the TokenStore contract`, () => {
    let under: StoreUnderTest;
    let store: TokenStore;
    beforeEach(async () => {
      under = await setup();
      store = under.open();
    });
    afterEach(async () => {
      await under.cleanup?.();
    });

    it('is a TokenStore with exactly the optional parts it declares', () => {
      expect(isTokenStore(store)).toBe(true);
      expect({
        lock: typeof store.lock === 'function',
        prepareSave: typeof store.prepareSave === 'function',
        saveSync: typeof store.saveSync === 'function',
      }).toEqual(has);
    });

    it('load() is null while nothing is stored', async () => {
      await expect(store.load()).resolves.toBeNull();
    });

    it('round-trips a full login and a minimal one, also through another instance', async () => {
      for (const tokens of [full(), minimal()]) {
        await store.save(tokens);
        await expect(store.load()).resolves.toEqual(tokens);
        await expect(under.open().load()).resolves.toEqual(tokens);
      }
    });

    it('round-trips a login of kind api_key (full and minimal) and an OAuth login with its account summary', async () => {
      const key = `sk-ant-api03-${'k'.repeat(90)}-AA`;
      const logins: StoredLogin[] = [
        {
          kind: 'api_key',
          apiKey: key,
          organization: { uuid: 'org-1', name: 'Org' },
          role: { organization: 'developer', workspace: 'workspace_developer' },
          createdAt: 1_800_000_000,
        },
        { kind: 'api_key', apiKey: key, organization: {}, role: {}, createdAt: 0 },
        {
          ...full(),
          summary: { email: 'a@example.com', plan: 'Claude Max 5x', organizationName: 'Org', fetchedAt: 1_800_000_000 },
        },
      ];
      for (const login of logins) {
        await store.save(login);
        await expect(store.load()).resolves.toEqual(login);
        await expect(under.open().load()).resolves.toEqual(login);
      }
    });

    it('the token source serves an api_key login as it is: no refresh, no lock, getTokens says what it is', async () => {
      const login: StoredLogin = {
        kind: 'api_key',
        apiKey: `sk-ant-api03-${'k'.repeat(40)}`,
        organization: {},
        role: {},
        createdAt: 1,
      };
      await store.save(login);
      let locks = 0;
      const counted: TokenStore = {
        load: () => store.load(),
        save: (saved) => store.save(saved),
        clear: () => store.clear(),
        lock: (fn, whileWaiting) => {
          locks++;
          return store.lock ? store.lock(fn, whileWaiting) : fn();
        },
      };
      const source = createTokenSource({ tokenStorage: counted, env: {}, now: () => 9e10 });
      await expect(source.getLogin()).resolves.toEqual(login);
      await expect(source.getTokens()).rejects.toMatchObject({ code: 'api_key_login' });
      expect(locks).toBe(0);
      await expect(store.load()).resolves.toEqual(login);
    });

    it('keeps its own copy: changing a saved or loaded login changes nothing stored', async () => {
      const tokens = full();
      const expected = structuredClone(tokens);
      await store.save(tokens);
      tokens.accessToken = 'changed';
      if (tokens.account) tokens.account.emailAddress = 'changed@example.com';
      const loaded = await store.load();
      if (loaded?.organization) loaded.organization.name = 'changed';
      await expect(store.load()).resolves.toEqual(expected);
    });

    it('save() replaces the login; clear() empties the store, and again is a no-op', async () => {
      await store.save(full());
      const second = full();
      await under.open().save(second);
      await expect(store.load()).resolves.toEqual(second);
      await store.clear();
      await expect(store.load()).resolves.toBeNull();
      await expect(under.open().load()).resolves.toBeNull();
      await expect(store.clear()).resolves.toBeUndefined();
    });

    it('concurrent saves from several instances leave one of those logins, whole', async () => {
      const logins = Array.from({ length: 8 }, full);
      await Promise.all(logins.map((tokens) => under.open().save(tokens)));
      expect(logins).toContainEqual(await store.load());
    });

    it('never shows a token in inspect or JSON', async () => {
      const tokens = full();
      await store.save(tokens);
      await store.load();
      const shown = [inspect(store, { showHidden: true, depth: 6 }), JSON.stringify(store) ?? '', String(store)];
      for (const text of shown) {
        expect(text).not.toContain(tokens.accessToken);
        expect(text).not.toContain(tokens.refreshToken);
      }
    });

    describe('with the emulator', () => {
      let emu: Emulator;
      beforeAll(async () => {
        emu = await startEmulator();
      });
      afterAll(() => emu.close());

      it('two token sources on it (one instance each) renew an expired login once; both get the renewed token', async () => {
        const issued = emu.issueTokens();
        await store.save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
        const before = emu.stats();
        const sources = [0, 1].map(() =>
          createTokenSource({ tokenStorage: under.open(), oauthConfig: emu.oauthConfig, env: {} }),
        );
        const [a, b] = await Promise.all(sources.map((source) => source.getTokens()));
        expect(emu.stats().refresh - before.refresh).toBe(1);
        expect(emu.stats().invalidGrant - before.invalidGrant).toBe(0);
        expect(a?.accessToken).toBe(b?.accessToken);
        expect((await store.load())?.accessToken).toBe(a?.accessToken);
        expect(emu.isRefreshTokenLive((await store.load())?.refreshToken ?? '')).toBe(true);
      });
    });

    if (has.lock) lockContract(() => ({ under, store }));
    if (has.prepareSave) prepareSaveContract(() => ({ under, store }));
    if (has.saveSync) {
      it('saveSync() writes what load() then reads, also through another instance', async () => {
        const tokens = full();
        store.saveSync?.(tokens);
        await expect(store.load()).resolves.toEqual(tokens);
        await expect(under.open().load()).resolves.toEqual(tokens);
      });
    }
  });
}

type Current = () => { under: StoreUnderTest; store: TokenStore };

function lockContract(current: Current): void {
  describe('lock()', () => {
    const lockOf = (store: TokenStore) => {
      const lock = store.lock?.bind(store);
      if (!lock) throw new Error('declared a lock, has none');
      return lock;
    };

    it('runs one holder at a time across instances, returns what fn returns, and lets go after fn throws', async () => {
      const { under } = current();
      const order: string[] = [];
      const hold = (label: string, fail = false) =>
        lockOf(under.open())(async () => {
          order.push(`${label}:in`);
          await pause(40);
          order.push(`${label}:out`);
          if (fail) throw new Error('boom');
          return label;
        });
      const results = await Promise.allSettled([hold('a', true), hold('b'), hold('c')]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
      expect(results.slice(1).map((r) => (r.status === 'fulfilled' ? r.value : null))).toEqual(['b', 'c']);
      for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]?.replace(':in', ':out'));
    });

    it('save() and clear() inside it do not wait for it (callers hold it)', async () => {
      const { under, store } = current();
      const tokens = full();
      const done = await lockOf(store)(async () => {
        await under.open().save(tokens);
        const saved = await under.open().load();
        await under.open().clear();
        return saved;
      });
      expect(done).toEqual(tokens);
      await expect(store.load()).resolves.toBeNull();
    });

    it('ends a wait with what whileWaiting finds, without running fn, while the holder still holds it', async () => {
      const { under } = current();
      let releaseHolder: () => void = () => {};
      let holding = false;
      const holder = lockOf(under.open())(async () => {
        holding = true;
        await new Promise<void>((resolve) => {
          releaseHolder = resolve;
        });
        return 'holder';
      });
      while (!holding) await pause(5);
      let found = false;
      let checks = 0;
      let ran = false;
      const waiter = lockOf(under.open())(
        async () => {
          ran = true;
          return 'ran fn';
        },
        async () => {
          checks++;
          return found ? 'found' : undefined;
        },
      );
      await pause(100);
      found = true;
      await expect(waiter).resolves.toBe('found');
      expect(ran).toBe(false);
      expect(checks).toBeGreaterThan(0);
      releaseHolder();
      await expect(holder).resolves.toBe('holder');
    });
  });
}

function prepareSaveContract(current: Current): void {
  describe('prepareSave()', () => {
    const prepare = (store: TokenStore) => {
      if (!store.prepareSave) throw new Error('declared prepareSave, has none');
      return store.prepareSave();
    };

    it('commit saves when the store still holds the login it held; discard leaves it as it was', async () => {
      const { under, store } = current();
      const first = full();
      await store.save(first);
      const discarded = await prepare(store);
      await discarded.discard();
      await expect(store.load()).resolves.toEqual(first);
      const renewed = full();
      const prepared = await prepare(store);
      await expect(prepared.commit(renewed)).resolves.toBe(true);
      await expect(under.open().load()).resolves.toEqual(renewed);
    });

    it('commit writes nothing and resolves false when another writer saved or cleared meanwhile', async () => {
      const { under, store } = current();
      await store.save(full());
      const prepared = await prepare(store);
      const other = full();
      await under.open().save(other);
      await expect(prepared.commit(full())).resolves.toBe(false);
      await expect(store.load()).resolves.toEqual(other);

      const beforeLogout = await prepare(store);
      await under.open().clear();
      await expect(beforeLogout.commit(full())).resolves.toBe(false);
      await expect(store.load()).resolves.toBeNull();

      const onEmpty = await prepare(store);
      const first = full();
      await expect(onEmpty.commit(first)).resolves.toBe(true);
      await expect(store.load()).resolves.toEqual(first);
    });
  });
}
