/**
 * What the Redis token store keeps in the `login` field: the token file's JSON (`toStoredLogin`,
 * compact), or, with an `encryptionKey`, that JSON encrypted with AES-256-GCM (`node:crypto`).
 *
 * - Encrypted form: `enc:aes-256-gcm:` and base64 of a random 12-byte IV, the 16-byte tag and the
 *   ciphertext. The key name is authenticated with it (GCM's additional data), so a login copied to
 *   another key does not decrypt there.
 * - A store with a key refuses a login in clear (someone with write access to Redis could otherwise
 *   plant their own login), and a store without one cannot read an encrypted login: both say so.
 * - A value that does not decode is `corrupt_file`, never quoted; one that does not decrypt (another
 *   key, or altered) is `read_failed`. Either way the stored value is left alone.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { TokenStorageError } from '../errors.js';
import { fromStoredLogin, toStoredLogin } from '../stored-login.js';
import type { StoredLogin } from '../types.js';

const PREFIX = 'enc:aes-256-gcm:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
// `login` will not write over a login it cannot read (it may be another machine's, under another
// key): `logout` removes it first. Both take the same `--profile`, which names the key.
const LOGIN_AGAIN =
  'To replace it, run `npx anthropic-oauth logout --store redis`, then `npx anthropic-oauth login --store redis` (each with the `--profile` of this key, if it has one).';

/** A 32-byte key from bytes, 64 hex digits, or base64/base64url of 32 bytes; a `TypeError` otherwise. */
export function encryptionKeyFrom(value: Uint8Array | string): Buffer {
  let key: Buffer | undefined;
  if (value instanceof Uint8Array) key = Buffer.from(value);
  else if (typeof value === 'string') {
    const text = value.trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
    else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) key = Buffer.from(text, 'base64');
  }
  if (key?.length !== KEY_BYTES) {
    throw new TypeError(
      'encryptionKey must be 32 bytes: a Uint8Array, 64 hex digits, or base64 of 32 bytes (e.g. `openssl rand -base64 32`).',
    );
  }
  return key;
}

export class LoginCodec {
  readonly #key: Buffer | null;
  /** The login key, authenticated with the ciphertext. */
  readonly #aad: Buffer;
  /** How messages name the login. */
  readonly #where: string;

  constructor(key: Buffer | null, loginKey: string, where: string) {
    this.#key = key;
    this.#aad = Buffer.from(`anthropic-oauth:${loginKey}`, 'utf8');
    this.#where = where;
  }

  get encrypted(): boolean {
    return this.#key !== null;
  }

  encode(tokens: StoredLogin): string {
    const json = JSON.stringify(toStoredLogin(tokens));
    if (this.#key === null) return json;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(this.#aad);
    const body = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  decode(value: string): StoredLogin {
    const json = value.startsWith(PREFIX) ? this.#decrypt(value.slice(PREFIX.length)) : this.#clear(value);
    let data: unknown;
    try {
      data = JSON.parse(json);
    } catch {
      throw this.#corrupt(json.trim() === '' ? 'empty' : 'not valid JSON');
    }
    try {
      return fromStoredLogin(data, this.#where);
    } catch (error) {
      // Its message says which field is wrong (never a value): keep that part.
      const what = error instanceof Error ? /not a valid login \(([^)]+)\)/.exec(error.message)?.[1] : undefined;
      throw this.#corrupt(what ?? 'not the token file format', error);
    }
  }

  #clear(value: string): string {
    if (this.#key === null) return value;
    throw new TokenStorageError(
      'read_failed',
      `The login in ${this.#where} is stored in clear, but this store has an encryptionKey: it was not used (anyone able to write to Redis could have put it there). ${LOGIN_AGAIN}`,
      { path: this.#where },
    );
  }

  #decrypt(encoded: string): string {
    if (this.#key === null) {
      throw new TokenStorageError(
        'read_failed',
        `The login in ${this.#where} is encrypted, and this store has no encryptionKey to read it. Give the key it was saved with (ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY for the CLI, the encryptionKey option in a program), or ${LOGIN_AGAIN.charAt(0).toLowerCase()}${LOGIN_AGAIN.slice(1)}`,
        { path: this.#where },
      );
    }
    const raw = Buffer.from(encoded, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw this.#corrupt('the encrypted value is cut short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(this.#aad);
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new TokenStorageError(
        'read_failed',
        `The login in ${this.#where} could not be decrypted with this store's encryptionKey: it was saved with another key, or altered. Use the key it was saved with, or ${LOGIN_AGAIN.charAt(0).toLowerCase()}${LOGIN_AGAIN.slice(1)}`,
        { path: this.#where },
      );
    }
  }

  #corrupt(what: string, cause?: unknown): TokenStorageError {
    return new TokenStorageError(
      'corrupt_file',
      `The login in ${this.#where} is not a valid login (${what}). ${LOGIN_AGAIN}`,
      {
        path: this.#where,
        cause,
      },
    );
  }
}
