import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryTokenStore, type OAuthTokens, TokenStorage, TokenStorageError } from '../src/index.js';
import { createTokenSource, refreshBuffer } from '../src/provider.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { makeTempDir, nowSeconds, tokenRequests, tokensOf } from './helpers/fixtures.js';

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
    const fresh = await source({ tokenStorage: path }).getTokens();
    expect(tokenRequests(emu).map((r) => r.status)).toEqual([500, 429, 200]);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
  });

  it('when the retries are used up on an expired token, the error surfaces, the store is untouched, and the next call works', async () => {
    const path = join(temp.dir, 'login.json');
    const issued = emu.issueTokens();
    await new TokenStorage(path).save(tokensOf(issued, { expiresAt: nowSeconds() - 1 }));
    emu.faults.tokenServerError(3);
    const s = source({ tokenStorage: path });
    await expect(s.getTokens()).rejects.toMatchObject({ code: 'token_endpoint_error', status: 500 });
    expect((await new TokenStorage(path).load())?.refreshToken).toBe(issued.refreshToken);
    const fresh = await s.getTokens();
    expect((await new TokenStorage(path).load())?.accessToken).toBe(fresh.accessToken);
  });

  it('a failing refresh keeps serving a token that is still valid', async () => {
    const issued = emu.issueTokens();
    const s = source({ oauthTokens: tokensOf(issued, { expiresAt: nowSeconds() + 100 }) });
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
