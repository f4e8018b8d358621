/**
 * The official SDK, signed in with OAuth: a streamed reply, printed as it arrives.
 *
 *   npx anthropic-oauth login
 *   npx tsx examples/sdk-stream.ts
 *
 * Streaming needs nothing OAuth-specific: `AnthropicOAuth` adds the bearer token, the OAuth betas
 * and `?beta=true` to every request, streamed or not. The login and the endpoints come from the
 * environment as in `sdk-create.ts`.
 */
import { AnthropicOAuth } from 'anthropic-oauth';

const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';

const client = new AnthropicOAuth();

const stream = client.messages.stream({
  model,
  max_tokens: 512,
  messages: [{ role: 'user', content: 'Write a haiku about tokens.' }],
});

let chunks = 0;
stream.on('text', (text) => {
  chunks += 1;
  process.stdout.write(text);
});

// Resolves once the stream has ended (and rejects on any error, including a failed login).
const message = await stream.finalMessage();
process.stdout.write('\n');
console.log(`chunks=${chunks} stop_reason=${message.stop_reason}`);
