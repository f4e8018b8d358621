/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/anthropic`), signed in with OAuth: `generateText` and
 * `streamText`.
 *
 *   npm install ai@^6 @ai-sdk/anthropic@^3     # the lines that run on Node 20 (ai 5 does not take
 *                                              # @ai-sdk/anthropic 3 models; ai 7 needs Node 22)
 *   npx anthropic-oauth login
 *   npx tsx examples/ai-sdk.ts
 *
 * `createOAuthFetch()` is a `fetch` that does what `AnthropicOAuth` does: bearer token (refreshed
 * when close to expiry, and once more after a 401), the OAuth betas, `?beta=true`, no `x-api-key`.
 * The AI SDK insists on a credential, so it gets the placeholder `authToken: 'oauth'`, which the
 * fetch replaces with the real token.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, streamText } from 'ai';
import { createOAuthFetch } from 'anthropic-oauth';

const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';

// The AI SDK's base URL ends in /v1, unlike the official SDK's ANTHROPIC_BASE_URL.
const base = process.env.ANTHROPIC_BASE_URL?.replace(/\/+$/, '');

const anthropic = createAnthropic({
  authToken: 'oauth',
  fetch: createOAuthFetch(),
  baseURL: base ? `${base}/v1` : undefined,
});

const generated = await generateText({
  model: anthropic(model),
  maxOutputTokens: 256,
  prompt: 'Say hello in five words.',
});
console.log(generated.text);
console.log(`finishReason=${generated.finishReason}`);

const streamed = streamText({
  model: anthropic(model),
  maxOutputTokens: 512,
  prompt: 'Write a haiku about tokens.',
});
let chunks = 0;
// `fullStream` rather than `textStream`: streamText never throws, it reports errors as stream parts
// (a failed login would otherwise end the stream silently).
for await (const part of streamed.fullStream) {
  if (part.type === 'error') throw part.error;
  if (part.type === 'text-delta') {
    chunks += 1;
    process.stdout.write(part.text);
  }
}
process.stdout.write('\n');
console.log(`chunks=${chunks} finishReason=${await streamed.finishReason}`);
