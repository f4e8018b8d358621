import { inspect } from 'node:util';
import type { OAuthTokens } from '../types.js';
import type { TokenStore } from './types.js';

/**
 * Keeps a login in memory only: for tests, short-lived scripts, and stores of your own to wrap.
 * Stores and returns deep copies, so nobody shares the nested `organization`/`account` objects.
 */
export class MemoryTokenStore implements TokenStore {
  #tokens: OAuthTokens | null;

  constructor(tokens: OAuthTokens | null = null) {
    this.#tokens = tokens ? structuredClone(tokens) : null;
  }

  async load(): Promise<OAuthTokens | null> {
    return this.#tokens ? structuredClone(this.#tokens) : null;
  }

  async save(tokens: OAuthTokens): Promise<void> {
    this.#tokens = structuredClone(tokens);
  }

  async clear(): Promise<void> {
    this.#tokens = null;
  }

  [inspect.custom](): string {
    return `MemoryTokenStore { ${this.#tokens ? 'logged in' : 'empty'} }`;
  }
}
