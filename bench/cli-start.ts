/**
 * (5) CLI start: what one `anthropic-oauth` command costs the shell, script or editor that runs it,
 * often once per request (`$(anthropic-oauth token)`, a credential helper, a prompt).
 *
 * Each variant is a whole `node` process, spawn to exit, as a shell sees it: `node -e 0` (Node's own
 * floor), then the built CLI (`dist/cli.cjs`, see lib/build.ts) running `token` on a fresh token,
 * `status`, `status --json`, `--help`, and `token` with a refresh due (against the emulator, in a
 * process of its own; the only variant that uses the network, shown for what a refresh adds).
 *
 * Pairing. The machine this runs on is small and shared, and how long a process takes to start
 * drifts by tens of percent from second to second. So every run of a command is paired with a run
 * of `node -e 0` right before or right after it (alternately), and the figure is the median of the
 * ratios within those pairs, with the lowest and highest beside it. A round runs each command once,
 * in an order rotated from round to round. `node -e 0`'s own row gathers all its runs.
 *
 * Memory and CPU time. Each command also runs once per round with lib/resource-usage.cjs preloaded,
 * paired the same way with a `node -e 0` that preloads it too; it reports the process's peak resident
 * memory and CPU time at exit (`process.resourceUsage()`). The wall-time runs do not load it.
 *
 * What each command loads (and that it loads nothing more) is held by tests/module-graph.test.ts;
 * this measures what that costs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IssuedTokens } from '../src/testing/index.js';
import { BUILD, BUILT_ENTRIES, ROOT } from './lib/build.js';
import { RemoteEmulator } from './lib/remote-emulator.js';
import { fmt, fmtSpread, rotate, type Spread, spread } from './lib/stats.js';
import { renderTable } from './lib/table.js';

export interface CliStartOptions {
  rounds: number;
}

const RESOURCE_USAGE = fileURLToPath(new URL('./lib/resource-usage.cjs', import.meta.url));

/** The commands whose start is a goal: ≤ 1.3× `node -e 0`, in wall time and in peak memory. */
export const CLI_GOAL_RATIO = 1.3;

interface Variant {
  name: string;
  label: string;
  args: readonly string[];
  /** Counted against the goal. */
  goal: boolean;
  env: NodeJS.ProcessEnv;
  /** Before each run, untimed (the refresh variant writes an expired login). */
  prepare?: () => Promise<void>;
}

export interface CliStartRow {
  name: string;
  label: string;
  goal: boolean;
  /** ms, over rounds. */
  wall: Spread;
  /** Per round: this variant's figure over `node -e 0`'s in the same round. */
  wallRatio: Spread;
  /** MiB. */
  memory: Spread;
  memoryRatio: Spread;
  /** ms of CPU time (user + system). */
  cpu: Spread;
  cpuRatio: Spread;
}

export interface CliStartResult {
  options: CliStartOptions;
  /** The CLI run, relative to the build directory. */
  cli: string;
  rows: CliStartRow[];
}

interface Run {
  wall: number;
  stdout: string;
  usage?: { maxRssKiB: number; cpuUs: number };
}

/** One process, spawn to exit; with `measureUsage`, the preload reports its peak memory and CPU on fd 3. */
function runProcess(args: readonly string[], env: NodeJS.ProcessEnv, measureUsage: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const argv = measureUsage ? ['--require', RESOURCE_USAGE, ...args] : [...args];
    const start = performance.now();
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe', measureUsage ? 'pipe' : 'ignore'],
    });
    let stdout = '';
    let stderr = '';
    let usage = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk) => {
      usage += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = performance.now() - start;
      if (code !== 0) {
        reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim().slice(0, 500)}`));
        return;
      }
      resolve(measureUsage ? { wall, stdout, usage: JSON.parse(usage) } : { wall, stdout });
    });
  });
}

/** The environment of a measured child: ours without `ANTHROPIC_*` or Node options, a temporary HOME. */
function childEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ANTHROPIC_') && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return { ...env, ...extra };
}

/** A login in the token file format, written 0600. */
async function writeLogin(file: string, login: { access: string; refresh: string; expiresAt: number }): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const data = {
    version: '1.0',
    type: 'oauth_token',
    access_token: login.access,
    refresh_token: login.refresh,
    expires_at: login.expiresAt,
    token_type: 'Bearer',
    scope: 'user:inference',
  };
  await writeFile(file, JSON.stringify(data), { mode: 0o600 });
}

export async function measureCliStart(
  options: CliStartOptions,
  log: (line: string) => void = () => {},
): Promise<CliStartResult | null> {
  // The package's own `bin`, so that a build measured with ANTHROPIC_OAUTH_BENCH_BUILD runs its own CLI.
  const { bin } = JSON.parse(await readFile(join(BUILD, 'package.json'), 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const cli = join(BUILD, (typeof bin === 'string' ? bin : bin?.['anthropic-oauth']) ?? BUILT_ENTRIES.CLI);
  if (!existsSync(cli)) return null;
  const home = await mkdtemp(join(tmpdir(), 'anthropic-oauth-bench-cli-'));
  const emu = await RemoteEmulator.start();
  try {
    // A fresh login for token and status (fake tokens: nothing is sent anywhere)…
    const freshFile = join(home, 'fresh', '.anthropic', 'oauth_tokens.json');
    await writeLogin(freshFile, {
      access: 'sk-ant-oat01-bench-cli-start-not-a-real-token',
      refresh: 'sk-ant-ort01-bench-cli-start-not-a-real-token',
      expiresAt: Math.floor(Date.now() / 1000) + 8 * 3600,
    });
    const fresh = childEnv({ HOME: dirname(dirname(freshFile)) });
    // …and, before each refresh run, an expired one the emulator can refresh.
    const staleFile = join(home, 'stale', '.anthropic', 'oauth_tokens.json');
    const stale = childEnv({
      HOME: dirname(dirname(staleFile)),
      ANTHROPIC_OAUTH_TOKEN_URL: emu.oauthConfig.tokenUrl,
      ANTHROPIC_OAUTH_CLIENT_ID: emu.oauthConfig.clientId,
    });
    const expireLogin = async () => {
      const issued: IssuedTokens = await emu.issueTokens();
      await writeLogin(staleFile, {
        access: issued.accessToken,
        refresh: issued.refreshToken,
        expiresAt: Math.floor(Date.now() / 1000) - 60,
      });
    };

    const variants: Variant[] = [
      { name: 'node', label: '`node -e 0`', args: ['-e', '0'], goal: false, env: fresh },
      { name: 'token', label: '`token`, fresh token', args: [cli, 'token'], goal: true, env: fresh },
      // status makes no network call: the plan is the summary saved at login.
      { name: 'status', label: '`status`', args: [cli, 'status'], goal: true, env: fresh },
      {
        name: 'statusJson',
        label: '`status --json`',
        args: [cli, 'status', '--json'],
        goal: true,
        env: fresh,
      },
      { name: 'help', label: '`--help`', args: [cli, '--help'], goal: true, env: fresh },
      {
        name: 'refresh',
        label: '`token`, refresh due (one round trip to the emulator, the lock, a write)',
        args: [cli, 'token'],
        goal: false,
        env: stale,
        prepare: expireLogin,
      },
    ];

    const [node, ...commands] = variants as [Variant, ...Variant[]];
    /** Per command: each of its runs with the `node -e 0` run next to it. */
    const pairs = new Map<string, { wall: [Run, Run][]; usage: [Run, Run][] }>(
      commands.map((variant) => [variant.name, { wall: [], usage: [] }]),
    );
    const once = async (variant: Variant, measureUsage: boolean) => {
      await variant.prepare?.();
      return runProcess(variant.args, variant.env, measureUsage);
    };
    /** The command and a `node -e 0` right before or after it (alternately), as a pair. */
    const pair = async (variant: Variant, measureUsage: boolean, nodeFirst: boolean): Promise<[Run, Run]> => {
      if (nodeFirst) {
        const base = await once(node, measureUsage);
        return [await once(variant, measureUsage), base];
      }
      const mine = await once(variant, measureUsage);
      return [mine, await once(node, measureUsage)];
    };
    for (const variant of variants) await once(variant, false); // fill the file cache; check they run
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, variant] of rotate(commands, round).entries()) {
        const nodeFirst = (round + i) % 2 === 0;
        pairs.get(variant.name)?.wall.push(await pair(variant, false, nodeFirst));
        pairs.get(variant.name)?.usage.push(await pair(variant, true, !nodeFirst));
      }
    }

    const mib = (run: Run) => (run.usage?.maxRssKiB ?? Number.NaN) / 1024;
    const cpuMs = (run: Run) => (run.usage?.cpuUs ?? Number.NaN) / 1000;
    const ratios = (list: [Run, Run][], pick: (run: Run) => number) =>
      spread(list.map(([mine, base]) => pick(mine) / pick(base)));
    const all = [...pairs.values()];
    const nodeWalls = all.flatMap((p) => p.wall.map(([, base]) => base));
    const nodeUsages = all.flatMap((p) => p.usage.map(([, base]) => base));
    const none: Spread = { min: Number.NaN, median: Number.NaN, max: Number.NaN };
    const rows: CliStartRow[] = [
      {
        name: node.name,
        label: node.label,
        goal: false,
        wall: spread(nodeWalls.map((run) => run.wall)),
        wallRatio: none,
        memory: spread(nodeUsages.map(mib)),
        memoryRatio: none,
        cpu: spread(nodeUsages.map(cpuMs)),
        cpuRatio: none,
      },
      ...commands.map((variant): CliStartRow => {
        const { wall, usage } = pairs.get(variant.name) ?? { wall: [], usage: [] };
        return {
          name: variant.name,
          label: variant.label,
          goal: variant.goal,
          wall: spread(wall.map(([mine]) => mine.wall)),
          wallRatio: ratios(wall, (run) => run.wall),
          memory: spread(usage.map(([mine]) => mib(mine))),
          memoryRatio: ratios(usage, mib),
          cpu: spread(usage.map(([mine]) => cpuMs(mine))),
          cpuRatio: ratios(usage, cpuMs),
        };
      }),
    ];
    log(
      `  ${rows
        .map(
          (row) =>
            `${row.name} ${fmt(row.wall.median, 1)} ms ×${fmt(row.wallRatio.median, 2)}, ${fmt(row.memory.median, 1)} MiB`,
        )
        .join('; ')}`,
    );
    return { options, cli: cli.slice(BUILD.length + 1), rows };
  } finally {
    await emu.close();
    await rm(home, { recursive: true, force: true });
  }
}

export function reportCliStart(result: CliStartResult | null): string {
  if (result === null) return `No built CLI (\`${BUILT_ENTRIES.CLI}\`) when this ran.`;
  const table = renderTable({
    headers: [
      'process',
      'wall ms',
      'wall ÷ `node -e 0`',
      'peak memory MiB',
      'memory ÷ `node -e 0`',
      'CPU ms',
      'CPU ÷ `node -e 0`',
    ],
    rows: result.rows.map((row) => {
      const base = row.name === 'node';
      return [
        `${row.label}${row.goal ? ' †' : ''}`,
        fmtSpread(row.wall, 1),
        base ? '—' : fmtSpread(row.wallRatio),
        fmtSpread(row.memory, 1),
        base ? '—' : fmtSpread(row.memoryRatio),
        fmtSpread(row.cpu, 1),
        base ? '—' : fmtSpread(row.cpuRatio),
      ];
    }),
  });
  return [
    `${result.options.rounds} rounds; in each, every command once for its wall time (spawn to exit) and once more with`,
    'lib/resource-usage.cjs preloaded for its peak memory and CPU time, in an order rotated from round to round, each run',
    'paired with a `node -e 0` run right before or after it. Each figure: median (lowest–highest); each ratio is taken',
    'within its pair.',
    `† a goal: wall time and peak memory at most ${CLI_GOAL_RATIO}× \`node -e 0\` (median of the paired ratios). The command is`,
    `\`node ${result.cli} …\`, on a token file in a temporary HOME; only the refresh touches the network (the emulator).`,
    '',
    table,
  ].join('\n');
}
