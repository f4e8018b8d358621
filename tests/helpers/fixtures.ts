/** Shared test fixtures: temporary directories, tokens from the emulator, the emulator's request log, and the error a call must throw. */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { OAuthTokens } from '../../src/index.js';
import type { Emulator, IssuedTokens } from '../../src/testing/index.js';

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** What `fn` throws, checked to be an `E`; the test fails when `fn` returns instead. */
export function thrownBy<E extends Error>(type: ErrorClass<E>, fn: () => unknown): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but nothing was thrown`);
}

/** What `promise` rejects with, checked to be an `E`; the test fails when it resolves instead. */
export async function rejectionOf<E extends Error>(type: ErrorClass<E>, promise: Promise<unknown>): Promise<E> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a ${type.name}, but the promise resolved`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  return error as E;
}

/** A temporary directory of the test's own, and how to remove it. */
export interface TempDir {
  dir: string;
  cleanup: () => Promise<void>;
}

export async function makeTempDir(prefix = 'anthropic-oauth-'): Promise<TempDir> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Tokens for a login minted by the emulator, as the library holds them. */
export function tokensOf(issued: IssuedTokens, overrides: Partial<OAuthTokens> = {}): OAuthTokens {
  return {
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    expiresAt: issued.expiresAt,
    tokenType: 'Bearer',
    scope: 'user:inference',
    ...overrides,
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Whether something exists at `path`. */
export const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

export const hello = { model: 'claude-test', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };

/** The `/v1/messages` requests the emulator received. */
export function messageRequests(emu: Emulator) {
  return emu.requests.filter((r) => r.path === '/v1/messages');
}

export function tokenRequests(emu: Emulator) {
  return emu.requests.filter((r) => r.path === '/v1/oauth/token');
}

/**
 * Snapshot of `process.env` to restore after a test. Restores key by key: assigning a new object to
 * `process.env` would detach it from the real environment (`os.homedir()` reads the real one).
 */
export function snapshotEnv(): () => void {
  const saved = { ...process.env };
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    for (const [key, value] of Object.entries(saved)) process.env[key] = value;
  };
}
