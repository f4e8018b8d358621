/**
 * (2) Refresh storm: `requests` calls started at once on a client whose token has expired (in the
 * token file and on the server). The emulator counts the calls to its token endpoint: the goal is
 * exactly one.
 *
 * Added latency. A burst of 1,000 calls takes hundreds of milliseconds end to end on this machine
 * whatever the token does (the responses queue up behind each other), and that varies by more than
 * a refresh costs. So we time what the refresh can delay: how long each call waits before its
 * request is handed to `fetch` (a thin wrapper passed as the client's `fetch` notes the moment). A
 * storm's wait (p50, p99), minus the wait in the same burst once the token is fresh, minus one
 * refresh round trip (`refreshAccessToken()` alone, median of several), is what the refresh costs
 * beyond the one round trip it cannot avoid: reading and writing the token file, waking the waiters.
 *
 * `AnthropicOAuth` and the SDK's `user_oauth` path run side by side, alternating which goes first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import { HELLO, makeClient, writeTokenFile } from './lib/clients.js';
import { lib } from './lib/package.js';
import { RemoteEmulator } from './lib/remote-emulator.js';
import { fmt, median, percentile, rotate, signed } from './lib/stats.js';
import { renderTable } from './lib/table.js';

export interface StormOptions {
  runs: number;
  requests: number;
}

const STORM_VARIANTS = ['AnthropicOAuth', 'user_oauth'] as const;
type StormVariant = (typeof STORM_VARIANTS)[number];

interface StormRun {
  tokenCalls: number;
  refreshes: number;
  invalidGrants: number;
  unauthorized: number;
  failed: number;
  /** When the first request was sent, and each call's wait before sending (ms), in the storm and in the same burst on a fresh token. */
  stormFirst: number;
  freshFirst: number;
  stormP50: number;
  stormP99: number;
  freshP50: number;
  freshP99: number;
  /** End-to-end latency of the storm's calls, ms (for context: dominated by the burst itself). */
  endToEndP50: number;
}

export interface StormRow {
  variant: StormVariant;
  /** Per run, so that "exactly one" is visible for each. */
  tokenCalls: number[];
  invalidGrants: number;
  unauthorized: number;
  failed: number;
  /** Medians over runs, ms. */
  endToEndP50: number;
  stormFirst: number;
  freshFirst: number;
  addedFirst: number;
  stormP50: number;
  stormP99: number;
  freshP50: number;
  freshP99: number;
  addedP50: number;
  addedP99: number;
}

export interface StormResult {
  options: StormOptions;
  refreshRoundTripMs: number;
  rows: StormRow[];
}

const BENCH_ID = 'x-bench-call';

/**
 * A `fetch` that notes when each call's request is handed to it (the first time: a retry does not
 * count), keyed by the `x-bench-call` header each call carries.
 */
function timingFetch(sentAt: Map<string, number>): typeof fetch {
  return (input, init) => {
    const id = new Headers(init?.headers).get(BENCH_ID);
    if (id !== null && !sentAt.has(id)) sentAt.set(id, performance.now());
    return fetch(input, init);
  };
}

interface Burst {
  /** ms from the start of the burst to the first request reaching `fetch`. */
  firstSent: number;
  /** Per successful call: ms from the call to its request reaching `fetch`, and to its result. */
  waits: number[];
  latencies: number[];
  failed: number;
}

/** Starts `count` calls at once on `client` (built with `timingFetch(sentAt)`). */
async function burst(client: Anthropic, sentAt: Map<string, number>, count: number): Promise<Burst> {
  sentAt.clear();
  const waits: number[] = [];
  const latencies: number[] = [];
  let failed = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const id = String(i);
      const start = performance.now();
      try {
        await client.messages.create(HELLO, { headers: { [BENCH_ID]: id } });
        latencies.push(performance.now() - start);
        waits.push((sentAt.get(id) ?? Number.NaN) - start);
      } catch {
        failed++;
      }
    }),
  );
  return { firstSent: Math.min(...sentAt.values()) - begin, waits, latencies, failed };
}

/** One refresh round trip, as the library makes it (no file I/O): the median of `count`. */
async function refreshRoundTrip(emu: RemoteEmulator, count: number): Promise<number> {
  let refreshToken = (await emu.issueTokens()).refreshToken;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const tokens = await lib.refreshAccessToken({ refreshToken, config: emu.oauthConfig });
    times.push(performance.now() - start);
    refreshToken = tokens.refreshToken;
  }
  return median(times.slice(1)); // the first opens the connection
}

async function stormOnce(emu: RemoteEmulator, dir: string, variant: StormVariant, requests: number): Promise<StormRun> {
  const tokens = await emu.issueTokens();
  await emu.expireAccessTokens(); // the server refuses the access token…
  const tokenFile = join(dir, `${variant}.json`);
  await writeTokenFile(tokenFile, { ...tokens, expiresAt: Math.floor(Date.now() / 1000) - 60 }); // …and the file says so
  const sentAt = new Map<string, number>();
  const client = makeClient(variant, { target: emu, tokenFile, options: { fetch: timingFetch(sentAt) } });

  await emu.reset();
  const before = await emu.stats();
  const storm = await burst(client, sentAt, requests);
  const after = await emu.stats();
  const calls = await emu.tokenCalls();
  const fresh = await burst(client, sentAt, requests); // the same burst, on the refreshed token

  return {
    tokenCalls: calls.length,
    refreshes: after.refresh - before.refresh,
    invalidGrants: after.invalidGrant - before.invalidGrant,
    unauthorized: after.unauthorized - before.unauthorized,
    failed: storm.failed + fresh.failed,
    stormFirst: storm.firstSent,
    freshFirst: fresh.firstSent,
    stormP50: percentile(storm.waits, 50),
    stormP99: percentile(storm.waits, 99),
    freshP50: percentile(fresh.waits, 50),
    freshP99: percentile(fresh.waits, 99),
    endToEndP50: percentile(storm.latencies, 50),
  };
}

export async function measureStorm(
  options: StormOptions,
  log: (line: string) => void = () => {},
): Promise<StormResult> {
  const emu = await RemoteEmulator.start();
  const dir = await mkdtemp(join(tmpdir(), 'anthropic-oauth-bench-'));
  try {
    const refreshRoundTripMs = await refreshRoundTrip(emu, 21);
    const runs: Record<StormVariant, StormRun[]> = { AnthropicOAuth: [], user_oauth: [] };
    // One unmeasured storm each first: loads code paths and opens connections.
    for (const variant of STORM_VARIANTS) await stormOnce(emu, dir, variant, options.requests);
    for (let run = 0; run < options.runs; run++) {
      for (const variant of rotate(STORM_VARIANTS, run)) {
        const result = await stormOnce(emu, dir, variant, options.requests);
        runs[variant].push(result);
        log(
          `  run ${run + 1}/${options.runs} ${variant.padEnd(14)} token-endpoint calls ${result.tokenCalls}, wait p50 ${fmt(result.stormP50, 1)} ms`,
        );
      }
    }
    const rows = STORM_VARIANTS.map((variant): StormRow => {
      const of = (pick: (run: StormRun) => number) => runs[variant].map(pick);
      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      return {
        variant,
        tokenCalls: of((r) => r.tokenCalls),
        invalidGrants: sum(of((r) => r.invalidGrants)),
        unauthorized: sum(of((r) => r.unauthorized)),
        failed: sum(of((r) => r.failed)),
        endToEndP50: median(of((r) => r.endToEndP50)),
        stormFirst: median(of((r) => r.stormFirst)),
        freshFirst: median(of((r) => r.freshFirst)),
        addedFirst: median(of((r) => r.stormFirst - r.freshFirst - refreshRoundTripMs)),
        stormP50: median(of((r) => r.stormP50)),
        stormP99: median(of((r) => r.stormP99)),
        freshP50: median(of((r) => r.freshP50)),
        freshP99: median(of((r) => r.freshP99)),
        addedP50: median(of((r) => r.stormP50 - r.freshP50 - refreshRoundTripMs)),
        addedP99: median(of((r) => r.stormP99 - r.freshP99 - refreshRoundTripMs)),
      };
    });
    return { options, refreshRoundTripMs, rows };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function reportStorm(result: StormResult): string {
  const { options } = result;
  const table = renderTable({
    headers: [
      'client',
      'token-endpoint calls per storm',
      'invalid_grant',
      '401s',
      'failed',
      'first request sent: storm / fresh ms',
      'wait p50 / p99: storm / fresh ms',
      'added over one refresh: first / p50 / p99 ms',
      'end-to-end p50 ms',
    ],
    rows: result.rows.map((row) => [
      row.variant === 'AnthropicOAuth' ? '`AnthropicOAuth`' : 'SDK `user_oauth` config',
      row.tokenCalls.join(', '),
      String(row.invalidGrants),
      String(row.unauthorized),
      String(row.failed),
      `${fmt(row.stormFirst, 1)} / ${fmt(row.freshFirst, 1)}`,
      `${fmt(row.stormP50)} / ${fmt(row.stormP99)} / ${fmt(row.freshP50)} / ${fmt(row.freshP99)}`,
      `${signed(row.addedFirst, 1)} / ${signed(row.addedP50, 1)} / ${signed(row.addedP99, 1)}`,
      fmt(row.endToEndP50),
    ]),
  });
  return [
    `${fmt(options.requests)} concurrent calls on an expired token, ${options.runs} storms per client (counts: storm by storm;`,
    `times: medians over storms). One refresh round trip alone: ${fmt(result.refreshRoundTripMs, 2)} ms.`,
    '"added" = (storm − the same burst on a fresh token − one refresh round trip), for the moment the first request is',
    "sent and for each call's wait before sending (p50, p99). The first is precise; the percentiles carry the noise of",
    'the burst itself (tens of ms on this machine), so only their sign and size matter.',
    '',
    table,
  ].join('\n');
}
