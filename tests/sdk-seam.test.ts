/**
 * Every fact about `@anthropic-ai/sdk` that `sdk-seam.ts` lists, checked against the installed SDK
 * (the official `Anthropic` class, not ours), so that a new SDK version that changes one fails here,
 * by the fact's number, before it breaks `AnthropicOAuth` in a user's program.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Anthropic, APIConnectionError } from '@anthropic-ai/sdk';
import type { AccessTokenProvider } from '@anthropic-ai/sdk/lib/credentials';
import { TokenCache } from '@anthropic-ai/sdk/lib/credentials/token-cache';
import {
  ADVISORY_REFRESH_THRESHOLD_IN_SECONDS,
  MANDATORY_REFRESH_THRESHOLD_IN_SECONDS,
} from '@anthropic-ai/sdk/lib/credentials/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTokenSource } from '../src/provider.js';
import {
  RETRY_COUNT_HEADER,
  SDK_CREDENTIAL_OPTIONS,
  SDK_TOKEN_CACHE_ADVISORY_SECONDS,
  SDK_TOKEN_CACHE_MANDATORY_SECONDS,
  SDK_VERSION_READ,
  sdkCredentials,
} from '../src/sdk-seam.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { hello, nowSeconds, tokensOf } from './helpers/fixtures.js';
import { startServer, type TestServer } from './helpers/server.js';

const SDK_SRC = join('node_modules', '@anthropic-ai', 'sdk', 'src');

let emu: Emulator;
let server: TestServer;
/** The statuses the test server answers `/v1/messages` with, in turn (then 200). */
let statuses: number[];

beforeEach(async () => {
  emu = await startEmulator();
  statuses = [];
  server = await startServer(({ url }) => {
    if (!url.startsWith('/v1/messages')) return new Response('{}', { status: 404 });
    const status = statuses.shift() ?? 200;
    const body =
      status === 200
        ? {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: 'claude-test',
            content: [],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 1, output_tokens: 1 },
          }
        : { type: 'error', error: { type: status === 401 ? 'authentication_error' : 'api_error', message: 'no' } };
    // A retry-after-ms of 1 keeps the SDK's retries from sleeping.
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', 'retry-after-ms': '1' },
    });
  });
});
afterEach(async () => {
  await server.close();
  await emu.close();
});

/** A provider that counts its calls and what it was asked. */
function countingProvider(expiresIn: number | null = 3600) {
  const calls: (Parameters<AccessTokenProvider>[0] | undefined)[] = [];
  const provider: AccessTokenProvider = async (opts) => {
    calls.push(opts);
    return { token: `token-${calls.length}`, expiresAt: expiresIn === null ? null : nowSeconds() + expiresIn };
  };
  return { provider, calls };
}

const sdkClient = (options: ConstructorParameters<typeof Anthropic>[0] = {}) =>
  new Anthropic({ baseURL: server.url, maxRetries: 0, ...options });

describe(`the SDK facts in sdk-seam.ts (read from @anthropic-ai/sdk ${SDK_VERSION_READ})`, () => {
  it('fact 1: the token cache windows are 120 s (advisory) and 30 s (mandatory)', async () => {
    expect([ADVISORY_REFRESH_THRESHOLD_IN_SECONDS, MANDATORY_REFRESH_THRESHOLD_IN_SECONDS]).toEqual([
      SDK_TOKEN_CACHE_ADVISORY_SECONDS,
      SDK_TOKEN_CACHE_MANDATORY_SECONDS,
    ]);
    // And the cache behaves as they say: serves above 120 s, refreshes in the background below, blocks below 30 s.
    const serves = countingProvider(SDK_TOKEN_CACHE_ADVISORY_SECONDS + 5);
    const servesCache = new TokenCache(serves.provider);
    expect([await servesCache.getToken(), await servesCache.getToken()]).toEqual(['token-1', 'token-1']);
    expect(serves.calls).toHaveLength(1);
    const advisory = countingProvider(SDK_TOKEN_CACHE_ADVISORY_SECONDS - 5);
    const advisoryCache = new TokenCache(advisory.provider);
    expect([await advisoryCache.getToken(), await advisoryCache.getToken()]).toEqual(['token-1', 'token-1']);
    expect(advisory.calls).toHaveLength(2);
    const blocks = countingProvider(SDK_TOKEN_CACHE_MANDATORY_SECONDS - 5);
    const blocksCache = new TokenCache(blocks.provider);
    expect([await blocksCache.getToken(), await blocksCache.getToken()]).toEqual(['token-1', 'token-2']);
  });

  it('fact 2: after a 401 the request loop retries once per top-level call, forcing a refresh', async () => {
    const { provider, calls } = countingProvider();
    const client = sdkClient({ credentials: provider, maxRetries: 2 });
    statuses = [401, 401, 401];
    await expect(client.messages.create(hello)).rejects.toMatchObject({ status: 401 });
    expect(calls).toEqual([undefined, { forceRefresh: true }]);
    expect(server.requests).toHaveLength(2);
    // A reused options object gets its retry again in the next top-level call.
    const options = { method: 'post' as const, path: '/v1/messages', body: hello };
    statuses = [401, 200, 401, 200];
    await client.request(options);
    await client.request(options);
    expect(calls.slice(2)).toEqual([{ forceRefresh: true }, { forceRefresh: true }]);
  });

  it('fact 3: X-Stainless-Retry-Count is the attempt number within the call, from 0', async () => {
    statuses = [500, 503];
    await sdkClient({ authToken: 'x', maxRetries: 2 }).messages.create(hello);
    expect(server.requests.map((r) => r.headers[RETRY_COUNT_HEADER])).toEqual(['0', '1', '2']);
  });

  it('fact 4: fetchWithTimeout is called once per attempt with the Headers and the call options', async () => {
    const seen: { init: RequestInit | undefined; options: unknown }[] = [];
    const prepared: unknown[] = [];
    class Probe extends Anthropic {
      protected override async prepareRequest(...args: Parameters<Anthropic['prepareRequest']>): Promise<void> {
        prepared.push(args[1].options);
        return super.prepareRequest(...args);
      }
      override async fetchWithTimeout(...args: Parameters<Anthropic['fetchWithTimeout']>): Promise<Response> {
        seen.push({ init: args[1], options: args[4] });
        const first = await super.fetchWithTimeout(...args);
        if (seen.length > 1) return first;
        // Calling the base method again sends the request again, prepareRequest included.
        await first.body?.cancel();
        return super.fetchWithTimeout(...args);
      }
    }
    statuses = [401, 500, 200];
    const client = new Probe({ baseURL: server.url, credentials: countingProvider().provider, maxRetries: 2 });
    await client.messages.create(hello);
    expect(seen).toHaveLength(2);
    expect(server.requests).toHaveLength(3);
    expect(prepared).toHaveLength(3);
    for (const [i, { init, options }] of seen.entries()) {
      const headers = init?.headers;
      expect(headers).toBeInstanceOf(Headers);
      expect((headers as Headers).get('authorization')).toMatch(/^Bearer token-/);
      expect((headers as Headers).get(RETRY_COUNT_HEADER)).toBe(String(i));
      expect(options).toBe(prepared[0]);
    }
    expect(new Set(prepared).size).toBe(1);
    // What it throws becomes an APIConnectionError.
    class Throws extends Anthropic {
      override async fetchWithTimeout(): Promise<Response> {
        throw new Error('thrown in fetchWithTimeout');
      }
    }
    await expect(
      new Throws({ baseURL: server.url, authToken: 'x', maxRetries: 0 }).messages.create(hello),
    ).rejects.toBeInstanceOf(APIConnectionError);
  });

  it("fact 5: makeStatusError gets the error Response's own headers, and what it throws reaches the caller", async () => {
    const responseHeaders: Headers[] = [];
    const statusErrorHeaders: Headers[] = [];
    const mine = new Error('mine');
    class Probe extends Anthropic {
      override async fetchWithTimeout(...args: Parameters<Anthropic['fetchWithTimeout']>): Promise<Response> {
        const response = await super.fetchWithTimeout(...args);
        responseHeaders.push(response.headers);
        return response;
      }
      protected override makeStatusError(
        ...args: Parameters<Anthropic['makeStatusError']>
      ): ReturnType<Anthropic['makeStatusError']> {
        statusErrorHeaders.push(args[3]);
        throw mine;
      }
    }
    statuses = [403];
    const client = new Probe({ baseURL: server.url, authToken: 'x', maxRetries: 0 });
    await expect(client.messages.create(hello)).rejects.toBe(mine);
    expect(statusErrorHeaders).toHaveLength(1);
    expect(statusErrorHeaders[0]).toBe(responseHeaders[0]);
  });

  it('fact 6: withOptions builds the copy with the constructor, sharing credentials and cache unless given a credential', async () => {
    const constructed: Record<string, unknown>[] = [];
    class Probe extends Anthropic {
      constructor(options: ConstructorParameters<typeof Anthropic>[0] = {}) {
        constructed.push({ ...options });
        super(options);
      }
    }
    const { provider, calls } = countingProvider();
    const parent = new Probe({ baseURL: server.url, credentials: provider, maxRetries: 0 });
    const copy = parent.withOptions({ timeout: 5_000 });
    expect(copy).toBeInstanceOf(Probe);
    expect(constructed[1]?.credentials).toBe(provider);
    await parent.messages.create(hello);
    await copy.messages.create(hello);
    expect(calls).toHaveLength(1);
    const helper = parent.withOptions({ authToken: 'helper-token' });
    expect(constructed[2]).toMatchObject({ authToken: 'helper-token', credentials: null, apiKey: null });
    await helper.messages.create(hello);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer helper-token');
    expect(SDK_CREDENTIAL_OPTIONS).toEqual(['apiKey', 'authToken', 'credentials', 'config', 'profile']);
  });

  it("fact 6: the SDK's own code calls withOptions in one place, with { authToken, baseURL, defaultHeaders }", async () => {
    const callers: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.ts')) {
          const code = (await readFile(path, 'utf8'))
            .split('\n')
            .filter((line) => !/^\s*(\*|\/\/)/.test(line))
            .join('\n');
          if (/\.withOptions\(/.test(code)) callers.push(relative(SDK_SRC, path));
        }
      }
    };
    await walk(SDK_SRC);
    expect(callers).toEqual([join('lib', 'helper-client.ts')]);
    const helper = await readFile(join(SDK_SRC, 'lib', 'helper-client.ts'), 'utf8');
    const call = /\.withOptions\(\{([^}]*)\}\)/.exec(helper)?.[1] ?? '';
    const keys = call
      .split(',')
      .map((part) => part.trim().split(':')[0]?.trim())
      .filter(Boolean);
    expect(keys).toEqual(['authToken', 'baseURL', 'defaultHeaders']);
  });
});

describe('sdkCredentials: our tokens as the SDK cache takes them', () => {
  const source = (options: Parameters<typeof createTokenSource>[0] = {}) =>
    createTokenSource({ oauthConfig: emu.oauthConfig, env: {}, ...options });

  it('shifts the expiry so the advisory window opens when our 300 s buffer starts', async () => {
    const expiresAt = nowSeconds() + 3600;
    const credentials = sdkCredentials(source({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt }) }), false);
    // The SDK's cache serves while more than 120 s remain: expiresAt - 300 + 120.
    expect(await credentials()).toMatchObject({ expiresAt: expiresAt - 180 });
  });

  it('makes our threshold the blocking point for a token whose buffer is shorter than 120 s', async () => {
    const short = await startEmulator({ accessTokenTtl: 400 });
    try {
      const s = createTokenSource({
        oauthConfig: short.oauthConfig,
        env: {},
        oauthTokens: tokensOf(short.issueTokens(), { expiresAt: 0 }),
      });
      const fresh = await s.getTokens();
      // 400 s of life: a 100 s buffer, so the SDK must block 100 s before expiry (its 30 s point).
      expect((await sdkCredentials(s, false)()).expiresAt).toBeCloseTo((fresh.expiresAt ?? 0) - 100 + 30, 5);
    } finally {
      await short.close();
    }
  });

  it('passes an unknown expiry through as null, and hands an expiry in the past with a clock of its own', async () => {
    const s = source({ oauthTokens: tokensOf(emu.issueTokens(), { expiresAt: null }) });
    expect((await sdkCredentials(s, false)()).expiresAt).toBeNull();
    const clocked = source({ oauthTokens: tokensOf(emu.issueTokens()), now: () => nowSeconds() });
    expect((await sdkCredentials(clocked, true)()).expiresAt).toBe(0);
  });

  it('a forced refresh (the SDK after a 401) spends the refresh token only for the rejected token', async () => {
    const issued = emu.issueTokens();
    const s = source({ oauthTokens: tokensOf(issued) });
    const credentials = sdkCredentials(s, false);
    expect((await credentials({ forceRefresh: true })).token).toBe(issued.accessToken);
    expect(emu.stats().refresh).toBe(0);
    s.markRejected(issued.accessToken);
    const forced = await Promise.all([credentials({ forceRefresh: true }), credentials({ forceRefresh: true })]);
    expect(emu.stats().refresh).toBe(1);
    expect(forced[0].token).not.toBe(issued.accessToken);
    expect(forced[1].token).toBe(forced[0].token);
    expect(s.replacementFor(issued.accessToken)).toBe(forced[0].token);
    expect(s.replacementFor(forced[0].token)).toBeUndefined();
  });
});
