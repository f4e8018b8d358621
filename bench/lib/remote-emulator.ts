/**
 * The parent's handle on the emulator process (see emulator-process.ts): its URL and OAuth config,
 * and a few commands (mint a login, read the counters, expire tokens, read the token-endpoint log).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OAuthConfig } from '../../src/index.js';
import type { EmulatorStats, IssuedTokens } from '../../src/testing/index.js';

export type EmulatorCommand =
  | { op: 'issueTokens'; ttl?: number }
  | { op: 'stats' }
  | { op: 'expireAccessTokens' }
  | { op: 'tokenCalls' }
  | { op: 'reset' };

export type EmulatorReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** One call to the token endpoint: when, the status answered, the refresh token presented, and by whom. */
export interface TokenCall {
  time: number;
  status: number;
  refreshToken: string;
  /** The `x-bench-process` header: which worker of measurement (3) made the call ('' if none). */
  process: string;
}

const CHILD = fileURLToPath(new URL('./emulator-process.ts', import.meta.url));

/** Node options that let a child run the benchmark's TypeScript (tsx), as this process does. */
export const TS_EXEC_ARGV = ['--import', 'tsx'];

export class RemoteEmulator {
  readonly url: string;
  readonly oauthConfig: OAuthConfig;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (reply: EmulatorReply) => void>();
  #nextId = 0;

  private constructor(child: ChildProcess, url: string, oauthConfig: OAuthConfig) {
    this.#child = child;
    this.url = url;
    this.oauthConfig = oauthConfig;
    child.on('message', (reply: EmulatorReply) => {
      this.#pending.get(reply.id)?.(reply);
      this.#pending.delete(reply.id);
    });
  }

  /** Starts the emulator process; `accessTokenTtl` in seconds (default 8 h). */
  static async start(accessTokenTtl?: number): Promise<RemoteEmulator> {
    const args = accessTokenTtl === undefined ? [] : [String(accessTokenTtl)];
    const child = fork(CHILD, args, { execArgv: TS_EXEC_ARGV, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<{ url: string; oauthConfig: OAuthConfig }>((resolve, reject) => {
      child.once('message', resolve);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the emulator process exited (${code}) before it was ready`)));
    });
    return new RemoteEmulator(child, ready.url, ready.oauthConfig);
  }

  #call<T>(command: EmulatorCommand): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, (reply) => (reply.ok ? resolve(reply.value as T) : reject(new Error(reply.error))));
      this.#child.send({ id, command });
    });
  }

  issueTokens(ttl?: number): Promise<IssuedTokens> {
    return this.#call(ttl === undefined ? { op: 'issueTokens' } : { op: 'issueTokens', ttl });
  }

  stats(): Promise<EmulatorStats> {
    return this.#call({ op: 'stats' });
  }

  expireAccessTokens(): Promise<void> {
    return this.#call({ op: 'expireAccessTokens' });
  }

  tokenCalls(): Promise<TokenCall[]> {
    return this.#call({ op: 'tokenCalls' });
  }

  reset(): Promise<void> {
    return this.#call({ op: 'reset' });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.disconnect();
    await exited;
  }
}
