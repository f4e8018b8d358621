/** Shared by the keychain tests: fake logins, waiting for a stuck keychain to come back, a keychain in a file. */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { OAuthTokens } from '../../src/index.js';
import type { KeychainBackend, KeychainEntry, KeychainResult } from '../../src/store/keychain.js';
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

/**
 * How a `FileKeychain` answers: `up` works; `refuse-writes` refuses every write ("failed");
 * `refuse-changes` takes a write of the secret it already holds (a write-back) and refuses any other,
 * as a keychain whose item became read-only after it was read; `unavailable` answers every call so;
 * `exit-on-change` ends the process (exit code 7) on a write of a new secret, as a crash would;
 * `hang-changes` never answers a write of a new secret (an unlock prompt nobody answers);
 * `unavailable-changes` answers it "unavailable" (the Secret Service went away after the read).
 */
export type FileKeychainPolicy =
  | 'up'
  | 'refuse-writes'
  | 'refuse-changes'
  | 'unavailable'
  | 'exit-on-change'
  | 'hang-changes'
  | 'unavailable-changes';

/**
 * A keychain backend whose entries live in a JSON file, so that several processes share it; its
 * `policy` can change between calls. Only for tests: the secrets are in the clear.
 */
export class FileKeychain implements KeychainBackend {
  readonly file: string;
  policy: FileKeychainPolicy;
  readonly calls: string[] = [];

  constructor(file: string, policy: FileKeychainPolicy = 'up') {
    this.file = file;
    this.policy = policy;
  }

  entries(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  secret(entry: KeychainEntry): string | null {
    return this.entries()[`${entry.service}/${entry.account}`] ?? null;
  }

  put(entry: KeychainEntry, secret: string | null): void {
    const entries = this.entries();
    const key = `${entry.service}/${entry.account}`;
    if (secret === null) delete entries[key];
    else entries[key] = secret;
    writeFileSync(this.file, JSON.stringify(entries));
  }

  async get(entry: KeychainEntry): Promise<KeychainResult<string | null>> {
    this.calls.push('get');
    if (this.policy === 'unavailable') return unavailable;
    return { ok: true, value: this.secret(entry) };
  }

  async set(entry: KeychainEntry, secret: string): Promise<KeychainResult<void>> {
    const change = this.secret(entry) !== secret;
    this.calls.push(change ? 'set' : 'set-same');
    if (this.policy === 'unavailable') return unavailable;
    if (this.policy === 'refuse-writes' || (this.policy === 'refuse-changes' && change)) return refused;
    if (this.policy === 'exit-on-change' && change) process.exit(7);
    if (this.policy === 'hang-changes' && change) return new Promise(() => {});
    if (this.policy === 'unavailable-changes' && change) return unavailable;
    this.put(entry, secret);
    return { ok: true, value: undefined };
  }

  async delete(entry: KeychainEntry): Promise<KeychainResult<boolean>> {
    this.calls.push('delete');
    if (this.policy === 'unavailable') return unavailable;
    if (this.policy === 'refuse-writes') return refused;
    const had = this.secret(entry) !== null;
    this.put(entry, null);
    return { ok: true, value: had };
  }
}

const unavailable = { ok: false, kind: 'unavailable', detail: 'Platform failure: no session bus' } as const;
const refused = { ok: false, kind: 'failed', detail: 'Access denied: the item is read-only' } as const;
