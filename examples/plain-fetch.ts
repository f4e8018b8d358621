/**
 * No SDK at all: `createOAuthFetch()` and a plain `POST /v1/messages`.
 *
 *   npx anthropic-oauth login
 *   npx tsx examples/plain-fetch.ts
 *
 * The OAuth fetch adds `Authorization: Bearer …` (refreshed when close to expiry, and once more
 * after a 401), the OAuth betas, the user agent and `?beta=true`; you send the rest of the request
 * as documented for the Messages API (`anthropic-version`, JSON body).
 */
import { createOAuthFetch } from 'anthropic-oauth';

const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';
const base = (process.env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com').replace(/\/+$/, '');

const oauthFetch = createOAuthFetch();

const response = await oauthFetch(`${base}/v1/messages`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
  body: JSON.stringify({
    model,
    max_tokens: 256,
    messages: [{ role: 'user', content: 'Say hello in five words.' }],
  }),
});
if (!response.ok) {
  throw new Error(`HTTP ${response.status}: ${await response.text()}`);
}

interface MessageResponse {
  content: Array<{ type: string; text?: string }>;
  stop_reason: string;
}
const message = (await response.json()) as MessageResponse;
for (const block of message.content) {
  if (block.type === 'text') console.log(block.text);
}
console.log(`status=${response.status} stop_reason=${message.stop_reason}`);
