/**
 * (4) Cold start and footprint.
 *
 * Cold start is timed from outside: the wall time of a fresh `node` process, from spawn to exit,
 * that imports one thing and exits. The variants run interleaved, `runs` times each; we report
 * medians. `node` alone (an empty module) shows what any process costs; the difference between
 * importing `anthropic-oauth` (the built `dist/index.js`, see lib/build.ts) and importing `@anthropic-ai/sdk` alone is
 * what the package adds. Process start-up varies by tens of ms on a busy 2-core machine, more than
 * that difference, so each child also prints how long its `import()` took by its own clock: the
 * same comparison without the noise of starting a process. `anthropic-oauth status` (the built
 * CLI, if there is one) is timed from outside, on a token file in a temporary HOME; it makes no
 * network call.
 *
 * Footprint: the packed tarball (`npm pack --dry-run` of the build), the runtime dependencies in package.json,
 * the packages each brings in, and which built entry point imports each of them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD, BUILT_ENTRIES, ROOT } from './lib/build.js';
import { fmt, median, rotate, signed } from './lib/stats.js';
import { renderTable } from './lib/table.js';

export interface ColdStartOptions {
  runs: number;
}

interface PackageJson {
  version: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** The environment of a measured child: no `ANTHROPIC_*` variable and no Node options of ours; a temporary HOME. */
function childEnv(home: string, tokenFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('ANTHROPIC_') && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return { ...env, HOME: home, ANTHROPIC_OAUTH_TOKEN_FILE: tokenFile };
}

/** One process: its wall time (ms, spawn to exit) and what it printed; rejects on a non-zero exit. */
function timeProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ wall: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const wall = performance.now() - start;
      if (code === 0) resolve({ wall, stdout });
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim().slice(0, 500)}`));
    });
  });
}

/** A fresh ESM process that imports `specifier` and prints how long the `import()` took, ms. */
function importing(specifier: string): string[] {
  const source = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  return ['--input-type=module', '-e', source];
}

/**
 * A fresh ESM process that imports the SDK, then `specifier`, and prints how long the second `import()`
 * took, ms: what the package adds to a program that already uses the SDK, without the noise of the
 * SDK's own import (which alone varies by tens of ms here).
 */
function importingAfterSdk(specifier: string): string[] {
  const source = `await import('@anthropic-ai/sdk'); const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  return ['--input-type=module', '-e', source];
}

/** The built CLI, from package.json's `bin`; `null` when it is not built (or not declared). */
function cliPath(pkg: PackageJson): string | null {
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['anthropic-oauth'];
  const path = join(BUILD, bin ?? BUILT_ENTRIES.CLI);
  return existsSync(path) ? path : null;
}

export interface ColdStartResult {
  options: ColdStartOptions;
  /** Medians, ms: wall times of whole processes… */
  nodeAlone: number;
  sdk: number;
  library: number;
  /** …and the `import()` alone, timed inside the process. */
  sdkImport: number;
  libraryImport: number;
  /** The `import()` of the package in a process that has imported the SDK already. */
  libraryAfterSdkImport: number;
  /** `null` when there is no built CLI. */
  status: number | null;
  statusNote: string;
}

export async function measureColdStart(
  options: ColdStartOptions,
  log: (line: string) => void = () => {},
): Promise<ColdStartResult> {
  const pkg = readJson<PackageJson>(join(BUILD, 'package.json'));
  const home = await mkdtemp(join(tmpdir(), 'anthropic-oauth-bench-home-'));
  try {
    // A login for `status` to show (fake tokens: nothing is sent anywhere).
    const tokenFile = join(home, '.anthropic', 'oauth_tokens.json');
    await mkdir(dirname(tokenFile), { recursive: true, mode: 0o700 });
    const login = {
      version: '1.0',
      type: 'oauth_token',
      access_token: 'sk-ant-oat01-bench-cold-start-not-a-real-token',
      refresh_token: 'sk-ant-ort01-bench-cold-start-not-a-real-token',
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      token_type: 'Bearer',
      scope: 'user:inference',
    };
    await writeFile(tokenFile, JSON.stringify(login), { mode: 0o600 });
    const env = childEnv(home, tokenFile);

    const cli = cliPath(pkg);
    const variants: Record<string, readonly string[]> = {
      nodeAlone: ['--input-type=module', '-e', ''],
      sdk: importing('@anthropic-ai/sdk'),
      library: importing(pathToFileURL(join(BUILD, BUILT_ENTRIES.library)).href),
      libraryAfterSdk: importingAfterSdk(pathToFileURL(join(BUILD, BUILT_ENTRIES.library)).href),
      ...(cli ? { status: [cli, 'status'] } : {}),
    };
    const names = Object.keys(variants);
    const walls: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    const inside: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    for (const name of names) await timeProcess(variants[name] as string[], env); // fill the file cache
    for (let run = 0; run < options.runs; run++) {
      for (const name of rotate(names, run)) {
        const { wall, stdout } = await timeProcess(variants[name] as string[], env);
        walls[name]?.push(wall);
        inside[name]?.push(Number(stdout));
      }
    }
    const result: ColdStartResult = {
      options,
      nodeAlone: median(walls.nodeAlone ?? []),
      sdk: median(walls.sdk ?? []),
      library: median(walls.library ?? []),
      sdkImport: median(inside.sdk ?? []),
      libraryImport: median(inside.library ?? []),
      libraryAfterSdkImport: median(inside.libraryAfterSdk ?? []),
      status: cli ? median(walls.status ?? []) : null,
      statusNote: cli ? `\`node ${cli.slice(BUILD.length + 1)} status\`` : 'no built CLI (`dist/cli.js`) when this ran',
    };
    log(
      `  wall: node ${fmt(result.nodeAlone, 1)} ms, sdk ${fmt(result.sdk, 1)} ms, anthropic-oauth ${fmt(result.library, 1)} ms; ` +
        `import(): sdk ${fmt(result.sdkImport, 1)} ms, anthropic-oauth ${fmt(result.libraryImport, 1)} ms, after the SDK ${fmt(result.libraryAfterSdkImport, 1)} ms; status ${
          result.status === null ? 'n/a' : `${fmt(result.status, 1)} ms`
        }`,
    );
    return result;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
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

export function reportColdStart(cold: ColdStartResult, footprint: FootprintResult): string {
  const timing = renderTable({
    headers: [
      'fresh `node` process that…',
      'wall time ms',
      'over `node` alone',
      'over the SDK alone',
      '`import()` inside ms',
      'over the SDK alone',
    ],
    rows: [
      ['imports nothing', fmt(cold.nodeAlone, 1), '—', '—', '—', '—'],
      [
        'imports `@anthropic-ai/sdk`',
        fmt(cold.sdk, 1),
        signed(cold.sdk - cold.nodeAlone, 1),
        '—',
        fmt(cold.sdkImport, 1),
        '—',
      ],
      [
        'imports `anthropic-oauth` (`dist/index.js`)',
        fmt(cold.library, 1),
        signed(cold.library - cold.nodeAlone, 1),
        signed(cold.library - cold.sdk, 1),
        fmt(cold.libraryImport, 1),
        signed(cold.libraryImport - cold.sdkImport, 1),
      ],
      [
        'imports the SDK, then `anthropic-oauth`',
        '—',
        '—',
        '—',
        `${fmt(cold.libraryAfterSdkImport, 1)} (the second)`,
        signed(cold.libraryAfterSdkImport, 1),
      ],
      [
        'runs `anthropic-oauth status`',
        cold.status === null ? 'n/a' : fmt(cold.status, 1),
        cold.status === null ? 'n/a' : signed(cold.status - cold.nodeAlone, 1),
        cold.status === null ? 'n/a' : signed(cold.status - cold.sdk, 1),
        '—',
        '—',
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
    `Medians of ${cold.options.runs} runs of each, interleaved; \`status\`: ${cold.statusNote}.`,
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
