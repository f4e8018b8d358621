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
  describeApiError,
  exchangeCodeForTokens,
  loginToConsole,
  maskToken as mask,
  maskApiKey,
  type OAuthTokens,
  parseAuthCode,
  parseRateLimitHeaders,
  TokenStorage,
} from '../src/index.js';
import { startEmulator } from '../src/testing/index.js';

const MODEL = 'claude-sonnet-5-5';
let n = 0;
const step = (title: string) => console.log(`\n${++n}. ${title}`);
const say = (line: string) => console.log(`   ${line}`);

const emu = await startEmulator({
  plan: 'max',
  usage: {
    fiveHour: { utilization: 37, resetsInSeconds: 2 * 3600 + 14 * 60 },
    sevenDay: 12,
    extraUsage: { enabled: true, monthlyLimitCents: 5000, usedCents: 1234 },
  },
});
/** `2h 14m`: the two largest units of a duration. */
const until = (date: Date | null): string => {
  if (date === null) return 'not used yet';
  const s = Math.max(0, Math.round((date.getTime() - Date.now()) / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  return `resets in ${
    first === -1
      ? '<1m'
      : parts
          .slice(first, first + 2)
          .map(([v, u]) => `${v}${u}`)
          .join(' ')
  }`;
};
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

  step('Which plan is this? (client.getProfile(), scope user:profile)');
  const profile = await client.getProfile();
  say(
    `${profile.account.email}: plan ${profile.plan} (${profile.organization?.rateLimitTier}), organization ${profile.organization?.name}, subscription ${profile.organization?.subscriptionStatus}`,
  );

  step('How much of the limits is left? (client.getUsage())');
  const usage = await client.getUsage();
  for (const [key, window] of Object.entries(usage.windows)) {
    say(
      `${key.padEnd(16)} ${String(Math.round(window.utilization ?? 0)).padStart(3)}% used, ${until(window.resetsAt)}`,
    );
  }
  const extra = usage.extraUsage;
  // Minor units of the currency: decimalPlaces is 2 for USD cents (0 for JPY, 3 for KWD).
  const dollars = (minor: number) =>
    `$${(minor / 10 ** (extra?.decimalPlaces ?? 2)).toFixed(extra?.decimalPlaces ?? 2)}`;
  say(
    `extra usage      ${extra?.isEnabled ? `on, ${dollars(extra.usedCredits ?? 0)} of ${extra.monthlyLimit === null ? 'no limit' : dollars(extra.monthlyLimit)} this month` : 'off'}`,
  );
  const { response } = await client.messages
    .create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
    .withResponse();
  const limits = parseRateLimitHeaders(response.headers);
  say(
    `every reply's headers agree: ${limits?.representativeClaim} ${Math.round(limits?.fiveHour?.utilization ?? 0)}% (status ${limits?.status})`,
  );

  step('Why did this request fail? (describeApiError on the SDK error, thrown unchanged)');
  emu.faults.messagesExtraUsageRequired();
  emu.faults.messagesRateLimited(1, { window: 'five_hour', resetsInSeconds: 2 * 3600 + 14 * 60 });
  for (let i = 0; i < 2; i++) {
    try {
      await client.messages.create(
        { model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
        { maxRetries: 0 },
      );
    } catch (error) {
      const described = describeApiError(error);
      say(`${(error as Error).constructor.name} → ${described?.code}: ${described?.message}`);
      if (described?.resetsAt) say(`  ${until(described.resetsAt)}`);
      say(`  ${described?.hint}`);
    }
  }

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

  step('Or sign in at the Console: an API key billed to the organization (login --console)');
  const keyStorage = new TokenStorage(join(dir, '.anthropic', 'console.json'));
  const keyLogin = await loginToConsole({
    oauthConfig: { ...emu.oauthConfig, authorizeUrl: emu.consoleAuthorizeUrl },
    tokenStorage: keyStorage,
    baseURL: emu.url,
    env: {},
    openBrowser: async (consoleUrl) => void (await fetch(await emu.approve(consoleUrl))),
  });
  say(
    `API key ${maskApiKey(keyLogin.apiKey)} for ${keyLogin.organization.name} (role ${keyLogin.role.organization}); saved as kind ${keyLogin.kind}, the OAuth tokens that made it discarded`,
  );
  const keyClient = AnthropicOAuth.fromStorage(keyStorage, { baseURL: emu.url });
  await keyClient.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  const keySent = emu.requests.findLast((r) => r.path === '/v1/messages');
  say(
    `sent as new Anthropic({ apiKey }) sends it: ${keySent?.headers.authorization ? `Authorization: Bearer ${maskApiKey(keySent.headers.authorization.slice('Bearer '.length))}` : `x-api-key: ${maskApiKey(keySent?.headers['x-api-key'] ?? '')}`}, OAuth beta: ${(keySent?.headers['anthropic-beta'] ?? '').includes('oauth') ? 'yes' : 'no'}, ?beta=true: ${keySent?.query.beta === 'true' ? 'yes' : 'no'}`,
  );

  console.log(
    '\nDone: authorize → exchange → save → call → stream → plan and usage → errors explained → refresh → Console API key, all offline.',
  );
} finally {
  await emu.close();
  await rm(dir, { recursive: true, force: true });
}
