/**
 * (4) Importing the package, and its footprint.
 *
 * Import. Each figure is the `import()` alone, timed inside a fresh `node` process by its own clock
 * (starting a process varies by tens of ms on a busy 2-core machine, more than the figures here).
 * Three processes per round, in an order rotated from round to round:
 * - `import('@anthropic-ai/sdk')`: the SDK alone, the reference;
 * - `import('anthropic-oauth')`: the package (which imports the SDK), so it is compared with the SDK's
 *   own import of the same round: the difference is what the package adds to a program's start;
 * - the SDK's import, then `import('anthropic-oauth')` timed alone: what the package costs a program
 *   that already uses the SDK, without the SDK's own noise.
 * Figures: median (lowest–highest) over rounds. The package is imported by its name, from the build
 * directory (`anthropic-oauth` resolves to the build itself through package.json `exports`).
 *
 * Footprint: the packed tarball (`npm pack --dry-run` of the build), the runtime dependencies in package.json,
 * the packages each brings in, and which built entry point imports each of them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUILD, BUILT_ENTRIES } from './lib/build.js';
import { fmt, fmtSignedSpread, fmtSpread, rotate, type Spread, signed, spread } from './lib/stats.js';
import { renderTable } from './lib/table.js';

export interface ImportOptions {
  rounds: number;
}

/** The goals: the package's import adds at most this many ms, after the SDK's or to it. */
export const IMPORT_GOAL_MS = 3;

interface PackageJson {
  name: string;
  version: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Our environment without `ANTHROPIC_*` variables or Node options. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ANTHROPIC_') && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return env;
}

/** Runs an ESM snippet in a fresh process in the build directory; the number it prints (ms). */
function timeInside(source: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
      cwd: BUILD,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(stdout);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`an import measurement exited ${code}: ${stderr.trim().slice(0, 500)}`));
    });
  });
}

/**
 * `import(specifier)`, timed, after importing `before` (untimed) when given. The clock stops before
 * `process.stdout` is touched: `process.stdout.write(String(performance.now() - t))` reads the getter
 * first, which creates the stream (about 3 ms here), and that used to be counted as the import's.
 */
const timedImport = (specifier: string, before?: string) =>
  `${before ? `await import(${JSON.stringify(before)}); ` : ''}const t = performance.now(); await import(${JSON.stringify(specifier)}); const ms = performance.now() - t; process.stdout.write(String(ms));`;

export interface ImportResult {
  options: ImportOptions;
  name: string;
  /** ms, over rounds. */
  sdk: Spread;
  library: Spread;
  /** Per round: the package's import minus the SDK's (ms), and their ratio. */
  added: Spread;
  ratio: Spread;
  /** The package's import in a process that has imported the SDK already (ms), and over the SDK's own import. */
  afterSdk: Spread;
  afterSdkRatio: Spread;
}

export async function measureImports(
  options: ImportOptions,
  log: (line: string) => void = () => {},
): Promise<ImportResult> {
  const { name } = readJson<PackageJson>(join(BUILD, 'package.json'));
  const variants = {
    sdk: timedImport('@anthropic-ai/sdk'),
    library: timedImport(name),
    afterSdk: timedImport(name, '@anthropic-ai/sdk'),
  };
  const names = Object.keys(variants) as (keyof typeof variants)[];
  const times: Record<keyof typeof variants, number[]> = { sdk: [], library: [], afterSdk: [] };
  for (const variant of names) await timeInside(variants[variant]); // fill the file cache
  for (let round = 0; round < options.rounds; round++) {
    for (const variant of rotate(names, round)) times[variant].push(await timeInside(variants[variant]));
  }
  const perRound = (pick: (round: number) => number) => spread(times.sdk.map((_, round) => pick(round)));
  const at = (list: number[], round: number) => list[round] as number;
  const result: ImportResult = {
    options,
    name,
    sdk: spread(times.sdk),
    library: spread(times.library),
    added: perRound((round) => at(times.library, round) - at(times.sdk, round)),
    ratio: perRound((round) => at(times.library, round) / at(times.sdk, round)),
    afterSdk: spread(times.afterSdk),
    afterSdkRatio: perRound((round) => at(times.afterSdk, round) / at(times.sdk, round)),
  };
  log(
    `  import(): SDK ${fmt(result.sdk.median, 1)} ms, ${name} ${fmt(result.library.median, 1)} ms (${signed(result.added.median, 1)} ms added), after the SDK ${fmt(result.afterSdk.median, 2)} ms`,
  );
  return result;
}

export interface Dependency {
  name: string;
  range: string;
  /** Packages installed with it, itself included. */
  packages: number;
  /** The built entry points (`dist/index.js`, `cli.js`, `testing.js`) that load it, and when. */
  importedBy: string[];
}

export interface FootprintResult {
  packedBytes: number;
  unpackedBytes: number;
  files: number;
  /** Unpacked bytes by kind of file. */
  bytesByKind: Record<'js' | 'map' | 'types' | 'other', number>;
  dependencies: Dependency[];
  /** Peer dependencies: the user installs them (the optional ones only to use what needs them). */
  peers: Array<{ name: string; range: string; optional: boolean }>;
}

/** The package directory `name` resolves to from `from` (node_modules lookup, nearest first). */
function packageDir(name: string, from: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** Every package `name` brings in at run time (its `dependencies`, recursively), itself included. */
function closure(name: string, from: string, seen = new Set<string>()): Set<string> {
  const dir = packageDir(name, from);
  if (dir === null || seen.has(dir)) return seen;
  seen.add(dir);
  const deps = readJson<PackageJson>(join(dir, 'package.json')).dependencies ?? {};
  for (const dep of Object.keys(deps)) closure(dep, dir, seen);
  return seen;
}

/** How a built file loads `name`: at import (`import … from`, `require`), on demand (`import()`), or not at all. */
function loads(file: string, name: string): 'at import' | 'on demand' | null {
  if (!existsSync(file)) return null;
  const source = readFileSync(file, 'utf8');
  const quoted = `['"]${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?:/[^'"]*)?['"]`;
  if (new RegExp(`(?:from\\s*|require\\s*\\(\\s*|^import\\s+)${quoted}`, 'm').test(source)) return 'at import';
  if (new RegExp(`import\\s*\\(\\s*${quoted}`).test(source)) return 'on demand';
  return null;
}

export function measureFootprint(): FootprintResult {
  const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: BUILD,
    encoding: 'utf8',
  });
  if (packed.status !== 0) throw new Error(`npm pack --dry-run failed: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout) as Array<{
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: Array<{ path: string; size: number }>;
  }>;
  if (!info) throw new Error('npm pack --dry-run printed nothing');
  const bytesByKind = { js: 0, map: 0, types: 0, other: 0 };
  for (const file of info.files) {
    const kind = file.path.endsWith('.map')
      ? 'map'
      : /\.d\.c?ts$/.test(file.path)
        ? 'types'
        : /\.c?js$/.test(file.path)
          ? 'js'
          : 'other';
    bytesByKind[kind] += file.size;
  }

  const pkg = readJson<PackageJson>(join(BUILD, 'package.json'));
  const dependencies = Object.entries(pkg.dependencies ?? {}).map(([name, range]) => ({
    name,
    range,
    packages: closure(name, BUILD).size,
    importedBy: Object.entries(BUILT_ENTRIES).flatMap(([entry, file]) => {
      const how = loads(join(BUILD, file), name);
      return how === null ? [] : [`${entry} (${how})`];
    }),
  }));
  const peers = Object.entries(pkg.peerDependencies ?? {}).map(([name, range]) => ({
    name,
    range,
    optional: pkg.peerDependenciesMeta?.[name]?.optional === true,
  }));
  return {
    peers,
    packedBytes: info.size,
    unpackedBytes: info.unpackedSize,
    files: info.entryCount,
    bytesByKind,
    dependencies,
  };
}

const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} kB`;
const ms = (value: Spread, decimals = 1) => fmtSpread(value, decimals);

export function reportImports(imports: ImportResult, footprint: FootprintResult): string {
  const name = `\`${imports.name}\``;
  const timing = renderTable({
    headers: ['a fresh `node` process that…', '`import()` ms', 'over the SDK’s import, same round', 'ratio to it'],
    rows: [
      ['imports `@anthropic-ai/sdk`', ms(imports.sdk), '—', '—'],
      [
        `imports ${name} (which imports the SDK)`,
        ms(imports.library),
        `${fmtSignedSpread(imports.added)} ms`,
        fmtSpread(imports.ratio, 3),
      ],
      [
        `imports the SDK, then ${name} (the second \`import()\` timed)`,
        ms(imports.afterSdk, 2),
        '—',
        fmtSpread(imports.afterSdkRatio, 4),
      ],
    ],
  });
  const deps = renderTable({
    headers: ['runtime dependency', 'range', 'packages installed with it', 'loaded by'],
    align: ['left', 'left', 'right', 'left'],
    rows: footprint.dependencies.map((dep) => [
      `\`${dep.name}\``,
      dep.range,
      String(dep.packages),
      dep.importedBy.length === 0 ? '(none of the built entry points)' : dep.importedBy.join(', '),
    ]),
  });
  const { bytesByKind: by } = footprint;
  return [
    `${imports.options.rounds} rounds, each of the three processes once per round, in an order rotated from round to round;`,
    'each figure is the `import()` alone, timed inside the process: median (lowest–highest) over rounds, the',
    `differences and ratios taken within each round. Goals: ${name} adds at most ${IMPORT_GOAL_MS} ms to the SDK's import, and`,
    `costs at most ${IMPORT_GOAL_MS} ms after it.`,
    '',
    timing,
    '',
    `Packed (\`npm pack --dry-run\`): ${kb(footprint.packedBytes)}; unpacked ${kb(footprint.unpackedBytes)} in ${footprint.files} files`,
    `(JavaScript ${kb(by.js)}, source maps ${kb(by.map)}, type declarations ${kb(by.types)}, other ${kb(by.other)}).`,
    `Runtime dependencies (\`dependencies\` in package.json): ${footprint.dependencies.length}. Peer dependencies: ${
      footprint.peers.map((peer) => `\`${peer.name}\` ${peer.range}${peer.optional ? ' (optional)' : ''}`).join(', ') ||
      'none'
    }.`,
    '',
    deps,
  ].join('\n');
}
