/**
 * A token store of your own: the login kept in an encrypted file (AES-256-GCM, key from the
 * environment), passed to the client as `tokenStorage`.
 *
 *   export OAUTH_TOKENS_KEY="$(node -e "console.log(require('node:crypto').randomBytes(32).toString('base64'))")"
 *   npx anthropic-oauth login            # the first run moves this login into the encrypted file
 *   npx tsx examples/custom-store.ts
 *
 * A `TokenStore` is three methods: `load` (null when nothing is stored), `save` (replace the login
 * atomically: a crash must leave the old one or the new one) and `clear`. Given as `tokenStorage`,
 * it is the client's only source of tokens, and rotated tokens are saved to it before they are
 * used, so it must be writable. If several processes share one store, also implement the optional
 * `lock(fn)` (run `fn` under a lock those processes respect), so that only one of them spends the
 * refresh token; the built-in `TokenStorage` does this with a lock file.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AnthropicOAuth, type StoredLogin, TokenStorage, type TokenStore } from 'anthropic-oauth';

/** File layout: 12-byte IV, 16-byte GCM tag, then the encrypted JSON of the tokens. */
class EncryptedFileStore implements TokenStore {
  readonly path: string;
  readonly #key: Buffer;

  constructor(path: string, key: Buffer) {
    if (key.length !== 32) throw new Error('The key must be 32 bytes, base64-encoded.');
    this.path = path;
    this.#key = key;
  }

  async load(): Promise<StoredLogin | null> {
    let data: Buffer;
    try {
      data = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, data.subarray(0, 12));
    decipher.setAuthTag(data.subarray(12, 28));
    let json: string;
    try {
      json = Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`Cannot decrypt ${this.path}: wrong OAUTH_TOKENS_KEY, or a damaged file.`);
    }
    return JSON.parse(json) as StoredLogin;
  }

  async save(tokens: StoredLogin): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // Write a temporary file, then rename it over the old one: readers see one login or the other.
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, Buffer.concat([iv, cipher.getAuthTag(), body]), { mode: 0o600 });
    await rename(temporary, this.path);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

const key = process.env.OAUTH_TOKENS_KEY;
if (!key) throw new Error('Set OAUTH_TOKENS_KEY to a base64 32-byte key (see the comment at the top).');
const store = new EncryptedFileStore(
  process.env.OAUTH_TOKENS_ENCRYPTED_FILE ?? join(homedir(), '.anthropic', 'oauth_tokens.enc'),
  Buffer.from(key, 'base64'),
);

if ((await store.load()) === null) {
  // First run: copy the login that `npx anthropic-oauth login` saved (the default token file, or
  // ANTHROPIC_OAUTH_TOKEN_FILE). From now on the encrypted copy is the one that gets refreshed, so
  // the plain file goes stale: delete it once this works (`npx anthropic-oauth logout`).
  const plain = new TokenStorage();
  const tokens = await plain.load();
  if (tokens === null) throw new Error(`No login in ${plain.path}: run \`npx anthropic-oauth login\` first.`);
  await store.save(tokens);
  console.log('imported the login into the encrypted store');
}

const client = new AnthropicOAuth({ tokenStorage: store });

const message = await client.messages.create({
  model: process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
});
for (const block of message.content) {
  if (block.type === 'text') console.log(block.text);
}
