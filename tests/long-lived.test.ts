/**
 * A long-lived token from `setup-token` (inference only, no refresh token) once it is revoked or
 * has expired: every way a program can hold one (`AnthropicOAuth.fromEnv()`, `new AnthropicOAuth()`
 * on the environment, either variable, a login saved with `setup-token --save`) must say plainly
 * that the long-lived token ended and how to make a new one, send no token request, and show no
 * token. Against the emulator's long-lived exchange.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicOAuth } from '../src/client.js';
import { setupToken } from '../src/console-login.js';
import { OAuthFlowError } from '../src/errors.js';
import { TokenStorage } from '../src/store/file.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import type { OAuthTokens } from '../src/types.js';
import { cliEnv, profileFileIn, runCli, tokenFileIn } from './helpers/cli-run.js';
import { hello, makeTempDir, nowSeconds, type TempDir, tokenRequests } from './helpers/fixtures.js';

let emu: Emulator;
let temp: TempDir;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir('anthropic-oauth-long-lived-');
});
afterEach(async () => {
  await emu.close();
  await temp.cleanup();
});

/** A token as `setup-token` makes it: the browser approves at once; `path` keeps it there (`--save`). */
function longLived(path?: string): Promise<OAuthTokens> {
  return setupToken({
    oauthConfig: emu.oauthConfig,
    env: {},
    tokenStorage: path,
    openBrowser: async (url) => void (await fetch(await emu.approve(url))),
  });
}

async function failure(promise: Promise<unknown>): Promise<OAuthFlowError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthFlowError);
  return error as OAuthFlowError;
}

/** What every one of these failures says, naming the variable the token came from. */
function expectLongLivedMessage(error: OAuthFlowError, variable: string, secrets: readonly string[]): void {
  expect(error.code).toBe('reauth_required');
  expect(error.message).toBe(
    `The long-lived token (from \`setup-token\`) in ${variable} was revoked or has expired; with no refresh token beside it (ANTHROPIC_REFRESH_TOKEN) it cannot be renewed. Make a new one with \`npx anthropic-oauth setup-token\` and update the CI secret (or wherever ${variable} is set) with it.`,
  );
  const shown = `${error.message}\n${error.stack}\n${inspect(error, { depth: 6 })}\n${JSON.stringify(error)}`;
  for (const secret of secrets) expect(shown).not.toContain(secret);
}

describe('a revoked long-lived token from the environment', () => {
  it('AnthropicOAuth.fromEnv(): messages, getProfile and getUsage say to run setup-token again, with no token request', async () => {
    const { accessToken } = await longLived();
    emu.revokeAccessToken(accessToken);
    const tokenCalls = tokenRequests(emu).length;
    const client = AnthropicOAuth.fromEnv({
      env: { ANTHROPIC_OAUTH_ACCESS_TOKEN: accessToken },
      baseURL: emu.url,
      oauthConfig: emu.oauthConfig,
    });
    for (const call of [() => client.messages.create(hello), () => client.getProfile(), () => client.getUsage()]) {
      expectLongLivedMessage(await failure(call()), 'ANTHROPIC_OAUTH_ACCESS_TOKEN', [accessToken]);
    }
    expect(tokenRequests(emu).length).toBe(tokenCalls);
  });

  it('names ANTHROPIC_ACCESS_TOKEN when the token came from that variable', async () => {
    const { accessToken } = await longLived();
    emu.revokeAccessToken(accessToken);
    const env = { ANTHROPIC_ACCESS_TOKEN: accessToken };
    for (const client of [
      AnthropicOAuth.fromEnv({ env, baseURL: emu.url, oauthConfig: emu.oauthConfig }),
      new AnthropicOAuth({ env, baseURL: emu.url, oauthConfig: emu.oauthConfig }),
    ]) {
      expectLongLivedMessage(await failure(client.messages.create(hello)), 'ANTHROPIC_ACCESS_TOKEN', [accessToken]);
    }
  });

  it('expired by ANTHROPIC_TOKEN_EXPIRES_AT: the same message, and the token is not sent', async () => {
    const { accessToken } = await longLived();
    const env = { ANTHROPIC_OAUTH_ACCESS_TOKEN: accessToken, ANTHROPIC_TOKEN_EXPIRES_AT: String(nowSeconds() - 60) };
    const client = AnthropicOAuth.fromEnv({ env, baseURL: emu.url, oauthConfig: emu.oauthConfig });
    expectLongLivedMessage(await failure(client.messages.create(hello)), 'ANTHROPIC_OAUTH_ACCESS_TOKEN', [accessToken]);
    expect(emu.requests.filter((request) => request.path === '/v1/messages')).toEqual([]);
  });
});

describe('a long-lived login saved with setup-token --save', () => {
  it('revoked: the client and the CLI say to run setup-token --save again, not login', async () => {
    const file = tokenFileIn(temp.dir);
    const saved = await longLived(file);
    expect(saved.refreshToken).toBe('');
    emu.revokeAccessToken(saved.accessToken);
    const error = await failure(
      AnthropicOAuth.fromStorage(file, { baseURL: emu.url, oauthConfig: emu.oauthConfig, env: {} }).messages.create(
        hello,
      ),
    );
    expect(error.code).toBe('reauth_required');
    expect(error.message).toBe(
      `The long-lived token saved in ${file} (from \`setup-token\`) was revoked or has expired, and it has no refresh token to renew it. Make a new one with \`npx anthropic-oauth setup-token --save\`.`,
    );
    const usage = await runCli(['usage'], cliEnv(temp.dir, emu));
    expect(usage.code).toBe(4);
    expect(usage.stderr).toContain('`npx anthropic-oauth setup-token --save`');
    expect(usage.stderr).not.toContain(saved.accessToken);
    // The login is kept as it was: nothing is deleted on a failure.
    expect((await new TokenStorage(file).load())?.accessToken).toBe(saved.accessToken);
  });

  it('in a profile: the CLI names the command for that profile', async () => {
    const saved = await longLived(profileFileIn(temp.dir, 'ci'));
    emu.revokeAccessToken(saved.accessToken);
    const usage = await runCli(['usage', '--profile', 'ci'], cliEnv(temp.dir, emu));
    expect(usage.code).toBe(4);
    expect(usage.stderr).toContain('Make a new one with `npx anthropic-oauth setup-token --save --profile ci`.');
  });

  it('--json: the hint is the command the message gives (setup-token --save), never a contradicting login', async () => {
    const saved = await longLived(profileFileIn(temp.dir, 'ci'));
    emu.revokeAccessToken(saved.accessToken);
    const usage = await runCli(['usage', '--json', '--profile', 'ci'], cliEnv(temp.dir, emu));
    expect(usage.code).toBe(4);
    const { error } = JSON.parse(usage.stdout) as { error: { code: string; message: string; hint: string } };
    expect(error.message).toContain('`npx anthropic-oauth setup-token --save --profile ci`');
    expect(error.hint).toBe('Run `npx anthropic-oauth setup-token --save --profile ci`.');
    expect(usage.stdout).not.toContain(saved.accessToken);
  });

  it('expired: `status` says to make a new one with setup-token --save, for the profile in use (exit 4)', async () => {
    const file = profileFileIn(temp.dir, 'ci');
    const saved = await longLived(file);
    await new TokenStorage(file).save({ ...saved, expiresAt: nowSeconds() - 60 });
    const status = await runCli(['status', '--profile', 'ci'], cliEnv(temp.dir, emu));
    expect(status.code).toBe(4);
    expect(status.stdout).toContain(
      'The access token has expired and cannot be refreshed. Make a new one with `npx anthropic-oauth setup-token --save --profile ci`.',
    );
    expect(status.stdout).not.toContain('anthropic-oauth login');
  });

  it('expired: `token` says the same (exit 4)', async () => {
    const file = tokenFileIn(temp.dir);
    const saved = await longLived(file);
    await new TokenStorage(file).save({ ...saved, expiresAt: nowSeconds() - 60 });
    const result = await runCli(['token'], cliEnv(temp.dir, emu));
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('The long-lived token saved in');
    expect(result.stderr).toContain('`npx anthropic-oauth setup-token --save`');
    expect(
      tokenRequests(emu).filter((request) => (request.body as { grant_type?: string }).grant_type === 'refresh_token'),
    ).toEqual([]);
  });
});
