/**
 * Running the built CLI (`dist/cli.cjs`, built by `pretest`) as a child process, the way a person
 * or a script does: a temporary HOME, no `ANTHROPIC_*` variable from the test's own environment,
 * and the emulator configured through the `ANTHROPIC_OAUTH_*` variables.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { type Emulator, startEmulator } from '../../src/testing/index.js';
import { makeTempDir, type TempDir } from './fixtures.js';

export const CLI = resolve('dist/cli.cjs');

export type CliEnv = Record<string, string>;

/**
 * The child's environment: ours without `ANTHROPIC_*`, HOME set, the emulator's URLs and client id,
 * and the API base URL (`status` asks it for the plan): the emulator, else a closed loopback port.
 */
export function cliEnv(home: string, emu?: Emulator, extra: CliEnv = {}): CliEnv {
  const env: CliEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('ANTHROPIC_')) env[name] = value;
  }
  env.HOME = home;
  env.ANTHROPIC_BASE_URL = emu?.url ?? 'http://127.0.0.1:1';
  if (emu) {
    env.ANTHROPIC_OAUTH_AUTHORIZE_URL = emu.authorizeUrl;
    env.ANTHROPIC_OAUTH_TOKEN_URL = emu.tokenUrl;
    env.ANTHROPIC_OAUTH_CLIENT_ID = emu.oauthConfig.clientId;
    // Only `--manual` uses it; the loopback flow always sends its own redirect URI.
    env.ANTHROPIC_OAUTH_REDIRECT_URI = emu.manualRedirectUri;
  }
  return { ...env, ...extra };
}

export const tokenFileIn = (home: string): string => join(home, '.anthropic', 'oauth_tokens.json');

/** What a CLI test runs against: an emulator, a temporary HOME, the CLI's environment for both. */
export interface CliWorld {
  emu: Emulator;
  temp: TempDir;
  env: CliEnv;
  /** The default token file under that HOME. */
  tokenFile: string;
}

/**
 * Before each test of the file: a new emulator and temporary HOME (`prefix` names the directory),
 * handed to `use`; after it, the emulator is closed and the directory removed. `extra` is added to
 * the environment.
 */
export function useCliWorld(prefix: string, use: (world: CliWorld) => void, extra: CliEnv = {}): void {
  let world: CliWorld | undefined;
  beforeEach(async () => {
    const emu = await startEmulator();
    const temp = await makeTempDir(prefix);
    world = { emu, temp, env: cliEnv(temp.dir, emu, extra), tokenFile: tokenFileIn(temp.dir) };
    use(world);
  });
  afterEach(async () => {
    await world?.emu.close();
    await world?.temp.cleanup();
    world = undefined;
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr; rejects if the process exits first. */
  waitForStderr(pattern: RegExp): Promise<RegExpMatchArray>;
  /** The authorize URL the CLI printed. */
  authorizeUrl(): Promise<string>;
  write(text: string): void;
  /** Resolves when the process has exited and its output is complete. */
  readonly done: Promise<CliResult>;
}

export function spawnCli(args: readonly string[], env: CliEnv, cli = CLI): CliProcess {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const watcher of watchers) watcher();
  });
  // A write after the child has exited must not crash the test run.
  child.stdin.on('error', () => {});
  const done = new Promise<CliResult>((resolveDone) => {
    child.once('close', (code) => {
      resolveDone({ code, stdout, stderr });
      for (const watcher of watchers) watcher();
    });
  });
  let exited = false;
  void done.then(() => {
    exited = true;
  });

  const waitForStderr = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolveMatch, reject) => {
      const check = (): void => {
        const match = pattern.exec(stderr);
        if (match) {
          watchers.delete(check);
          resolveMatch(match);
        } else if (exited || child.exitCode !== null) {
          watchers.delete(check);
          reject(new Error(`The CLI exited (${child.exitCode}) before printing ${pattern}. stderr:\n${stderr}`));
        }
      };
      watchers.add(check);
      check();
    });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStderr,
    authorizeUrl: async () =>
      (await waitForStderr(/^ {2}(http:\/\/127\.0\.0\.1:\d+\/(?:console\/)?oauth\/authorize\?\S+)$/m))[1] ?? '',
    write: (text) => {
      child.stdin.write(text);
    },
    done,
  };
}

/** Runs a command to completion, with `input` on stdin (closed at once when omitted); `cliFile`: another built CLI. */
export async function runCli(args: readonly string[], env: CliEnv, input = '', cliFile = CLI): Promise<CliResult> {
  const cli = spawnCli(args, env, cliFile);
  cli.child.stdin.end(input);
  return cli.done;
}

/** The redirect URI in an authorize URL. */
export function redirectUriOf(authorizeUrl: string): string {
  return new URL(authorizeUrl).searchParams.get('redirect_uri') ?? '';
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Every secret of the logins the emulator saw: codes, verifiers and refresh tokens sent to it, and
 * the tokens in `tokenFiles`. Output must contain none of them.
 */
export async function secretsSeen(emu: Emulator, tokenFiles: readonly string[] = []): Promise<string[]> {
  const secrets = new Set<string>();
  for (const request of emu.requests) {
    if (request.path !== '/v1/oauth/token' || typeof request.body !== 'object' || request.body === null) continue;
    const body = request.body as Record<string, unknown>;
    for (const field of ['code', 'code_verifier', 'refresh_token']) {
      const value = body[field];
      if (typeof value === 'string' && value !== '') secrets.add(value);
    }
  }
  for (const file of tokenFiles) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text === '') continue;
    const data = JSON.parse(text) as Record<string, unknown>;
    for (const field of ['access_token', 'refresh_token']) {
      const value = data[field];
      if (typeof value === 'string' && value !== '') secrets.add(value);
    }
  }
  return [...secrets];
}

/** The secrets of `secrets` found in `text` (shown shortened in a failure, never whole). */
export function leakedIn(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => text.includes(secret)).map((secret) => `${secret.slice(0, 16)}…`);
}

/** Where the CLI keeps the login of profile `name` under `home`. */
export const profileFileIn = (home: string, name: string): string =>
  join(home, '.anthropic', 'profiles', `${name}.json`);

/**
 * A whole `login --no-browser` (plus `args`): the emulator approves the printed URL and the callback
 * URL is pasted on stdin, as from a browser on another machine. Resolves the finished run.
 */
export async function loginByPaste(emu: Emulator, args: readonly string[], env: CliEnv): Promise<CliResult> {
  const cli = spawnCli(['login', '--no-browser', ...args], env);
  const callback = await emu.approve(await cli.authorizeUrl());
  cli.write(`${callback}\n`);
  return cli.done;
}
