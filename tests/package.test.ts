/**
 * The built package, as users load it: `dist/` through the `exports` map, from CommonJS and ESM.
 * `npm test` builds first (`pretest`). A bundler's CJS output of a default import would extend the
 * SDK's factory wrapper and silently make the subclass a plain `Anthropic`: this catches that.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { VERSION } from '../src/version.js';

const run = promisify(execFile);
let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(() => emu.close());

const program = (load: string) => `
${load}
const emu = await startEmulator();
const issued = emu.issueTokens();
const client = new AnthropicOAuth({
  baseURL: emu.url,
  oauthConfig: emu.oauthConfig,
  oauthTokens: { accessToken: issued.accessToken, refreshToken: issued.refreshToken, expiresAt: issued.expiresAt, tokenType: 'Bearer', scope: '' },
});
const message = await client.messages.create({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
const request = emu.requests.find((r) => r.path === '/v1/messages');
console.log(JSON.stringify({
  subclass: client instanceof AnthropicOAuth && client instanceof Anthropic && client.constructor.name === 'AnthropicOAuth',
  type: message.type,
  auth: request.headers.authorization === 'Bearer ' + issued.accessToken,
  beta: request.query.beta,
  ua: request.headers['user-agent'],
  errorIsAnthropic: new OAuthFlowError('not_logged_in', 'x') instanceof AnthropicError,
}));
await emu.close();
`;

const expected = {
  subclass: true,
  type: 'message',
  auth: true,
  beta: 'true',
  ua: 'claude-cli/2.1.2 (external, cli)',
  errorIsAnthropic: true,
};

describe('the built package', () => {
  it('works from CommonJS (require)', async () => {
    const load = `
      const { AnthropicOAuth, OAuthFlowError } = require('anthropic-oauth');
      const { startEmulator } = require('anthropic-oauth/testing');
      const { Anthropic, AnthropicError } = require('@anthropic-ai/sdk');`;
    const source = `(async () => {${program(load)}})().catch((e) => { console.error(e); process.exit(1); });`;
    const { stdout } = await run(process.execPath, ['-e', source], { cwd: process.cwd() });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('works from ESM (import)', async () => {
    const load = `
      import { AnthropicOAuth, OAuthFlowError } from 'anthropic-oauth';
      import { startEmulator } from 'anthropic-oauth/testing';
      import { Anthropic, AnthropicError } from '@anthropic-ai/sdk';`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program(load)], {
      cwd: process.cwd(),
    });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('declares the version it reports', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
