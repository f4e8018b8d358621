/**
 * What the built package loads, per use: the guard on start-up cost (issue 14). The figures are in
 * `npm run bench` §5; this file holds the module graph behind them, so that an import moved back to
 * the top of a file, a command imported by `main.ts` again, or the SDK's root imported for its error
 * class fails here instead of silently costing every `token` call 150 ms.
 *
 * Each case runs a real process (the built `dist/`, as `pretest` builds it) with a recorder preloaded:
 * an ESM loader hook that logs every module loaded through `import`, and an exit handler that logs
 * the CommonJS modules (`require.cache`) and the Node built-ins (`process.moduleLoadList`). Each
 * "never loads" check is paired with a case that does load the same thing, so the recorder is seen
 * to catch it.
 */

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenStorage } from '../src/store/file.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { CLI, cliEnv, runCli, tokenFileIn } from './helpers/cli-run.js';
import { makeTempDir, nowSeconds, tokensOf } from './helpers/fixtures.js';

const ROOT = resolve('.');

/**
 * Preloaded with `--require`: registers the hook, and writes the CommonJS modules and built-ins at
 * exit. CommonJS, so that its own built-ins (`node:fs`, `node:module`) do not enter the ESM loader's
 * module map, where a later `import` of them would not reach the hook.
 */
const RECORDER = `
const { appendFileSync } = require('node:fs');
const { register } = require('node:module');
const { pathToFileURL } = require('node:url');
const out = process.env.MODULE_GRAPH_OUT;
register('./hooks.mjs', pathToFileURL(__filename), { data: { out } });
process.on('exit', () => {
  const lines = [
    ...process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => 'builtin ' + m.slice(13)),
    ...Object.keys(require.cache).map((file) => 'file ' + file),
  ];
  appendFileSync(out, lines.join('\\n') + '\\n');
});
`;

/** The loader hook, in the hooks thread: every module loaded through the ESM loader. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) {
  appendFileSync(out, url.startsWith('file:') ? 'file ' + fileURLToPath(url) + '\\n' : 'import ' + url.replace(/^node:/, '') + '\\n');
  return next(url, context);
}
`;

interface Loaded {
  code: number;
  stdout: string;
  stderr: string;
  /** Node built-ins loaded, however (`process.moduleLoadList`): `readline`, `http`, `internal/…`. */
  builtins: Set<string>;
  /** Node built-ins imported through the ESM loader (`await import('node:http')`), without `node:`. */
  imported: Set<string>;
  /** Files of the project (relative to it: `dist/cli.cjs`) and of packages (`node_modules/…`). */
  files: string[];
  /** Packages loaded from node_modules (`open`, `@anthropic-ai/sdk`). */
  packages: Set<string>;
}

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let emu: Emulator;
let recorder: string;
/** Preloaded through NODE_OPTIONS: writes the built-ins loaded (`process.moduleLoadList`) at exit, loads nothing. */
let builtinsRecorder: string;
let count = 0;

beforeAll(async () => {
  temp = await makeTempDir('anthropic-oauth-graph-');
  recorder = join(temp.dir, 'recorder.cjs');
  await writeFile(recorder, RECORDER);
  await writeFile(join(temp.dir, 'hooks.mjs'), HOOKS);
  builtinsRecorder = join(temp.dir, 'builtins.cjs');
  await writeFile(
    builtinsRecorder,
    `process.on('exit', () => require('node:fs').writeFileSync(process.env.MODULE_GRAPH_OUT, process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join('\\n')));\n`,
  );
  emu = await startEmulator();
});

afterAll(async () => {
  await emu?.close();
  await temp?.cleanup();
});

/** `open` for `…/node_modules/open/index.js`, `@napi-rs/keyring` for a scoped one. */
function packageOf(file: string): string | undefined {
  const marker = `${sep}node_modules${sep}`;
  const at = file.lastIndexOf(marker);
  if (at === -1) return undefined;
  const [first, second] = file.slice(at + marker.length).split(sep);
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

/**
 * Runs `node <args>` in the project with the recorder (stdin empty); what it loaded. `stopWhen`: a
 * process that serves until stopped gets SIGINT once its stdout matches.
 */
function loadedBy(args: readonly string[], env: Record<string, string>, stopWhen?: RegExp): Promise<Loaded> {
  const out = join(temp.dir, `graph-${++count}.txt`);
  return new Promise((resolveRun, reject) => {
    const child = execFile(
      process.execPath,
      ['--require', recorder, ...args],
      { cwd: ROOT, env: { ...env, MODULE_GRAPH_OUT: out }, timeout: 15_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        readFile(out, 'utf8').then((text) => {
          const lines = text.split('\n').filter(Boolean);
          const files = [
            ...new Set(lines.filter((line) => line.startsWith('file ')).map((line) => line.slice(5))),
          ].filter((file) => !file.startsWith(temp.dir));
          resolveRun({
            code: typeof error?.code === 'number' ? error.code : 0,
            stdout,
            stderr,
            builtins: new Set(lines.filter((line) => line.startsWith('builtin ')).map((line) => line.slice(8))),
            imported: new Set(lines.filter((line) => line.startsWith('import ')).map((line) => line.slice(7))),
            files: files.map((file) => (file.startsWith(ROOT + sep) ? file.slice(ROOT.length + 1) : file)),
            packages: new Set(files.map(packageOf).filter((name): name is string => name !== undefined)),
          });
        }, reject);
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end();
    if (stopWhen) {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer | string) => {
        seen += String(chunk);
        if (stopWhen.test(seen)) child.kill('SIGINT');
      });
    }
  });
}

/** Built-ins that only a login, a browser, the emulator or a keychain call has any use for. */
const HEAVY_BUILTINS = ['readline', 'readline/promises', 'http', 'https', 'child_process', 'crypto'];
/**
 * What building `process.stdin`, `process.stdout` or `process.stderr` loads (the streams, and `net`
 * for a pipe): a line of output needs none of it (src/cli/output.ts). Here stdout and stderr are pipes.
 */
const STREAM_BUILTINS = ['net', 'stream', 'internal/streams/readable', 'internal/streams/writable'];

describe('the built CLI', () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    const home = join(temp.dir, 'home');
    env = cliEnv(home, emu);
    await new TokenStorage(tokenFileIn(home)).save(tokensOf(emu.issueTokens()));
  });

  it('is one file, with neither the SDK nor the emulator in it', async () => {
    const source = await readFile(CLI, 'utf8');
    expect(source).not.toMatch(/(require|import)\(["']@anthropic-ai\/sdk/);
    expect(source).not.toMatch(/require\(["']\.\.?\//);
    expect(source).not.toContain('src/testing/');
    // The `emulator` command imports it from the package itself (tsup.config.ts), and nothing else does.
    expect(source.match(/(require|import)\(["']anthropic-oauth\/testing["']\)/g)).toHaveLength(1);
  });

  it('emulator loads the emulator from the package (dist/testing.js), and stops on SIGINT with exit 0', async () => {
    const loaded = await loadedBy([CLI, 'emulator'], env, /ANTHROPIC_OAUTH_PROFILE=/);
    expect(loaded.code).toBe(0);
    expect(loaded.stderr).toContain('Emulator stopped (SIGINT).');
    expect(loaded.files).toContain('dist/cli.cjs');
    expect(loaded.files).toContain('dist/testing.js');
    expect(loaded.files.filter((file) => file.startsWith('src'))).toEqual([]);
  });

  it.each([
    ['token (a fresh token)', ['token']],
    ['token --json', ['token', '--json']],
    // status makes no network call: the plan is the summary saved at login.
    ['status', ['status']],
    ['status --json', ['status', '--json']],
    ['--help', ['--help']],
  ])('%s loads dist/cli.cjs and no package, no SDK, no readline, http or child_process', async (_name, args) => {
    const loaded = await loadedBy([CLI, ...args], env);
    expect(loaded.code).toBe(0);
    // It did its work: the token, the status, the help, "Already logged out".
    expect(loaded.stdout + loaded.stderr).not.toBe('');
    expect(loaded.files).toEqual(['dist/cli.cjs']);
    expect([...loaded.packages]).toEqual([]);
    for (const builtin of HEAVY_BUILTINS) expect(loaded.builtins, builtin).not.toContain(builtin);
  });

  it('token, status and --help write without building process.stdout/stderr/stdin; login --manual builds them', async () => {
    // The recorder's loader hook runs in a worker that loads the streams itself: here only the
    // built-ins are recorded, at exit, by a preload that loads nothing.
    const builtinsOf = async (args: readonly string[]): Promise<{ code: number | null; builtins: string[] }> => {
      const out = join(temp.dir, `builtins-${++count}.txt`);
      const result = await runCli(args, {
        ...env,
        NODE_OPTIONS: `--require ${builtinsRecorder}`,
        MODULE_GRAPH_OUT: out,
      });
      return { code: result.code, builtins: (await readFile(out, 'utf8')).split('\n') };
    };
    for (const args of [['token'], ['token', '--json'], ['status'], ['status', '--json'], ['--help'], ['--version']]) {
      const { code, builtins } = await builtinsOf(args);
      expect(code, args.join(' ')).toBe(0);
      for (const builtin of STREAM_BUILTINS) expect(builtins, `${args.join(' ')}: ${builtin}`).not.toContain(builtin);
    }
    // It reads the pasted answer through process.stdin (a pipe here): the recorder sees what that loads.
    const login = await builtinsOf(['login', '--manual']);
    for (const builtin of STREAM_BUILTINS) expect(login.builtins, builtin).toContain(builtin);
  });

  it('token with a refresh due loads the lock, and nothing of login, the browser or the keychain', async () => {
    const home = join(temp.dir, 'refresh-home');
    const file = tokenFileIn(home);
    const stale = tokensOf(emu.issueTokens(), { expiresAt: nowSeconds() - 60 });
    await new TokenStorage(file).save(stale);
    const loaded = await loadedBy([CLI, 'token'], cliEnv(home, emu));
    expect(loaded.code).toBe(0);
    const fresh = loaded.stdout.trim();
    expect(fresh).not.toBe(stale.accessToken);
    expect((await new TokenStorage(file).load())?.accessToken).toBe(fresh);
    expect(loaded.packages).toContain('proper-lockfile');
    for (const name of loaded.packages)
      expect(['proper-lockfile', 'graceful-fs', 'retry', 'signal-exit']).toContain(name);
    // The refresh is sent over `node:http` (src/cli/http-fetch.ts), never Node's `fetch` (undici and
    // its WebAssembly parser); the loopback listener's `import('node:http')` is the login's.
    expect(loaded.builtins).toContain('http');
    expect(loaded.builtins).not.toContain('internal/deps/undici/undici');
    expect(loaded.imported).not.toContain('http');
    for (const builtin of ['readline', 'readline/promises', 'child_process']) {
      expect(loaded.builtins, builtin).not.toContain(builtin);
    }
  });

  it('logout loads the lock (it writes under it) and nothing of login, the browser or the keychain', async () => {
    const loaded = await loadedBy([CLI, 'logout', '--storage', join(temp.dir, 'absent', 'tokens.json')], env);
    expect(loaded.code).toBe(0);
    expect(loaded.stdout + loaded.stderr).toMatch(/logged out/i);
    for (const name of loaded.packages)
      expect(['proper-lockfile', 'graceful-fs', 'retry', 'signal-exit']).toContain(name);
    for (const builtin of HEAVY_BUILTINS) expect(loaded.builtins, builtin).not.toContain(builtin);
  });

  it('login and --store keychain do load what the others must not (the recorder sees it)', async () => {
    // `login --manual`: it prints the URL and reads the answer from stdin, which is empty.
    const login = await loadedBy([CLI, 'login', '--manual'], env);
    expect(login.builtins).toContain('readline');
    // The loopback flow, without a browser: it listens on 127.0.0.1 (and gives up at once: stdin is empty).
    const loopback = await loadedBy([CLI, 'login', '--no-browser', '--timeout', '1'], env);
    expect(loopback.imported).toContain('http');
    // No Secret Service here: the keychain store loads its binding, then fails.
    const keychain = await loadedBy([CLI, 'status', '--store', 'keychain'], env);
    expect(keychain.packages).toContain('@napi-rs/keyring');
  });
});

describe('the built library', () => {
  /** What importing the SDK alone loads: the library may add no package and no built-in of note to it. */
  let sdk: Loaded;

  beforeAll(async () => {
    sdk = await loadedBy(['--input-type=module', '-e', "await import('@anthropic-ai/sdk')"], {});
  });

  it.each([
    ['import (ESM)', ['--input-type=module', '-e', "await import('anthropic-oauth')"], 'dist/index.js'],
    ['require (CommonJS)', ['-e', "require('anthropic-oauth')"], 'dist/index.cjs'],
  ])(
    '%s loads one file of ours and nothing beyond the SDK: no testing, keychain binding, lock or browser',
    async (_name, args, entry) => {
      const loaded = await loadedBy(args, {});
      expect(loaded.code).toBe(0);
      expect(loaded.files.filter((file) => !file.includes(`node_modules${sep}`))).toEqual([entry]);
      expect([...loaded.packages].filter((name) => !sdk.packages.has(name))).toEqual([]);
      expect(loaded.packages).toContain('@anthropic-ai/sdk');
      for (const builtin of HEAVY_BUILTINS) {
        if (!sdk.builtins.has(builtin)) expect(loaded.builtins, builtin).not.toContain(builtin);
      }
    },
  );

  it('imports no built-in through the ESM loader but `node:module` (see tsup.config.ts)', async () => {
    // An `import` of `node:fs` or `node:util` builds its ESM facade, which runs every lazy export
    // (streams, the argument parser): the ESM build requires them instead.
    const loaded = await loadedBy(['--input-type=module', '-e', "await import('anthropic-oauth')"], {});
    expect([...loaded.imported].filter((name) => !sdk.imported.has(name))).toEqual(['module']);
    for (const internal of ['internal/fs/streams', 'internal/util/parse_args/parse_args', 'internal/mime']) {
      if (!sdk.builtins.has(internal)) expect(loaded.builtins, internal).not.toContain(internal);
    }
  });
});

describe('the built JavaScript', () => {
  it.each(['dist/index.js', 'dist/index.cjs', 'dist/testing.js', 'dist/cli.cjs'])(
    '%s is ASCII, so Node reads it as a one-byte string',
    async (file) => {
      // One non-ASCII character (a comment esbuild keeps, on a class field) makes Node decode and V8
      // scan the whole file as UTF-16: about 0.5 ms more on every import. Write `->`, not an arrow.
      const source = await readFile(file, 'utf8');
      const line = source.split('\n').findIndex((text) => /[\u0080-\uffff]/.test(text));
      expect(line === -1 ? null : `line ${line + 1}: ${source.split('\n')[line]?.trim()}`).toBeNull();
    },
  );
});
