/**
 * Every file in `examples/`, run as a user runs it: a child process (`node --import tsx`) that
 * imports the package by name (the built `dist/`, through `exports`), against a fresh emulator, in a
 * temporary HOME, with the endpoints and the login given only through the environment
 * (`ANTHROPIC_BASE_URL`, `ANTHROPIC_OAUTH_TOKEN_URL`, the default token file or
 * `ANTHROPIC_OAUTH_TOKEN_FILE`). The child starts from an empty environment, and a preload refuses
 * any `fetch` beyond 127.0.0.1, so nothing can reach the real service.
 *
 * Each example runs with three logins: a fresh token (no token call), an expired one (one refresh
 * before the first request) and one the server revoked although it looks fresh (a 401, one
 * refresh, one replay — also for LangChain's `maxRetries: 0` client and the AI SDK). Each run checks
 * the exact output, the exact request bodies, and the OAuth shape of every API request.
 *
 * `npm test` builds first (`pretest`); run `npm run build` before running this file alone.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_OAUTH_BETAS, DEFAULT_SCOPES, DEFAULT_USER_AGENT, OAUTH_BETA } from '../src/constants.js';
import { TokenStorage } from '../src/index.js';
import { RedisTokenStore } from '../src/store/redis.js';
import { type Emulator, type EmulatorRequest, type IssuedTokens, startEmulator } from '../src/testing/index.js';
import { startRedis } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODEL = 'claude-sonnet-5-5';
const HELLO = 'Hello from the emulator. You said: Say hello in five words.';
const HAIKU = 'Hello from the emulator. You said: Write a haiku about tokens.';
const TIMEOUT_MS = 60_000;

/** Loaded before the example: any `fetch` to a host other than 127.0.0.1 throws. */
const GUARD = `
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname !== '127.0.0.1') {
    return Promise.reject(new Error('examples test: refused a request beyond loopback: ' + url.origin));
  }
  return realFetch(input, init);
};
// With LOGIN_READS_OUT set: counts the reads of the token file (TokenStorage stats it once before each
// read of the login), written to that file at exit.
if (process.env.LOGIN_READS_OUT) {
  const { writeFileSync, promises } = await import('node:fs');
  const tokenFile = process.env.HOME + '/.anthropic/oauth_tokens.json';
  const realStat = promises.stat;
  let reads = 0;
  promises.stat = (path, ...rest) => {
    if (String(path) === tokenFile) reads++;
    return realStat(path, ...rest);
  };
  process.on('exit', () => writeFileSync(process.env.LOGIN_READS_OUT, String(reads)));
}
`;

type Scenario = 'fresh' | 'expired' | 'revoked';
const SCENARIOS: readonly Scenario[] = ['fresh', 'expired', 'revoked'];

interface World {
  emu: Emulator;
  home: string;
  issued: IssuedTokens;
  /** The plain token file the login was written to (`TokenStorage`). */
  tokenFile: string;
  env: Record<string, string>;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh emulator, a temporary HOME, and a login in a token file, in the state `scenario` names. */
async function makeWorld(context: TestContext, scenario: Scenario): Promise<World> {
  const emu = await startEmulator();
  const home = await mkdtemp(join(tmpdir(), 'anthropic-oauth-examples-'));
  // The test's own hook: with concurrent tests, the global onTestFinished may pick another test.
  context.onTestFinished(async () => {
    await emu.close();
    await rm(home, { recursive: true, force: true });
  });
  await writeFile(join(home, 'guard.mjs'), GUARD);
  const issued = emu.issueTokens(scenario === 'expired' ? { ttl: 0 } : {});
  if (scenario === 'revoked') emu.revokeAccessToken(issued.accessToken);
  // The fresh login sits at the default path under HOME; the others are named by the variable.
  const tokenFile =
    scenario === 'fresh' ? join(home, '.anthropic', 'oauth_tokens.json') : join(home, 'logins', 'work.json');
  await new TokenStorage(tokenFile).save({
    accessToken: issued.accessToken,
    refreshToken: issued.refreshToken,
    expiresAt: issued.expiresAt,
    tokenType: 'Bearer',
    scope: DEFAULT_SCOPES,
  });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    ANTHROPIC_BASE_URL: emu.url,
    ANTHROPIC_OAUTH_TOKEN_URL: emu.tokenUrl,
    OAUTH_TOKENS_KEY: randomBytes(32).toString('base64'),
    LANGSMITH_TRACING: 'false',
    LANGCHAIN_TRACING_V2: 'false',
    NO_COLOR: '1',
  };
  if (scenario !== 'fresh') env.ANTHROPIC_OAUTH_TOKEN_FILE = tokenFile;
  return { emu, home, issued, tokenFile, env };
}

function runExample(world: World, name: string, env: Record<string, string> = world.env): Promise<Run> {
  const args = ['--import', 'tsx', '--import', pathToFileURL(join(world.home, 'guard.mjs')).href, `examples/${name}`];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, env, timeout: TIMEOUT_MS - 5_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

function apiRequests(emu: Emulator): EmulatorRequest[] {
  return emu.requests.filter((r) => r.path.startsWith('/v1/') && r.path !== '/v1/oauth/token');
}

/**
 * Every API request has the OAuth shape, and the tokens moved as the scenario demands: returns the
 * access token the successful requests used.
 */
function expectOAuthTraffic(world: World, scenario: Scenario, calls: number): string {
  const { emu, issued } = world;
  const api = apiRequests(emu);
  for (const request of api) {
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/messages');
    expect(request.query.beta).toBe('true');
    expect(request.headers['x-api-key']).toBeUndefined();
    expect(request.headers.authorization).toMatch(/^Bearer sk-ant-oat01-[\w-]+$/);
    expect(request.headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    const betas = (request.headers['anthropic-beta'] ?? '').split(',');
    expect(betas).toContain(OAUTH_BETA);
    expect(betas.slice(0, DEFAULT_OAUTH_BETAS.length)).toEqual([...DEFAULT_OAUTH_BETAS]);
    expect(new Set(betas).size).toBe(betas.length);
  }
  const answered = scenario === 'revoked' ? api.slice(1) : api;
  expect(answered).toHaveLength(calls);
  expect(answered.map((r) => r.status)).toEqual(Array(calls).fill(200));
  const used = answered[0]?.headers.authorization?.slice('Bearer '.length) ?? '';
  expect(answered.every((r) => r.headers.authorization === `Bearer ${used}`)).toBe(true);

  const refreshes = emu.requests.filter((r) => r.path === '/v1/oauth/token');
  if (scenario === 'fresh') {
    expect(used).toBe(issued.accessToken);
    expect(refreshes).toHaveLength(0);
    expect(emu.stats()).toMatchObject({ refresh: 0, unauthorized: 0 });
  } else {
    expect(used).not.toBe(issued.accessToken);
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]?.body).toMatchObject({ grant_type: 'refresh_token', refresh_token: issued.refreshToken });
    expect(emu.isRefreshTokenLive(issued.refreshToken)).toBe(false);
    if (scenario === 'expired') {
      expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 0 });
    } else {
      expect(api[0]).toMatchObject({ status: 401 });
      expect(api[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
      expect(emu.stats()).toMatchObject({ refresh: 1, unauthorized: 1 });
      // The replay is the same request: same body.
      expect(api[1]?.body).toEqual(api[0]?.body);
    }
  }
  return used;
}

/** The token file holds the login the client is using now (the rotated one after a refresh). */
async function expectFileHolds(world: World, accessToken: string): Promise<void> {
  const stored = await new TokenStorage(world.tokenFile).load();
  expect(stored?.accessToken).toBe(accessToken);
  expect(stored && world.emu.isRefreshTokenLive(stored.refreshToken ?? '')).toBe(true);
}

const bodies = (emu: Emulator) => apiRequests(emu).map((r) => r.body);

interface Case {
  /** The example's file name in `examples/`. */
  file: string;
  /** How many API calls succeed (a revoked login adds one 401 before them). */
  calls: number;
  /** Where the rotated login goes: the token file, or the example's own store. */
  savesToFile: boolean;
  /** Anything else the example needs (a Redis), added to its environment; stopped with the test. */
  setup?(world: World, context: TestContext): Promise<Record<string, string>>;
  check(run: Run, world: World): void | Promise<void>;
}

const CASES: readonly Case[] = [
  {
    file: 'sdk-create.ts',
    calls: 1,
    savesToFile: true,
    check(run, { emu }) {
      expect(run.stdout).toMatch(new RegExp(`^${escapeRegExp(HELLO)}\\nstop_reason=end_turn output_tokens=\\d+\\n$`));
      expect(bodies(emu).at(-1)).toEqual({
        model: MODEL,
        max_tokens: 256,
        messages: [{ role: 'user', content: 'Say hello in five words.' }],
      });
    },
  },
  {
    file: 'sdk-stream.ts',
    calls: 1,
    savesToFile: true,
    check(run, { emu }) {
      // One text event per word of the emulator's reply: the stream really streamed.
      expect(run.stdout).toBe(`${HAIKU}\nchunks=11 stop_reason=end_turn\n`);
      expect(bodies(emu).at(-1)).toMatchObject({ model: MODEL, max_tokens: 512, stream: true });
    },
  },
  {
    file: 'sdk-tool-use.ts',
    calls: 2,
    savesToFile: true,
    check(run, { emu }) {
      expect(run.stdout).toBe(
        'tool_use get_weather {"city":"emulated city"}\n' +
          'Hello from the emulator. The tool said: Sunny and 21 C in emulated city\n',
      );
      const [first, second] = bodies(emu).slice(-2) as Array<{ tools: unknown; messages: unknown[] }>;
      const tool = { name: 'get_weather', description: expect.any(String), input_schema: expect.any(Object) };
      expect(first).toMatchObject({ model: MODEL, tools: [tool] });
      expect(first?.messages).toEqual([{ role: 'user', content: 'What is the weather in Paris?' }]);
      expect(second).toMatchObject({ model: MODEL, tools: [tool] });
      const call = { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather' };
      expect(second?.messages).toEqual([
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: [{ ...call, input: { city: 'emulated city' } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: expect.any(String), content: 'Sunny and 21 C in emulated city' },
          ],
        },
      ]);
      const [assistant, result] = (second?.messages.slice(1) ?? []) as Array<{
        content: Array<{ id?: string; tool_use_id?: string }>;
      }>;
      expect(result?.content[0]?.tool_use_id).toBe(assistant?.content[0]?.id);
    },
  },
  {
    file: 'ai-sdk.ts',
    calls: 2,
    savesToFile: true,
    check(run, { emu }) {
      expect(run.stdout).toBe(`${HELLO}\nfinishReason=stop\n${HAIKU}\nchunks=11 finishReason=stop\n`);
      const [generate, stream] = apiRequests(emu).slice(-2);
      // The AI SDK's placeholder credential never reaches the wire; its own headers do.
      expect(generate?.headers.authorization).not.toBe('Bearer oauth');
      expect(generate?.headers['anthropic-version']).toBe('2023-06-01');
      expect(generate?.body).toMatchObject({ model: MODEL, max_tokens: 256 });
      expect((generate?.body as { stream?: boolean } | undefined)?.stream).not.toBe(true);
      expect(stream?.body).toMatchObject({ model: MODEL, max_tokens: 512, stream: true });
    },
  },
  {
    file: 'langchain.ts',
    calls: 2,
    savesToFile: true,
    check(run, { emu }) {
      const match = /^(.*)\n(.*)\nchunks=(\d+)\n$/.exec(run.stdout);
      expect(match?.slice(1, 3)).toEqual([HELLO, HAIKU]);
      expect(Number(match?.[3])).toBeGreaterThan(1);
      const [invoke, stream] = bodies(emu).slice(-2);
      expect(invoke).toMatchObject({
        model: MODEL,
        max_tokens: 512,
        stream: false,
        messages: [{ role: 'user', content: 'Say hello in five words.' }],
      });
      expect(stream).toMatchObject({ model: MODEL, max_tokens: 512, stream: true });
      // The placeholder key was dropped (checked for every request), and never shown anywhere.
      expect(run.stdout + run.stderr).not.toContain('placeholder-not-sent');
    },
  },
  {
    file: 'plain-fetch.ts',
    calls: 1,
    savesToFile: true,
    check(run, { emu }) {
      expect(run.stdout).toBe(`${HELLO}\nstatus=200 stop_reason=end_turn\n`);
      const [request] = apiRequests(emu).slice(-1);
      expect(request?.headers['anthropic-version']).toBe('2023-06-01');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.body).toEqual({
        model: MODEL,
        max_tokens: 256,
        messages: [{ role: 'user', content: 'Say hello in five words.' }],
      });
    },
  },
  {
    file: 'plan-and-usage.ts',
    calls: 1,
    savesToFile: true,
    async setup(world) {
      // Extra usage in a currency without decimals: the example divides by 10 ** decimalPlaces.
      world.emu.setUsage({ extraUsage: { enabled: true, monthlyLimitCents: 5000, usedCents: 1234, currency: 'JPY' } });
      return {};
    },
    check(run, { emu }) {
      const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
      expect(run.stdout).toMatch(
        new RegExp(
          `^${escapeRegExp(HELLO)}\\nplan=max organization=Example Org\\n` +
            `five_hour 37% used, resets ${iso}\\nseven_day 12% used, resets ${iso}\\nseven_day_sonnet 4% used, resets ${iso}\\n` +
            'extra usage: 1234 JPY spent of 5000 JPY this month\\n$',
        ),
      );
      // Both account calls went once, after the message, with the token the message was sent with.
      const used = apiRequests(emu).at(-1)?.headers.authorization;
      const account = emu.requests.filter((r) => r.path.startsWith('/api/oauth/'));
      expect(account.map((r) => [r.method, r.path, r.status])).toEqual([
        ['GET', '/api/oauth/profile', 200],
        ['GET', '/api/oauth/usage', 200],
      ]);
      for (const request of account) {
        expect(request.headers.authorization).toBe(used);
        expect((request.headers['anthropic-beta'] ?? '').split(',')).toContain(OAUTH_BETA);
        expect(request.headers['x-api-key']).toBeUndefined();
      }
    },
  },
  {
    file: 'custom-store.ts',
    calls: 1,
    savesToFile: false,
    async check(run, world) {
      expect(run.stdout).toBe(`imported the login into the encrypted store\n${HELLO}\n`);
      expect(bodies(world.emu).at(-1)).toMatchObject({ model: MODEL, max_tokens: 256 });
      // The login is in the encrypted file, and no token is readable in it.
      const encrypted = await readFile(join(world.home, '.anthropic', 'oauth_tokens.enc'));
      const used = apiRequests(world.emu).at(-1)?.headers.authorization?.slice('Bearer '.length) ?? '';
      for (const secret of [used, world.issued.accessToken, world.issued.refreshToken]) {
        expect(encrypted.includes(secret)).toBe(false);
      }
      expect(encrypted.length).toBeGreaterThan(28 + 100);
      expect((await stat(join(world.home, '.anthropic', 'oauth_tokens.enc'))).mode & 0o777).toBe(0o600);
    },
  },
  {
    file: 'redis-store.ts',
    calls: 1,
    savesToFile: false,
    async setup(_world, context) {
      const redis = await startRedis();
      context.onTestFinished(() => redis.close());
      return {
        ANTHROPIC_OAUTH_REDIS_URL: redis.url,
        ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      };
    },
    async check(run, world) {
      expect(run.stdout).toBe(`imported the login into Redis\n${HELLO}\n`);
      expect(bodies(world.emu).at(-1)).toMatchObject({ model: MODEL, max_tokens: 256 });
      // Redis holds the login in use now, encrypted: no token is readable in it.
      const store = new RedisTokenStore({
        url: world.env.ANTHROPIC_OAUTH_REDIS_URL,
        encryptionKey: world.env.ANTHROPIC_OAUTH_REDIS_ENCRYPTION_KEY,
      });
      const raw = new RedisTokenStore({ url: world.env.ANTHROPIC_OAUTH_REDIS_URL });
      try {
        const used = apiRequests(world.emu).at(-1)?.headers.authorization?.slice('Bearer '.length) ?? '';
        const stored = await store.load();
        expect(stored?.accessToken).toBe(used);
        expect(world.emu.isRefreshTokenLive(stored?.refreshToken ?? '')).toBe(true);
        await expect(raw.load()).rejects.toMatchObject({ code: 'read_failed' }); // encrypted
      } finally {
        await store.close();
        await raw.close();
      }
    },
  },
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('examples/', () => {
  it('every example has a case here', async () => {
    const files = (await readdir(join(ROOT, 'examples'))).filter((f) => f.endsWith('.ts')).sort();
    expect(files).toEqual(CASES.map((c) => c.file).sort());
  });

  describe.concurrent.each(CASES)('$file', (example) => {
    it.for(SCENARIOS)('runs with a %s login', { timeout: TIMEOUT_MS }, async (scenario, context) => {
      const world = await makeWorld(context, scenario);
      if (example.setup) Object.assign(world.env, await example.setup(world, context));
      const run = await runExample(world, example.file);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      await example.check(run, world);
      const used = expectOAuthTraffic(world, scenario, example.calls);
      if (example.savesToFile) {
        await expectFileHolds(world, used);
      } else {
        // Its own store got the rotated login; the plain file it imported from is untouched.
        expect((await new TokenStorage(world.tokenFile).load())?.accessToken).toBe(world.issued.accessToken);
      }
    });
  });

  describe('custom-store.ts, beyond the first run', () => {
    it(
      'the next run uses the rotated login from the encrypted store, with no refresh',
      async (context) => {
        const world = await makeWorld(context, 'expired');
        const first = await runExample(world, 'custom-store.ts');
        expect(first.code).toBe(0);
        const rotated = apiRequests(world.emu).at(-1)?.headers.authorization;
        expect(rotated).not.toBe(`Bearer ${world.issued.accessToken}`);

        const second = await runExample(world, 'custom-store.ts');
        expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });
        // No import this time: the plain file (with its spent refresh token) is not read.
        expect(second.stdout).toBe(`${HELLO}\n`);
        expect(apiRequests(world.emu).map((r) => r.headers.authorization)).toEqual([rotated, rotated]);
        expect(world.emu.stats()).toMatchObject({ refresh: 1, invalidGrant: 0, messages: 2 });
      },
      TIMEOUT_MS,
    );

    it(
      'a wrong key cannot read the store, and says so',
      async (context) => {
        const world = await makeWorld(context, 'fresh');
        expect((await runExample(world, 'custom-store.ts')).code).toBe(0);
        const wrongKey = { ...world.env, OAUTH_TOKENS_KEY: randomBytes(32).toString('base64') };
        const run = await runExample(world, 'custom-store.ts', wrongKey);
        expect(run.code).not.toBe(0);
        expect(run.stderr).toContain('Cannot decrypt');
        expect(run.stderr).toContain('wrong OAUTH_TOKENS_KEY');
        expect(apiRequests(world.emu)).toHaveLength(1);
      },
      TIMEOUT_MS,
    );
  });

  describe.concurrent('with no login', () => {
    it.for(CASES.map((c) => c.file))(
      '%s fails, says to log in, and sends nothing',
      { timeout: TIMEOUT_MS },
      async (file, context) => {
        const world = await makeWorld(context, 'fresh');
        const setup = CASES.find((c) => c.file === file)?.setup;
        if (setup) Object.assign(world.env, await setup(world, context));
        await rm(world.tokenFile);
        const readsOut = join(world.home, 'login-reads');
        const run = await runExample(world, file, { ...world.env, LOGIN_READS_OUT: readsOut });
        // Asked for the login once: no client may treat "not logged in" as a network error to retry.
        expect(await readFile(readsOut, 'utf8')).toBe('1');
        expect(run.code).not.toBe(0);
        expect(run.stderr).toContain('npx anthropic-oauth login');
        if (file !== 'custom-store.ts') expect(run.stderr).toContain('not_logged_in');
        expect(world.emu.requests).toHaveLength(0);
      },
    );
  });

  it(
    'the loopback guard really refuses other hosts',
    async (context) => {
      const world = await makeWorld(context, 'fresh');
      // Another loopback address: refused by the guard, and harmless even if the guard failed.
      const run = await runExample(world, 'plain-fetch.ts', { ...world.env, ANTHROPIC_BASE_URL: 'http://127.0.0.2:9' });
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('refused a request beyond loopback: http://127.0.0.2:9');
      expect(world.emu.requests).toHaveLength(0);
    },
    TIMEOUT_MS,
  );
});
