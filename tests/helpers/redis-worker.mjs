// A process on one "machine" (its own HOME) sharing a login through Redis, for
// tests/redis-machines.test.ts. Uses the BUILT package (npm test builds first). Prints JSON lines;
// never prints a token.
import { createInterface } from 'node:readline';
import { AnthropicOAuth } from 'anthropic-oauth';
import { RedisTokenStore } from 'anthropic-oauth/redis';
import { runRequests } from './requests-loop.mjs';

const [mode, baseURL, redisUrl, ...rest] = process.argv.slice(2);
const oauthConfig = { tokenUrl: `${baseURL}/v1/oauth/token`, authorizeUrl: `${baseURL}/oauth/authorize` };
const timings = JSON.parse(process.env.REDIS_STORE_TIMINGS ?? '{}');
const store = new RedisTokenStore({ url: redisUrl, ...timings });

if (mode === 'requests') {
  const [durationMs, loops] = rest.map(Number);
  const client = new AnthropicOAuth({ baseURL, oauthConfig, tokenStorage: store });
  await runRequests(client, durationMs, loops);
} else if (mode === 'hold-lock') {
  // Takes the lock and never lets go: the test SIGKILLs this process while it holds it.
  await store.lock(async () => {
    console.log('locked');
    await new Promise(() => setInterval(() => {}, 1_000));
  });
} else if (mode === 'stale-holder') {
  // A refresh's steps under the lock, up to the last check before its refresh token would be spent
  // (`prepareSave`); the test then stops this process past its lock's expiry (SIGSTOP), resumes it
  // and says `go`: it commits tokens it was given (standing in for what its refresh brought back).
  const [tokensJson] = rest;
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const committed = await store.lock(async () => {
    await store.load();
    const prepared = await store.prepareSave();
    console.log('prepared');
    await lines.next();
    return prepared.commit(JSON.parse(tokensJson));
  });
  console.log(JSON.stringify({ committed }));
  process.exit(0);
}
