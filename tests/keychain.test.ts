/**
 * KeychainTokenStore against a REAL Secret Service: gnome-keyring on a private D-Bus session bus,
 * started by `npm run test:keychain` (scripts/with-secret-service.sh). Not part of `npm test`.
 * Without that session every test here fails (never skips): see `requireSecretService`.
 *
 * `secret-tool` (libsecret) looks at the same keyring from outside, which proves the entries are
 * really in the Secret Service. A process with no session bus shows the unavailable case; a
 * Secret Service frozen with SIGSTOP shows the timeout.
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicOAuth, KeychainTokenStore, type OAuthTokens, TokenStorage, TokenStorageError } from '../src/index.js';
import { toStoredCredentials } from '../src/oauth-tokens.js';
import { nextLineage, pendingJson } from '../src/store/pending.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { cliEnv, runCli } from './helpers/cli-run.js';
import { hello, makeTempDir, messageRequests, nowSeconds, snapshotEnv, tokensOf } from './helpers/fixtures.js';
import { fakeTokens, retryUntil } from './helpers/keychain.js';

const SERVICE = 'anthropic-oauth';
const CHILD = join(import.meta.dirname, 'keychain-child.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A tool that exits without reading its input (EPIPE) must not crash the run: its exit code tells.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input ?? '');
  });
}

/** `secret-tool` on the same Secret Service: store, lookup, clear. Our entries: service + username. */
const secretTool = {
  store: async (account: string, secret: string) => {
    const result = await run(
      'secret-tool',
      ['store', '--label=anthropic-oauth test', 'service', SERVICE, 'username', account],
      { input: secret },
    );
    if (result.code !== 0) throw new Error(`secret-tool store failed: ${result.stderr}`);
  },
  lookup: async (account: string): Promise<string | null> => {
    const result = await run('secret-tool', ['lookup', 'service', SERVICE, 'username', account]);
    return result.code === 0 ? result.stdout : null;
  },
  clear: (account: string) => run('secret-tool', ['clear', 'service', SERVICE, 'username', account]),
};

/** Runs tests/keychain-child.ts in its own process; returns its JSON line. */
async function child<T>(args: object, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const result = await run(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], { env });
  if (result.code !== 0) throw new Error(`child exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as T;
}

/** The process that owns org.freedesktop.secrets on the session bus: the real gnome-keyring. */
async function secretServicePid(): Promise<number> {
  const result = await run('dbus-send', [
    '--session',
    '--print-reply',
    '--dest=org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus.GetConnectionUnixProcessID',
    'string:org.freedesktop.secrets',
  ]);
  const pid = Number(/uint32 (\d+)/.exec(result.stdout)?.[1]);
  if (!pid) throw new Error(`no Secret Service on the session bus: ${result.stderr}`);
  return pid;
}

let temp: Awaited<ReturnType<typeof makeTempDir>>;
let restoreEnv: () => void;
let account: string;

/** Checked before every test, so each one fails (never skips) without a Secret Service. */
let secretServiceCheck: Promise<number> | undefined;
function requireSecretService(): Promise<number> {
  if (!process.env.ANTHROPIC_OAUTH_TEST_SECRET_SERVICE || !process.env.DBUS_SESSION_BUS_ADDRESS) {
    return Promise.reject(
      new Error(
        'The keychain tests need a Secret Service on a D-Bus session bus: run them with `npm run test:keychain`.',
      ),
    );
  }
  secretServiceCheck ??= secretServicePid();
  return secretServiceCheck;
}

beforeEach(async () => {
  await requireSecretService();
  temp = await makeTempDir();
  restoreEnv = snapshotEnv();
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('ANTHROPIC_') && key !== 'ANTHROPIC_OAUTH_TEST_SECRET_SERVICE') delete process.env[key];
  }
  process.env.HOME = temp.dir;
  account = `test-${randomBytes(6).toString('hex')}`;
});

afterEach(async () => {
  if (!temp) return;
  await secretTool.clear(account);
  restoreEnv();
  await temp.cleanup();
});

describe('KeychainTokenStore on gnome-keyring', () => {
  it('saves, loads and clears a login', async () => {
    const store = new KeychainTokenStore({ account });
    const tokens = fakeTokens();
    await store.save(tokens);
    expect(await store.load()).toEqual(tokens);
    const rotated = fakeTokens();
    await store.save(rotated);
    expect(await store.load()).toEqual(rotated);
    await store.clear();
    expect(await store.load()).toBeNull();
    await store.clear();
  });

  it('is the real keychain: secret-tool sees the token file JSON, and what it stores is loaded', async () => {
    account = 'default';
    const store = new KeychainTokenStore();
    const tokens = fakeTokens();
    await store.save(tokens);
    const secret = await secretTool.lookup('default');
    expect(secret).not.toBeNull();
    expect(JSON.parse(secret ?? '')).toEqual(toStoredCredentials(tokens));

    const other = fakeTokens();
    await secretTool.store('default', JSON.stringify(toStoredCredentials(other), null, 2));
    expect(await store.load()).toEqual(other);

    await store.clear();
    expect(await secretTool.lookup('default')).toBeNull();
  });

  it('keeps two accounts apart', async () => {
    const second = `${account}-2`;
    try {
      const a = new KeychainTokenStore({ account });
      const b = new KeychainTokenStore({ account: second });
      const tokensA = fakeTokens();
      const tokensB = fakeTokens();
      await a.save(tokensA);
      expect(await b.load()).toBeNull();
      await b.save(tokensB);
      expect(await a.load()).toEqual(tokensA);
      expect(await b.load()).toEqual(tokensB);
      await a.clear();
      expect(await a.load()).toBeNull();
      expect(await b.load()).toEqual(tokensB);
    } finally {
      await secretTool.clear(second);
    }
  });

  it('is "not logged in" (null) when there is no entry', async () => {
    const store = new KeychainTokenStore({ account });
    expect(await store.load()).toBeNull();
    await expect(store.clear()).resolves.toBeUndefined();
  });

  it('a corrupt secret is corrupt_file naming the entry, never quoting it', async () => {
    const store = new KeychainTokenStore({ account });
    const cases: [string, string][] = [
      ['not json sk-ant-ort01-LEAKED', 'not valid JSON'],
      ['{"access_token": 42, "refresh_token": "sk-ant-ort01-LEAKED"}', 'no access_token'],
      ['{"access_token": "a", "refresh_token": ["sk-ant-ort01-LEAKED"]}', '`refresh_token` is not a string'],
      ['["sk-ant-ort01-LEAKED"]', 'not a JSON object'],
      ['', 'empty'],
    ];
    for (const [secret, why] of cases) {
      await secretTool.store(account, secret);
      const error = await store.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenStorageError);
      expect(error).toMatchObject({ code: 'corrupt_file', path: `keychain:${SERVICE}/${account}` });
      const shown = `${(error as Error).message} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;
      expect(shown).not.toContain('LEAKED');
      expect((error as Error).message).toContain(`(${why})`);
      expect((error as Error).message).toContain('login --store keychain');
    }
  });

  it('util.inspect of the store shows no token', async () => {
    const tokens = fakeTokens();
    const store = new KeychainTokenStore({ account, fallback: join(temp.dir, 'fallback.json') });
    await store.save(tokens);
    const shown = inspect(store, { depth: 10, showHidden: true });
    expect(shown).toContain(account);
    expect(shown).not.toContain(tokens.accessToken);
    expect(shown).not.toContain(tokens.refreshToken);
  });

  it('lock() holds a lock file under ~/.anthropic/, one holder at a time', async () => {
    const a = new KeychainTokenStore({ account });
    const b = new KeychainTokenStore({ account });
    expect(a.lockFile).toBe(join(temp.dir, '.anthropic', `keychain-${SERVICE}-${account}`));
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = a.lock(async () => {
      order.push('a in');
      expect((await stat(`${a.lockFile}.lock`)).isDirectory()).toBe(true);
      await held;
      order.push('a out');
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = b.lock(async () => {
      order.push('b in');
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['a in', 'a out', 'b in']);
  });

  it('a newer login in the file fallback (saved while the keychain was down) wins until the next save', async () => {
    const reasons: string[] = [];
    const file = join(temp.dir, 'fallback.json');
    const store = new KeychainTokenStore({ account, fallback: file, onFallback: (r) => reasons.push(r) });
    const older = fakeTokens({ expiresAt: nowSeconds() + 100 });
    const newer = fakeTokens({ expiresAt: nowSeconds() + 3600 });
    await new KeychainTokenStore({ account }).save(older);
    await new TokenStorage(file).save(newer);
    expect(await store.load()).toEqual(newer);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain('newer login');
    const latest = fakeTokens({ expiresAt: nowSeconds() + 7200 });
    await store.save(latest);
    expect(await store.load()).toEqual(latest);
    expect(reasons).toHaveLength(1);
    // clear() clears both, so a logout cannot be undone by the file.
    await store.clear();
    expect(await store.load()).toBeNull();
    expect(await new TokenStorage(file).load()).toBeNull();
  });
});

describe('the built package', () => {
  // `npm run test:keychain` builds first.
  const program = (load: string) => `
${load}
const { createRequire } = require('node:module');
const cache = createRequire(process.execPath).cache;
const loaded = () => Object.keys(cache).some((file) => file.includes('@napi-rs'));
const seen = { atImport: loaded() };
const store = new KeychainTokenStore({ account: process.argv[1] });
seen.atConstruction = loaded();
seen.value = await store.load();
seen.afterUse = loaded();
console.log(JSON.stringify(seen));
`;

  it.each([
    [
      'ESM',
      ['--input-type=module', '-e'],
      "import { createRequire as cr } from 'node:module'; const require = cr(import.meta.url); import { KeychainTokenStore } from 'anthropic-oauth';",
    ],
    ['CommonJS', ['-e'], "const { KeychainTokenStore } = require('anthropic-oauth');"],
  ])(
    'from %s: loads @napi-rs/keyring only when the store is first used, and does not bundle it',
    async (_, flags, load) => {
      const tokens = fakeTokens();
      await new KeychainTokenStore({ account }).save(tokens);
      const source = load.includes('import {') ? program(load) : `(async () => {${program(load)}})()`;
      const result = await run(process.execPath, [...flags, source, account], { cwd: join(import.meta.dirname, '..') });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        atImport: false,
        atConstruction: false,
        value: JSON.parse(JSON.stringify(tokens)),
        afterUse: true,
      });
      for (const file of ['index.js', 'index.cjs']) {
        const code = await readFile(join(import.meta.dirname, '..', 'dist', file), 'utf8');
        expect(code).toContain('@napi-rs/keyring');
        expect(code).not.toContain('Cannot find native binding');
      }
    },
  );
});

describe('without @napi-rs/keyring installed', () => {
  it('imports fine, and using the store is keychain_not_installed saying what to install', async () => {
    // A real install of the built package next to its dependencies, minus the optional peer.
    const root = join(import.meta.dirname, '..');
    const app = join(temp.dir, 'app');
    const pkg = join(app, 'node_modules', 'anthropic-oauth');
    await mkdir(join(app, 'node_modules', '@anthropic-ai'), { recursive: true });
    await cp(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
    await cp(join(root, 'package.json'), join(pkg, 'package.json'));
    for (const dep of ['@anthropic-ai/sdk', 'open', 'proper-lockfile']) {
      await symlink(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
    }
    const source = `
import { KeychainTokenStore } from 'anthropic-oauth';
const store = new KeychainTokenStore({ account: process.argv[1], fallback: 'unused.json' });
const error = await store.load().catch((e) => e);
console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
`;
    const result = await run(process.execPath, ['--input-type=module', '-e', source, account], { cwd: app });
    expect(result.stderr).toBe('');
    const error = JSON.parse(result.stdout);
    expect(error).toMatchObject({ name: 'TokenStorageError', code: 'keychain_not_installed' });
    expect(error.message).toContain('npm install @napi-rs/keyring');
  });
});

describe('no Secret Service (a process without a session bus)', () => {
  const noBus = () => ({ ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' });

  it('is keychain_unavailable, saying what to do, when there is no fallback', async () => {
    const tokens = fakeTokens();
    for (const steps of [['load'], ['save'], ['clear']]) {
      const out = await child<{ error?: { name: string; code: string; message: string }; reasons: string[] }>(
        { mode: 'store', account, tokens, steps },
        noBus(),
      );
      expect(out.error).toMatchObject({ name: 'TokenStorageError', code: 'keychain_unavailable' });
      expect(out.error?.message).toMatch(/Secret Service/);
      expect(out.error?.message).toMatch(/gnome-keyring-daemon/);
      expect(out.error?.message).toMatch(/file store/);
      expect(out.error?.message).not.toContain(tokens.refreshToken);
      expect(out.reasons).toEqual([]);
    }
    // Nothing went anywhere else (in particular not to the kernel keyring).
    expect(await secretTool.lookup(account)).toBeNull();
  });

  it('with a file fallback: uses the file and says so every time', async () => {
    const file = join(temp.dir, 'fallback', 'oauth_tokens.json');
    const tokens = fakeTokens();
    const first = await child<{ results: unknown[]; reasons: string[]; error?: unknown }>(
      { mode: 'store', account, tokens, fallback: file, steps: ['save', 'load'] },
      noBus(),
    );
    expect(first.error).toBeUndefined();
    expect(first.results[1]).toEqual(tokens);
    expect(first.reasons).toHaveLength(2);
    for (const reason of first.reasons) {
      expect(reason).toMatch(/OS keychain is unavailable/);
      expect(reason).toContain(file);
    }
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(toStoredCredentials(tokens));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await secretTool.lookup(account)).toBeNull();

    const second = await child<{ results: unknown[]; reasons: string[]; error?: unknown }>(
      { mode: 'store', account, tokens, fallback: file, steps: ['clear', 'load'] },
      noBus(),
    );
    expect(second.error).toBeUndefined();
    expect(second.results).toEqual([null, null]);
    expect(second.reasons).toHaveLength(2);
  });
});

describe('AnthropicOAuth with the keychain (against the emulator)', () => {
  let emu: Emulator;
  afterEach(async () => {
    await emu?.close();
  });

  it('refreshes an expiring token and rotates the new tokens into the keychain', async () => {
    emu = await startEmulator();
    const issued = emu.issueTokens();
    const store = new KeychainTokenStore({ account });
    await store.save(tokensOf(issued, { expiresAt: nowSeconds() + 200 }));
    const client = new AnthropicOAuth({ baseURL: emu.url, oauthConfig: emu.oauthConfig, tokenStorage: store });
    await client.messages.create(hello);
    expect(emu.stats().refresh).toBe(1);
    const saved = (await store.load()) as OAuthTokens;
    expect(saved.accessToken).not.toBe(issued.accessToken);
    expect(saved.refreshToken).not.toBe(issued.refreshToken);
    expect(emu.isRefreshTokenLive(saved.refreshToken)).toBe(true);
    expect(messageRequests(emu)[0]?.headers.authorization).toBe(`Bearer ${saved.accessToken}`);
    // Really in the Secret Service.
    expect(JSON.parse((await secretTool.lookup(account)) ?? '')).toMatchObject({ refresh_token: saved.refreshToken });
  });

  it('three processes sharing one keychain entry refresh once per expiry, with no invalid_grant', async () => {
    const ttlSeconds = 2;
    emu = await startEmulator({ accessTokenTtl: ttlSeconds });
    const store = new KeychainTokenStore({ account });
    await store.save(tokensOf(emu.issueTokens()));
    const durationMs = 6_000;
    const results = await Promise.all(
      Array.from({ length: 3 }, () =>
        child<{ ok: number; failures: unknown[] }>({
          mode: 'requests',
          account,
          baseURL: emu.url,
          oauthConfig: emu.oauthConfig,
          durationMs,
        }),
      ),
    );
    const stats = emu.stats();
    expect(results.map((r) => r.failures)).toEqual([[], [], []]);
    expect(stats.invalidGrant).toBe(0);
    expect(results.reduce((n, r) => n + r.ok, 0)).toBeGreaterThan(100);
    // A token is used for 3/4 of its 2 s life: ~4 expiries in 6 s (one refresh per process per
    // expiry would be ~12), plus the seeded login's first refresh.
    const expiries = durationMs / 1000 / (ttlSeconds * 0.75);
    expect(stats.refresh).toBeGreaterThanOrEqual(expiries / 2);
    expect(stats.refresh).toBeLessThanOrEqual(expiries * 1.3 + 2);
    const stored = (await store.load()) as OAuthTokens;
    expect(emu.isRefreshTokenLive(stored.refreshToken)).toBe(true);
  }, 60_000);
});

describe('a renewed login kept beside the keychain (rescue file), seen by the built CLI', () => {
  it('status --store keychain names the rescue file the login is read from, while the keychain holds the spent one', async () => {
    const store = new KeychainTokenStore({ account });
    const spent = fakeTokens();
    await store.save(spent);
    const renewed = fakeTokens({ account: { uuid: 'acct-uuid', emailAddress: 'renewed@example.com' } });
    await mkdir(dirname(store.rescueFile), { recursive: true, mode: 0o700 });
    const lineage = nextLineage(spent, undefined);
    await writeFile(store.rescueFile, pendingJson(renewed, lineage, store.rescueFile), { mode: 0o600 });

    const env = cliEnv(temp.dir);
    const json = await runCli(['status', '--store', 'keychain', '--profile', account, '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      source: 'keychain',
      keychain: `keychain:${SERVICE}/${account}`,
      recovered_from: store.rescueFile,
      account: { email: 'renewed@example.com' },
    });
    expect(json.stderr).toContain(`WARNING: ${store.rescueFile} holds a renewed login that the OS keychain`);
    const text = await runCli(['status', '--store', 'keychain', '--profile', account], env);
    expect(text.stdout).toContain(`  Recovered from: ${store.rescueFile} (keychain:${SERVICE}/${account} could not`);
    for (const secret of [spent.accessToken, spent.refreshToken, renewed.accessToken, renewed.refreshToken]) {
      expect(json.stdout + json.stderr + text.stdout + text.stderr).not.toContain(secret);
    }

    // Once the keychain holds a later login (a save), the copy is stale, removed, and not shown.
    await store.save(fakeTokens());
    expect(
      JSON.parse((await runCli(['status', '--store', 'keychain', '--profile', account, '--json'], env)).stdout),
    ).toMatchObject({ recovered_from: null });
  });

  it('logout --store keychain logs out even when the rescue copy is refused for its mode (0644), removing it too', async () => {
    const store = new KeychainTokenStore({ account });
    const spent = fakeTokens();
    await store.save(spent);
    await mkdir(dirname(store.rescueFile), { recursive: true, mode: 0o700 });
    await writeFile(store.rescueFile, pendingJson(fakeTokens(), nextLineage(spent, undefined), store.rescueFile), {
      mode: 0o600,
    });
    await chmod(store.rescueFile, 0o644);
    const env = cliEnv(temp.dir);
    // Reading it is refused with the chmod to run; logging out needs no such fix.
    expect((await runCli(['status', '--store', 'keychain', '--profile', account], env)).stderr).toContain(
      `run \`chmod 600 ${store.rescueFile}\``,
    );
    const out = await runCli(['logout', '--store', 'keychain', '--profile', account], env);
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('Logged out');
    await expect(stat(store.rescueFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await new KeychainTokenStore({ account }).load()).toBeNull();
  });
});

// Last in the file: stopping the Secret Service is the one fault here that can outlast its test. Once,
// in CI, the tests after it found no gnome-keyring on the bus, and the one D-Bus started in its place
// was locked (scripts/with-secret-service.sh now has the bus start an unlocked one).
describe('a Secret Service that does not answer (gnome-keyring stopped with SIGSTOP)', () => {
  it('times out within timeoutMs, fails fast while the call is stuck, falls back when allowed, and recovers', async () => {
    const pid = await secretServicePid();
    const store = new KeychainTokenStore({ account, timeoutMs: 300 });
    const reasons: string[] = [];
    const file = join(temp.dir, 'fallback.json');
    const withFallback = new KeychainTokenStore({
      account,
      timeoutMs: 300,
      fallback: file,
      onFallback: (r) => reasons.push(r),
    });
    // The shared worker started (and the binding loaded) with time to spare: a loaded machine can
    // take longer than 300 ms for that, and the bound under test is the keychain's answer.
    expect(await new KeychainTokenStore({ account, timeoutMs: 30_000 }).load()).toBeNull();
    expect(await store.load()).toBeNull(); // the worker is up and the keychain answers
    const tokens = fakeTokens();
    process.kill(pid, 'SIGSTOP');
    try {
      const error = await store.load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenStorageError);
      expect(error).toMatchObject({ code: 'timeout' });
      expect((error as Error).message).toMatch(/did not answer within 300 ms/);

      // The stuck call is not queued behind: the next one fails at once, saying so.
      const next = await store.save(tokens).catch((e: unknown) => e);
      expect(next).toMatchObject({ code: 'timeout' });
      expect((next as Error).message).toMatch(/an earlier OS keychain call has not returned/i);

      await withFallback.save(tokens);
      expect(await new TokenStorage(file).load()).toEqual(tokens);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/has not returned|did not answer/);
      expect(reasons[0]).toContain(file);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Once the stuck call has returned, the keychain is used again.
    await retryUntil(() => store.save(tokens), 15_000, 200);
    expect(await store.load()).toEqual(tokens);
  });
});
