/**
 * The user agent and the betas: the options, else ANTHROPIC_OAUTH_USER_AGENT / ANTHROPIC_OAUTH_BETAS,
 * else the defaults; the OAuth beta is always sent; a value that could not go into a header is
 * invalid_env at once. Checked on what the emulator receives from the client, createOAuthFetch and
 * the CLI.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AnthropicOAuth,
  createOAuthFetch,
  DEFAULT_OAUTH_BETAS,
  DEFAULT_USER_AGENT,
  TokenStorage,
} from '../src/index.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { cliEnv, runCli, tokenFileIn } from './helpers/cli-run.js';
import { hello, makeTempDir, messageRequests, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(() => emu.close());

const UA = 'my-tool/1.0 (ci)';

async function sentBy(env: Record<string, string>, options: { userAgent?: string; betas?: string[] } = {}) {
  const client = new AnthropicOAuth({
    baseURL: emu.url,
    oauthTokens: tokensOf(emu.issueTokens()),
    oauthConfig: emu.oauthConfig,
    env,
    ...options,
  });
  await client.messages.create(hello);
  const oauthFetch = createOAuthFetch({
    oauthTokens: tokensOf(emu.issueTokens()),
    oauthConfig: emu.oauthConfig,
    env,
    ...options,
  });
  await oauthFetch(`${emu.url}/v1/messages`, { method: 'POST', body: JSON.stringify(hello) });
  return messageRequests(emu).map((r) => ({
    ua: r.headers['user-agent'],
    betas: r.headers['anthropic-beta']?.split(','),
  }));
}

describe('user agent and betas', () => {
  it('default to the design’s identity', async () => {
    const sent = await sentBy({});
    expect(sent).toEqual([
      { ua: DEFAULT_USER_AGENT, betas: [...DEFAULT_OAUTH_BETAS] },
      { ua: DEFAULT_USER_AGENT, betas: [...DEFAULT_OAUTH_BETAS] },
    ]);
  });

  it('come from ANTHROPIC_OAUTH_USER_AGENT and ANTHROPIC_OAUTH_BETAS; the OAuth beta is always added', async () => {
    const sent = await sentBy({
      ANTHROPIC_OAUTH_USER_AGENT: UA,
      ANTHROPIC_OAUTH_BETAS: ' files-api-2025-04-14, ,x-beta ',
    });
    const betas = ['files-api-2025-04-14', 'x-beta', 'oauth-2025-04-20'];
    expect(sent).toEqual([
      { ua: UA, betas },
      { ua: UA, betas },
    ]);
  });

  it('an empty ANTHROPIC_OAUTH_BETAS sends the OAuth beta alone', async () => {
    const sent = await sentBy({ ANTHROPIC_OAUTH_BETAS: '' });
    expect(sent.map((s) => s.betas)).toEqual([['oauth-2025-04-20'], ['oauth-2025-04-20']]);
  });

  it('the options win over the environment', async () => {
    const sent = await sentBy(
      { ANTHROPIC_OAUTH_USER_AGENT: UA, ANTHROPIC_OAUTH_BETAS: 'x-beta' },
      { userAgent: 'opt/2', betas: ['y-beta'] },
    );
    expect(sent).toEqual([
      { ua: 'opt/2', betas: ['y-beta', 'oauth-2025-04-20'] },
      { ua: 'opt/2', betas: ['y-beta', 'oauth-2025-04-20'] },
    ]);
  });

  it.each([
    ['ANTHROPIC_OAUTH_USER_AGENT', 'tool/1\r\nx-injected: 1'],
    ['ANTHROPIC_OAUTH_USER_AGENT', 'x'.repeat(600)],
    ['ANTHROPIC_OAUTH_BETAS', 'oauth-2025-04-20\r\nx-injected: 1'],
    ['ANTHROPIC_OAUTH_BETAS', 'a beta with spaces'],
  ])('%s that could not go into a header is invalid_env naming it, before any request', (name, value) => {
    const env = { [name]: value };
    const expected = expect.objectContaining({ code: 'invalid_env', message: expect.stringContaining(`${name} must`) });
    expect(() => new AnthropicOAuth({ baseURL: emu.url, oauthTokens: tokensOf(emu.issueTokens()), env })).toThrow(
      expected,
    );
    expect(() => createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), env })).toThrow(expected);
    expect(emu.requests).toEqual([]);
  });

  it.each([
    ['userAgent', { userAgent: 'tool/1\r\nx-injected: 1' }],
    ['userAgent', { userAgent: 'x'.repeat(600) }],
    ['userAgent', { userAgent: '' }],
    ['userAgent', { userAgent: 42 }],
    ['betas', { betas: ['oauth-2025-04-20\r\nx-injected: 1'] }],
    ['betas', { betas: ['a beta with spaces'] }],
    ['betas', { betas: 'oauth-2025-04-20' }],
    ['betas', { betas: [null] }],
  ])('a %s option that could not go into a header is invalid_config naming it, before any request', (name, bad) => {
    // As JavaScript callers (or a JSON config) can pass them.
    const options = bad as { userAgent?: string; betas?: string[] };
    const expected = expect.objectContaining({
      code: 'invalid_config',
      message: expect.stringContaining(`The ${name} option must`),
    });
    expect(
      () => new AnthropicOAuth({ baseURL: emu.url, oauthTokens: tokensOf(emu.issueTokens()), ...options }),
    ).toThrow(expected);
    expect(() => createOAuthFetch({ oauthTokens: tokensOf(emu.issueTokens()), ...options })).toThrow(expected);
    expect(emu.requests).toEqual([]);
  });

  it('the CLI sends ANTHROPIC_OAUTH_USER_AGENT on its own API calls (usage)', async () => {
    const temp = await makeTempDir();
    try {
      const home = temp.dir;
      await new TokenStorage(tokenFileIn(home)).save(tokensOf(emu.issueTokens()));
      const result = await runCli(['usage', '--json'], cliEnv(home, emu, { ANTHROPIC_OAUTH_USER_AGENT: UA }));
      expect(result.code).toBe(0);
      const usage = emu.requests.filter((r) => r.path === '/api/oauth/usage');
      expect(usage.map((r) => r.headers['user-agent'])).toEqual([UA]);
    } finally {
      await temp.cleanup();
    }
  });
});
