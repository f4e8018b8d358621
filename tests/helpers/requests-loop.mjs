// The `requests` mode of the worker processes (worker.mjs over a token file, redis-worker.mjs over
// Redis): `loops` concurrent loops of /v1/messages calls until `durationMs` has passed, then one line
// of JSON (see WorkerResult in worker-process.ts). Never prints a token, only a digest.
import { createHash } from 'node:crypto';

export const digest = (token) => createHash('sha256').update(token).digest('hex').slice(0, 16);

export async function runRequests(client, durationMs, loops) {
  const deadline = Date.now() + durationMs;
  const result = { ok: 0, failed: 0, errors: {} };
  const loop = async () => {
    while (Date.now() < deadline) {
      try {
        await client.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
        result.ok++;
      } catch (error) {
        result.failed++;
        const key = `${error?.constructor?.name}:${error?.code ?? error?.status ?? ''}`;
        result.errors[key] = (result.errors[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  result.finalRefreshToken = digest((await client.getTokens()).refreshToken);
  console.log(JSON.stringify(result));
}
