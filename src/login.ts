/**
 * The interactive login, as reusable steps: authorize URL → browser → code → exchange → save.
 *
 * The library never prints: the one place it talks to a person is the `ask` hook, whose default
 * reads a line from stdin after writing the prompt to stderr. The CLI passes its own hooks.
 */
import { createInterface } from 'node:readline/promises';
import { buildAuthorizationUrl } from './authorize.js';
import { openBrowser as defaultOpenBrowser } from './browser.js';
import { parseAuthCode } from './callback.js';
import { resolveStore } from './provider.js';
import type { TokenStore } from './store/types.js';
import { exchangeCodeForTokens } from './token.js';
import type { Fetch, OAuthConfig, OAuthTokens } from './types.js';

export interface LoginIO {
  /** Shows `prompt` and resolves with the line the user typed or pasted. */
  ask(prompt: string): Promise<string>;
  /** Opens the browser on `url`. A failure is not fatal: the URL is in the prompt too. */
  openBrowser(url: string): Promise<void>;
}

/** Default `ask`: the prompt on stderr (stdout stays clean for data), the answer from stdin. */
export async function askLine(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  try {
    return await rl.question(prompt);
  } finally {
    rl.close();
  }
}

export interface ManualLoginOptions {
  oauthConfig?: Partial<OAuthConfig> | undefined;
  tokenStorage?: TokenStore | string | undefined;
  ask?: LoginIO['ask'] | undefined;
  openBrowser?: LoginIO['openBrowser'] | undefined;
  fetch?: Fetch | undefined;
}

/** The seed's manual flow: the redirect page shows `CODE#STATE`, which the user pastes. */
export async function authorizeManually(options: ManualLoginOptions = {}): Promise<OAuthTokens> {
  const { url, oauthState } = await buildAuthorizationUrl(options.oauthConfig);
  const open = options.openBrowser ?? defaultOpenBrowser;
  await open(url).catch(() => {});
  const ask = options.ask ?? askLine;
  const answer = await ask(
    `Open this URL in your browser and sign in:\n\n  ${url}\n\nThen paste the code shown (CODE#STATE): `,
  );
  const { code, state } = parseAuthCode(answer);
  const tokens = await exchangeCodeForTokens({
    code,
    state,
    oauthState,
    config: options.oauthConfig,
    fetch: options.fetch,
  });
  if (options.tokenStorage !== undefined) await resolveStore(options.tokenStorage).save(tokens);
  return tokens;
}
