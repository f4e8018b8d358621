import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryTokenStore, type OAuthTokens, TokenStorage, TokenStorageError } from '../src/index.js';
import { createTokenSource, refreshBuffer } from '../src/provider.js';
import type { RefreshTimer } from '../src/renewal.js';
import { underLock } from '../src/store/guard.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { exists, makeTempDir, nowSeconds, tokenRequests, tokensOf } from './helpers/fixtures.js';
import { gatedFetch } from './helpers/hostile.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir();
});
afterEach(async () => {
  await emu.close();
  await temp.cleanup();
});

const source = (options: Parameters<typeof createTokenSource>[0] = {}) =>
  createTokenSource({ oauthConfig: emu.oauthConfig, env: {}, ...options });

/**
 * A refresh timer that does not sleep: each wait is recorded and moves its monotonic clock on, so
 * the deadlines see the time the retries would have taken.
 */
function instantTimer(): RefreshTimer & { slept: number[] } {
  let elapsed = 0;
  const slept: number[] = [];
  return {
    slept,
    monotonicMs: () => elapsed,
    sleep: async (ms) => {
      slept.push(ms);
      elapsed += ms;
    },
  };
}

describe('refreshBuffer', () => {
  it('is 300 s for unknown and long lifetimes, a quarter of short ones', () => {
    expect(refreshBuffer(undefined)).toBe(300);
    expect(refreshBuffer(28_800)).toBe(300);
    expect(refreshBuffer(600)).toBe(150);
    expect(refreshBuffer(2)).toBe(0.5);
  });
});

describe('short-lived tokens', () => {
  it('are used for most of their life, not refreshed on every call', async () => {
    const short = await startEmulator({ accessTokenTtl: 8 });
    try {
      const first = short.issueTokens();
      const s = createTokenSource({
        oauthConfig: short.oauthConfig,
        env: {},
        oauthTokens: tokensOf(first, { expiresAt: nowSeconds() - 1 }),
      });
      const refreshed = await s.getTokens();
      expect(short.stats().refresh).toBe(1);
      // A quarter of 8 s is the buffer: the new token stays usable for its first ~6 s.
      for (let i = 0; i < 20; i++) expect((await s.getTokens()).accessToken).toBe(refreshed.accessToken);
      expect(short.stats().refresh).toBe(1);
    } finally {
      await short.close();
    }
  });
});

describe('the clock', () => {
  it('dates renewed tokens by the source’s own clock, which then finds them fresh', async () => {
    // Years away from the system clock: expiries dated by the system clock would look long past.
    const NOW = nowSeconds() + 10 * 365 * 86_400;
    const path = join(temp.dir, 'login.json');
    await new TokenStorage(path).save(tokensOf(emu.issueTokens(), { expiresAt: NOW - 1 }));
    const s = source({ tokenStorage: path, now: () => NOW });
    const fresh = await s.getTokens();
    expect(fresh.expiresIn).toBeGreaterThan(300);
    expect(fresh.expiresAt).toBe(NOW + (fresh.expiresIn ?? Number.NaN));
    expect((await new TokenStorage(path).load())?.expiresAt).toBe(fresh.expiresAt);
    expect((await s.getTokens()).accessToken).toBe(fresh.accessToken);
    expect(emu.stats().refresh).toBe(1);
  });
});

describe('another process rotated first', () => {
  it('uses the tokens already in the store without a network call', async () => {
    const path = join(temp.dir, 'login.json');
    const stale = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 3600 });
    await new TokenStorage(path).save(stale);
    const s = source({ tokenStorage: path });
    expect((await s.getTokens()).accessToken).toBe(stale.accessToken);
    // Another process rotates and saves; ours gets a 401 on the old token.
    const rotated = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() + 3600 });
    await new TokenStorage(path).save(rotated);
    s.markRejected(stale.accessToken);
    expect((await s.refreshAfterRejection(stale.accessToken)).accessToken).toBe(rotated.accessToken);
    expect(tokenRequests(emu)).toHaveLength(0);
  });

  it('refreshes with the newest refresh token in the store, not its own spent one', async () => {
    const path = join(temp.dir, 'login.json');
    const mine = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1, refreshToken: 'sk-ant-ort01-spent' });
    const s = source({ tokenStorage: path, oauthTokens: mine });
    // Another process rotated since we loaded, and its tokens are about to expire too.
    const theirs = emu.issueTokens();
    await new TokenStorage(path).save(tokensOf(theirs, { expiresAt: nowSeconds() + 10 }));
    const fresh = await s.getTokens();
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
    expect(tokenRequests(emu)[0]?.body).toMatchObject({ refresh_token: theirs.refreshToken });
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
  });
});

describe('failures keep the login', () => {
  it('a failed save of rotated tokens is reported once, and the new tokens stay in memory', async () => {
    const issued = emu.issueTokens();
    let saves = 0;
    const failing = new MemoryTokenStore(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    failing.save = async () => {
      saves++;
      throw new TokenStorageError('write_failed', 'disk full');
    };
    const s = source({ tokenStorage: failing });
    await expect(s.getTokens()).rejects.toMatchObject({ code: 'write_failed' });
    const kept = await s.getTokens();
    expect(kept.accessToken).not.toBe(issued.accessToken);
    expect(emu.isRefreshTokenLive(kept.refreshToken)).toBe(true);
    expect(emu.stats().refresh).toBe(1);
    expect(saves).toBe(1);
  });

  it('transient token-endpoint errors are retried, and the rotation is saved', async () => {
    const path = join(temp.dir, 'login.json');
    await new TokenStorage(path).save(tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }));
    emu.faults.tokenServerError(1);
    emu.faults.tokenRateLimited(0, 1);
    const timer = instantTimer();
    const fresh = await source({ tokenStorage: path, timer }).getTokens();
    expect(tokenRequests(emu).map((r) => r.status)).toEqual([500, 429, 200]);
    // The backoff after the 500, then the 429's Retry-After (0 s) instead of the next backoff.
    expect(timer.slept).toEqual([250, 0]);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
  });

  it('a 429’s Retry-After is waited for instead of the backoff, within the refresh’s 8 s', async () => {
    const path = join(temp.dir, 'login.json');
    await new TokenStorage(path).save(tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }));
    emu.faults.tokenRateLimited(1, 1);
    emu.faults.tokenRateLimited(5, 1);
    const timer = instantTimer();
    const fresh = await source({ tokenStorage: path, timer }).getTokens();
    expect(tokenRequests(emu).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(timer.slept).toEqual([1000, 5000]);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
  });

  it('when the retries are used up on an expired token, the error surfaces, the store is untouched, and the next call works', async () => {
    const path = join(temp.dir, 'login.json');
    const issued = emu.issueTokens();
    await new TokenStorage(path).save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    emu.faults.tokenServerError(3);
    const s = source({ tokenStorage: path, timer: instantTimer() });
    await expect(s.getTokens()).rejects.toMatchObject({ code: 'token_endpoint_error', status: 500 });
    expect((await new TokenStorage(path).load())?.refreshToken).toBe(issued.refreshToken);
    const fresh = await s.getTokens();
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
  });

  it('a failing refresh keeps serving a token that is still valid', async () => {
    const issued = emu.issueTokens();
    const s = source({ oauthTokens: tokensOf(issued, { expiresAt: nowSeconds() + 100 }), timer: instantTimer() });
    emu.faults.tokenServerError(3);
    expect((await s.getTokens()).accessToken).toBe(issued.accessToken);
    // Backing off: no new attempt right away.
    expect((await s.getTokens()).accessToken).toBe(issued.accessToken);
    expect(tokenRequests(emu)).toHaveLength(3);
  });

  it('a corrupt token file is a corrupt_file error and the file is left as it was', async () => {
    const dir = join(temp.dir, 'corrupt');
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'login.json');
    await writeFile(path, '{"access_token": ', { mode: 0o600 });
    await expect(source({ tokenStorage: path }).getTokens()).rejects.toMatchObject({ code: 'corrupt_file', path });
  });

  it('an expired token without a refresh token is reauth_required', async () => {
    const tokens: OAuthTokens = { ...tokensOf(emu.issueTokens()), refreshToken: '', expiresAt: nowSeconds() - 1 };
    await expect(source({ oauthTokens: tokens }).getTokens()).rejects.toMatchObject({ code: 'reauth_required' });
    expect(tokenRequests(emu)).toHaveLength(0);
  });
});

describe('a refresh in flight and other writers (compare and swap)', () => {
  /** A stored login whose token must be refreshed, and a source on it whose token requests wait for `release()`. */
  async function refreshInFlight(options: Parameters<typeof source>[0] = {}) {
    const path = join(temp.dir, 'login.json');
    const issued = emu.issueTokens();
    await new TokenStorage(path).save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    const gate = gatedFetch();
    const s = source({ tokenStorage: path, fetch: gate.fetch, ...options });
    const refreshing = s.getTokens();
    await gate.arrived;
    return { path, issued, gate, s, refreshing };
  }

  it('a login saved meanwhile by a writer that ignores the lock stands, and is used', async () => {
    const { path, gate, refreshing } = await refreshInFlight();
    const login = tokensOf(emu.issueTokens());
    await new TokenStorage(path).save(login);
    gate.release();
    expect((await refreshing).accessToken).toBe(login.accessToken);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(login.accessToken);
    expect(emu.stats().refresh).toBe(1);
  });

  it('a logout meanwhile by a writer that ignores the lock is not undone: not_logged_in, nothing written back', async () => {
    const { path, gate, s, refreshing } = await refreshInFlight();
    await new TokenStorage(path).clear();
    gate.release();
    await expect(refreshing).rejects.toMatchObject({ code: 'not_logged_in' });
    expect(await exists(path)).toBe(false);
    await expect(s.getTokens()).rejects.toMatchObject({ code: 'not_logged_in' });
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it('a logout under the lock waits for the refresh; the next refresh is not_logged_in and writes nothing', async () => {
    let shift = 0;
    const { path, gate, s, refreshing } = await refreshInFlight({ now: () => nowSeconds() + shift });
    const store = new TokenStorage(path);
    let cleared = false;
    const logout = underLock(store, async () => {
      await store.clear();
      cleared = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cleared).toBe(false);
    gate.release();
    const fresh = await refreshing;
    await logout;
    expect(await exists(path)).toBe(false);
    // The access token it holds still works until the refresh is due; that refresh finds no login.
    expect((await s.getTokens()).accessToken).toBe(fresh.accessToken);
    shift = 8 * 3600;
    await expect(s.getTokens()).rejects.toMatchObject({ code: 'not_logged_in' });
    await expect(s.getTokens()).rejects.toMatchObject({ code: 'not_logged_in' });
    expect(await exists(path)).toBe(false);
    expect(emu.stats().refresh).toBe(1);
  });

  it('explicit oauthTokens with a store that was empty from the start: the rotated tokens are saved there (not a logout)', async () => {
    const path = join(temp.dir, 'login.json');
    let shift = 0;
    const s = source({
      tokenStorage: path,
      oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }),
      now: () => nowSeconds() + shift,
    });
    const fresh = await s.getTokens();
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
    shift = 8 * 3600;
    const next = await s.getTokens();
    expect((await new TokenStorage(path).load())?.accessToken).toBe(next.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 2, invalidGrant: 0 });
  });

  it('a store without prepareSave is compared too: cleared during the refresh, nothing is written back', async () => {
    const store = new MemoryTokenStore(tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }));
    const gate = gatedFetch();
    const refreshing = source({ tokenStorage: store, fetch: gate.fetch }).getTokens();
    await gate.arrived;
    await store.clear();
    gate.release();
    await expect(refreshing).rejects.toMatchObject({ code: 'not_logged_in' });
    await expect(store.load()).resolves.toBeNull();
  });
});

describe('callers that join a refresh', () => {
  it('all get the still-valid token when the refresh fails transiently, not only the one that started it', async () => {
    const issued = emu.issueTokens();
    const s = source({ oauthTokens: tokensOf(issued, { expiresAt: nowSeconds() + 100 }), timer: instantTimer() });
    emu.faults.tokenServerError(3);
    const first = s.getTokens();
    // The others come while the refresh is under way, and join it.
    while (tokenRequests(emu).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const results = await Promise.allSettled([first, s.getTokens(), s.getTokens()]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.accessToken : r.reason))).toEqual([
      issued.accessToken,
      issued.accessToken,
      issued.accessToken,
    ]);
    expect(tokenRequests(emu)).toHaveLength(3);
  });
});

describe('the lock holder finishes within the waiters’ patience', () => {
  async function twoSources(holderTimer?: RefreshTimer) {
    const path = join(temp.dir, 'login.json');
    await new TokenStorage(path).save(tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }));
    const holder = source({ tokenStorage: path, timer: holderTimer }).getTokens();
    while (tokenRequests(emu).length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const waiter = source({ tokenStorage: path }).getTokens();
    return { path, holder, waiter };
  }

  it('a hanging token endpoint ends the holder’s refresh at its deadline; the waiter then gets the lock and refreshes', async () => {
    emu.faults.tokenHang(1);
    // 7 of the refresh's 8 s are gone by the time the request is sent: it is given the 1 s left.
    let reads = 0;
    const late: RefreshTimer = { monotonicMs: () => (reads++ === 0 ? 0 : 7_000), sleep: async () => {} };
    const { path, holder, waiter } = await twoSources(late);
    await expect(holder).rejects.toMatchObject({ code: 'timeout' });
    const fresh = await waiter;
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
    expect(emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0 });
  }, 30_000);

  it('a Retry-After longer than the time left is not waited for: holder and waiter fail as rate_limited, not lock_timeout', async () => {
    emu.faults.tokenRateLimited(10, 3);
    const { holder, waiter } = await twoSources();
    await expect(holder).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 10 });
    await expect(waiter).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 10 });
  }, 30_000);
});

describe('a store that fails in the middle of a refresh', () => {
  /** A store with a lock of its own whose `load` fails on the calls listed. */
  class FlakyStore extends MemoryTokenStore {
    loads = 0;
    constructor(
      tokens: OAuthTokens,
      readonly failing: number[],
    ) {
      super(tokens);
    }
    override async load(): ReturnType<MemoryTokenStore['load']> {
      this.loads++;
      if (this.failing.includes(this.loads)) throw new TokenStorageError('read_failed', 'The disk stopped answering.');
      return super.load();
    }
    override async lock<T>(fn: () => Promise<T>): Promise<T> {
      return fn();
    }
  }

  it('a load that fails under the lock ends the refresh before any token request: a still-valid token is served', async () => {
    const issued = emu.issueTokens();
    const valid = new FlakyStore(tokensOf(issued, { expiresAt: nowSeconds() + 100 }), [2]);
    expect((await source({ tokenStorage: valid }).getTokens()).accessToken).toBe(issued.accessToken);
    const expired = new FlakyStore(tokensOf(issued, { expiresAt: nowSeconds() - 1 }), [2]);
    await expect(source({ tokenStorage: expired }).getTokens()).rejects.toMatchObject({ code: 'read_failed' });
    expect(tokenRequests(emu)).toHaveLength(0);
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(true);
  });

  it('a load that fails on the compare after the refresh: the save goes ahead (the lock keeps other writers out)', async () => {
    const store = new FlakyStore(tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 1 }), [3]);
    const fresh = await source({ tokenStorage: store }).getTokens();
    expect((await store.load())?.accessToken).toBe(fresh.accessToken);
    expect(emu.isRefreshTokenLive(fresh.refreshToken)).toBe(true);
  });
});
