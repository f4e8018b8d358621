/**
 * One login for several machines (a devcontainer and its host, workstations, CI runners, agent
 * workers), kept in the Redis they all reach: whichever process finds the token about to expire
 * refreshes it, once, under a lock in Redis, and every other process on every machine picks up the
 * new tokens. A refresh on one machine no longer logs the others out.
 *
 *   npm install redis                                        # node-redis, an optional peer dependency
 *   export ANTHROPIC_OAUTH_REDIS_URL=redis://:PASSWORD@redis.internal:6379/0
 *   export ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY="$(openssl rand -base64 32)"   # optional; same on every machine
 *   npx anthropic-oauth login --store redis                  # once, on any machine
 *   npx tsx examples/redis-store.ts                          # on every machine
 *
 * Without a login in Redis yet, this example brings in the one of this machine's token file, if
 * there is one (`npx anthropic-oauth login`). With an encryption key, Redis holds the login encrypted (AES-256-GCM),
 * so whoever can read Redis still cannot read the tokens.
 */
import { AnthropicOAuth, TokenStorage } from 'anthropic-oauth';
import { RedisTokenStore } from 'anthropic-oauth/redis';

const store = new RedisTokenStore({
  url: process.env.ANTHROPIC_OAUTH_REDIS_URL,
  encryptionKey: process.env.ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY || undefined,
});

try {
  const local = (await store.load()) === null ? await new TokenStorage().load() : null;
  if (local !== null) {
    // Under the lock, as every write of a login: another machine may be doing the same right now.
    const imported = await store.lock(async () => {
      if ((await store.load()) !== null) return false;
      await store.save(local);
      return true;
    });
    if (imported) console.log('imported the login into Redis');
  }

  // With no login in Redis, the first request fails with `not_logged_in`, saying where it looked.
  const client = new AnthropicOAuth({ tokenStorage: store });
  const message = await client.messages.create({
    model: process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5',
    max_tokens: 256,
    messages: [{ role: 'user', content: 'Say hello in five words.' }],
  });
  for (const block of message.content) {
    if (block.type === 'text') console.log(block.text);
  }
} finally {
  // A program that is done with the store closes its connection (it never keeps a process alive anyway).
  await store.close();
}
