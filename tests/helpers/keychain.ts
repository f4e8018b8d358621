/** Shared by the keychain tests: fake logins and waiting for a stuck keychain to come back. */
import { randomBytes } from 'node:crypto';
import type { OAuthTokens } from '../../src/index.js';
import { nowSeconds } from './fixtures.js';

/** A login with random fake tokens that expires in an hour. */
export const fakeTokens = (overrides: Partial<OAuthTokens> = {}): OAuthTokens => ({
  accessToken: `sk-ant-oat01-${randomBytes(24).toString('hex')}`,
  refreshToken: `sk-ant-ort01-${randomBytes(24).toString('hex')}`,
  expiresAt: nowSeconds() + 3600,
  tokenType: 'Bearer',
  scope: 'user:inference user:profile',
  organization: { uuid: 'org-uuid', name: 'Org' },
  account: { uuid: 'acct-uuid', emailAddress: 'someone@example.com' },
  ...overrides,
});

/** Runs `attempt` until it resolves (every `everyMs`), rethrowing its last error after `withinMs`. */
export async function retryUntil<T>(attempt: () => Promise<T>, withinMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  }
}
