/**
 * `npm run demo`: the whole flow, offline, against the local emulator (nothing leaves 127.0.0.1).
 * Secrets are never printed: tokens are shown as their public prefix only, codes not at all.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AnthropicOAuth,
  buildAuthorizationUrl,
  exchangeCodeForTokens,
  maskToken as mask,
  type OAuthTokens,
  parseAuthCode,
  TokenStorage,
} from '../src/index.js';
import { startEmulator } from '../src/testing/index.js';

const MODEL = 'claude-sonnet-5-5';
let n = 0;
const step = (title: string) => console.log(`\n${++n}. ${title}`);
const say = (line: string) => console.log(`   ${line}`);

const emu = await startEmulator();
const dir = await mkdtemp(join(tmpdir(), 'anthropic-oauth-demo-'));
try {
  console.log(`anthropic-oauth demo — emulator at ${emu.url} (offline)`);

  step('Build the authorize URL (PKCE S256, independent state)');
  const { url, oauthState } = await buildAuthorizationUrl(emu.oauthConfig);
  const shown = new URL(url);
  say(
    `${shown.origin}${shown.pathname}?…&code_challenge_method=${shown.searchParams.get('code_challenge_method')}&code=true`,
  );

  step('Approve in the "browser" (a programmatic visit to the emulator page)');
  const callback = await emu.approve(url);
  const { code, state } = parseAuthCode(callback);
  say(
    `redirected to ${new URL(callback).pathname} with a code (${code.length} chars, not shown); state matches: ${state === oauthState.state}`,
  );

  step('Exchange the code for tokens');
  const tokens = await exchangeCodeForTokens({ code, state, oauthState, config: emu.oauthConfig });
  say(`signed in as ${tokens.account?.emailAddress} (${tokens.organization?.name})`);
  say(`access token ${mask(tokens.accessToken)}, refresh token ${mask(tokens.refreshToken)}`);
  say(`expires at ${new Date((tokens.expiresAt ?? 0) * 1000).toISOString()}`);

  step('Save the login');
  const storage = new TokenStorage(join(dir, '.anthropic', 'oauth_tokens.json'));
  await storage.save(tokens);
  const mode = (await stat(storage.path)).mode & 0o777;
  say(`${storage.path} (mode 0${mode.toString(8)})`);

  step('Call the API with AnthropicOAuth (bearer token, OAuth betas, ?beta=true)');
  const client = AnthropicOAuth.fromStorage(storage, { baseURL: emu.url, oauthConfig: emu.oauthConfig });
  const message = await client.messages.create({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Say hello' }],
  });
  say(`reply: ${message.content.map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('')}`);
  const sent = emu.requests.findLast((r) => r.path === '/v1/messages');
  say(`sent anthropic-beta: ${sent?.headers['anthropic-beta']}`);
  say(`sent query: beta=${sent?.query.beta}, user agent: ${sent?.headers['user-agent']}`);

  step('Stream a message');
  const stream = client.messages.stream({
    model: MODEL,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'Stream a greeting' }],
  });
  const deltas: string[] = [];
  stream.on('text', (text) => deltas.push(text));
  const final = await stream.finalMessage();
  say(`${deltas.length} text deltas: ${JSON.stringify(deltas.join(''))} (stop reason ${final.stop_reason})`);

  step('Force an expiry: the next request refreshes first, and the rotated tokens are saved');
  const stored = (await storage.load()) as OAuthTokens;
  await storage.save({ ...stored, expiresAt: Math.floor(Date.now() / 1000) - 1 });
  const expiring = AnthropicOAuth.fromStorage(storage, { baseURL: emu.url, oauthConfig: emu.oauthConfig });
  const before = emu.stats().refresh;
  await expiring.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'again' }] });
  const rotated = (await storage.load()) as OAuthTokens;
  say(`token endpoint refreshes: ${emu.stats().refresh - before}`);
  say(
    `refresh token rotated: ${rotated.refreshToken !== stored.refreshToken}; old one still accepted: ${emu.isRefreshTokenLive(stored.refreshToken)}`,
  );
  say(`new expiry ${new Date((rotated.expiresAt ?? 0) * 1000).toISOString()}, saved to ${storage.path}`);

  console.log('\nDone: authorize → exchange → save → call → stream → refresh, all offline.');
} finally {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
}
