/**
 * A separate process for tests/keychain.test.ts (run with `node --import tsx`): the keychain seen
 * from another process, or from one with no session bus at all. Argument: one JSON object; output:
 * one JSON line on stdout.
 *
 * - `{ mode: 'store', account, fallback?, tokens, steps }`: runs `steps` (save, load, clear) on a
 *   KeychainTokenStore and reports each result, every `onFallback` reason and the first error.
 * - `{ mode: 'requests', account, baseURL, oauthConfig, durationMs }`: an AnthropicOAuth client on
 *   that keychain entry sends requests (two at a time) until `durationMs` has passed; reports the
 *   successes and the failures (never a token).
 */
import { AnthropicOAuth, KeychainTokenStore, type OAuthConfig, type OAuthTokens } from '../src/index.js';

type Args =
  | { mode: 'store'; account: string; fallback?: string; tokens: OAuthTokens; steps: ('save' | 'load' | 'clear')[] }
  | { mode: 'requests'; account: string; baseURL: string; oauthConfig: OAuthConfig; durationMs: number };

const args = JSON.parse(process.argv[2] ?? '{}') as Args;

function describe(error: unknown) {
  const e = error as { name?: string; code?: string; message?: string };
  return { name: e.name, code: e.code, message: e.message };
}

if (args.mode === 'store') {
  const reasons: string[] = [];
  const store = new KeychainTokenStore({
    account: args.account,
    fallback: args.fallback ?? false,
    onFallback: (reason) => reasons.push(reason),
  });
  const results: unknown[] = [];
  let error: unknown;
  try {
    for (const step of args.steps) {
      if (step === 'save') results.push(await store.save(args.tokens));
      else if (step === 'load') results.push(await store.load());
      else results.push(await store.clear());
    }
  } catch (caught) {
    error = describe(caught);
  }
  process.stdout.write(`${JSON.stringify({ results, reasons, error })}\n`);
} else {
  const client = new AnthropicOAuth({
    baseURL: args.baseURL,
    oauthConfig: args.oauthConfig,
    tokenStorage: new KeychainTokenStore({ account: args.account }),
  });
  let ok = 0;
  const failures: unknown[] = [];
  const end = Date.now() + args.durationMs;
  const loop = async () => {
    while (Date.now() < end) {
      try {
        await client.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
        ok++;
      } catch (error) {
        failures.push(describe(error));
      }
    }
  };
  await Promise.all([loop(), loop()]);
  process.stdout.write(`${JSON.stringify({ ok, failures })}\n`);
}
