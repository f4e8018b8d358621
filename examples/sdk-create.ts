/**
 * The official SDK, signed in with OAuth: one `messages.create` call.
 *
 *   npx anthropic-oauth login          # once: saves ~/.anthropic/oauth_tokens.json
 *   npx tsx examples/sdk-create.ts
 *
 * `AnthropicOAuth` is the SDK's `Anthropic` client: same methods, same types. It finds the login by
 * itself (the ANTHROPIC_OAUTH_ACCESS_TOKEN variables, else the token file, or the file named by
 * ANTHROPIC_OAUTH_TOKEN_FILE) and refreshes the token when it is close to expiry. Endpoints come from
 * the environment too: ANTHROPIC_BASE_URL (read by the SDK) and ANTHROPIC_OAUTH_TOKEN_URL (read by
 * anthropic-oauth); unset, they are the real service.
 */
import { AnthropicOAuth } from 'anthropic-oauth';

const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';

const client = new AnthropicOAuth();

const message = await client.messages.create({
  model,
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
});

for (const block of message.content) {
  if (block.type === 'text') console.log(block.text);
}
console.log(`stop_reason=${message.stop_reason} output_tokens=${message.usage.output_tokens}`);
