/**
 * LangChain (`@langchain/anthropic`), signed in with OAuth: `invoke` and `stream`.
 *
 *   npm install @langchain/anthropic @langchain/core
 *   npx anthropic-oauth login
 *   npx tsx examples/langchain.ts
 *
 * `ChatAnthropic` builds its own Anthropic SDK client; `clientOptions.fetch` gives it
 * `createOAuthFetch()`, which sends the bearer token, the OAuth betas and `?beta=true` and drops the
 * `x-api-key` header. LangChain refuses to start without an API key, so it gets a placeholder that
 * never leaves this process. LangChain's client runs with `maxRetries: 0`; the OAuth fetch still
 * refreshes and replays once after a 401. The base URL comes from ANTHROPIC_BASE_URL (read by
 * LangChain), the token URL from ANTHROPIC_OAUTH_TOKEN_URL.
 */
import { ChatAnthropic } from '@langchain/anthropic';
import { createOAuthFetch } from 'anthropic-oauth';

const chat = new ChatAnthropic({
  model: process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5',
  maxTokens: 512,
  apiKey: 'placeholder-not-sent',
  clientOptions: { fetch: createOAuthFetch() },
});

const reply = await chat.invoke('Say hello in five words.');
console.log(reply.text);

let chunks = 0;
for await (const chunk of await chat.stream('Write a haiku about tokens.')) {
  chunks += 1;
  process.stdout.write(chunk.text);
}
process.stdout.write('\n');
console.log(`chunks=${chunks}`);
