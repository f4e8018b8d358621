import { inspect } from 'node:util';
import type { StoredLogin } from '../types.js';
import type { TokenStore } from './types.js';

/** A waiter for the lock asks `whileWaiting` this often. */
const WAIT_CHECK_MS = 10;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Keeps a login in memory only: for tests, short-lived scripts, and stores of your own to wrap.
 * Stores and returns deep copies, so nobody shares the nested `organization`/`account` objects.
 * `lock()` is a lock within this process, so that two clients sharing one store (an `AnthropicOAuth`
 * and a `createOAuthFetch`, say) refresh once, instead of spending the same refresh token twice.
 */
export class MemoryTokenStore implements TokenStore {
  #tokens: StoredLogin | null;
  /** Settles when the last holder or waiter in line lets go. */
  #tail: Promise<void> = Promise.resolve();

  constructor(tokens: StoredLogin | null = null) {
    this.#tokens = tokens ? structuredClone(tokens) : null;
  }

  async load(): Promise<StoredLogin | null> {
    return this.#tokens ? structuredClone(this.#tokens) : null;
  }

  async save(tokens: StoredLogin): Promise<void> {
    this.#tokens = structuredClone(tokens);
  }

  async clear(): Promise<void> {
    this.#tokens = null;
  }

  /** Runs `fn` once every earlier holder has finished; `whileWaiting` may end the wait first. */
  async lock<T>(fn: () => Promise<T>, whileWaiting?: () => Promise<T | undefined>): Promise<T> {
    const before = this.#tail;
    let letGo: () => void = () => {};
    const mine = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    this.#tail = before.then(() => mine);
    try {
      let turn = false;
      void before.then(() => {
        turn = true;
      });
      await Promise.resolve();
      while (!turn) {
        const found = whileWaiting ? await whileWaiting() : undefined;
        if (found !== undefined) return found;
        await Promise.race([before, sleep(WAIT_CHECK_MS)]);
      }
      return await fn();
    } finally {
      letGo();
    }
  }

  [inspect.custom](): string {
    return `MemoryTokenStore { ${this.#tokens ? 'logged in' : 'empty'} }`;
  }
}
