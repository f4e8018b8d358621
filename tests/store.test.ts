import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readlinkSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENV_TOKEN_FILE } from '../src/env-variables.js';
import { TokenStorageError } from '../src/errors.js';
import { defaultTokenPath, TokenStorage } from '../src/store/file.js';
import { type KeychainBackend, type KeychainEntry, KeychainTokenStore } from '../src/store/keychain.js';
import { withFileLock } from '../src/store/lock.js';
import { MemoryTokenStore } from '../src/store/memory.js';
import { lineageKey, nextLineage, pendingJson } from '../src/store/pending.js';
import { isTokenStore } from '../src/store/types.js';
import type { OAuthTokens } from '../src/types.js';
import { rejectionOf, snapshotEnv } from './helpers/fixtures.js';
import { storeContract } from './helpers/store-contract.js';

const TOKENS: Readonly<OAuthTokens> = {
  accessToken: 'sk-ant-oat01-SECRETACCESS',
  refreshToken: 'sk-ant-ort01-SECRETREFRESH',
  expiresAt: 1_764_000_000,
  tokenType: 'Bearer',
  scope: 'user:inference user:profile',
  organization: { uuid: 'org-uuid', name: 'Example Org' },
  account: { uuid: 'acct-uuid', emailAddress: 'user@example.com' },
};

const NEWER: OAuthTokens = { ...TOKENS, accessToken: 'sk-ant-oat01-NEWER', refreshToken: 'sk-ant-ort01-NEWER' };

const isRoot = process.getuid?.() === 0;

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'anthropic-oauth-store-'));
});

afterEach(async () => {
  // Undo any read-only bits so the whole tree can be removed.
  await fs.chmod(dir, 0o700).catch(() => {});
  for (const entry of await fs.readdir(dir).catch(() => [])) {
    await fs.chmod(join(dir, entry), 0o700).catch(() => {});
  }
  await fs.rm(dir, { recursive: true, force: true });
});

const storageError = (promise: Promise<unknown>) => rejectionOf(TokenStorageError, promise);

async function writeRaw(path: string, text: string, mode = 0o600): Promise<void> {
  await fs.writeFile(path, text, { mode });
  await fs.chmod(path, mode);
}

const mode = async (path: string): Promise<number> => (await fs.stat(path)).mode & 0o777;

describe('TokenStorage (seed: TestTokenStorage)', () => {
  it('round-trips a login (test_save_load_roundtrip)', async () => {
    const store = new TokenStorage(join(dir, 'tokens.json'));
    await store.save(TOKENS);
    await expect(store.load()).resolves.toEqual(TOKENS);
    await expect(new TokenStorage(join(dir, 'tokens.json')).load()).resolves.toEqual(TOKENS);
  });

  it('round-trips a minimal login', async () => {
    const store = new TokenStorage(join(dir, 'tokens.json'));
    const minimal: OAuthTokens = {
      accessToken: 'at',
      refreshToken: '',
      expiresAt: null,
      tokenType: 'Bearer',
      scope: '',
    };
    await store.save(minimal);
    await expect(store.load()).resolves.toEqual(minimal);
  });

  it('returns null for a missing file (test_load_missing_returns_none)', async () => {
    await expect(new TokenStorage(join(dir, 'missing.json')).load()).resolves.toBeNull();
    await expect(new TokenStorage(join(dir, 'no', 'such', 'dir', 'tokens.json')).load()).resolves.toBeNull();
  });

  it('clear() removes the file and is idempotent (test_clear)', async () => {
    const store = new TokenStorage(join(dir, 'tokens.json'));
    await expect(store.exists()).resolves.toBe(false);
    await store.save({ ...TOKENS, expiresAt: 0 });
    await expect(store.exists()).resolves.toBe(true);
    await store.clear();
    await expect(store.exists()).resolves.toBe(false);
    await expect(store.load()).resolves.toBeNull();
    await expect(store.clear()).resolves.toBeUndefined();
  });

  it('writes the file 0600 and creates missing directories 0700', async () => {
    const path = join(dir, 'a', 'b', 'tokens.json');
    await new TokenStorage(path).save(TOKENS);
    expect(await mode(path)).toBe(0o600);
    expect(await mode(join(dir, 'a', 'b'))).toBe(0o700);
    expect(await mode(join(dir, 'a'))).toBe(0o700);
  });

  it('replaces a 0644 file with a 0600 one on save', async () => {
    const path = join(dir, 'tokens.json');
    await writeRaw(path, '{}', 0o644);
    await new TokenStorage(path).save(TOKENS);
    expect(await mode(path)).toBe(0o600);
  });

  it('writes the documented snake_case JSON', async () => {
    const path = join(dir, 'tokens.json');
    await new TokenStorage(path).save(TOKENS);
    expect(JSON.parse(await fs.readFile(path, 'utf8'))).toEqual({
      version: '1.0',
      type: 'oauth_token',
      access_token: 'sk-ant-oat01-SECRETACCESS',
      refresh_token: 'sk-ant-ort01-SECRETREFRESH',
      expires_at: 1_764_000_000,
      token_type: 'Bearer',
      scope: 'user:inference user:profile',
      organization_uuid: 'org-uuid',
      organization_name: 'Example Org',
      account_uuid: 'acct-uuid',
      account_email: 'user@example.com',
    });
  });

  it('overwrites atomically, leaving no temporary file behind', async () => {
    const path = join(dir, 'tokens.json');
    const store = new TokenStorage(path);
    await store.save(TOKENS);
    await store.save(NEWER);
    await expect(store.load()).resolves.toEqual(NEWER);
    expect(await fs.readdir(dir)).toEqual(['tokens.json']);
  });

  it('survives concurrent saves with one complete login and no temporary files', async () => {
    const store = new TokenStorage(join(dir, 'tokens.json'));
    const logins = Array.from({ length: 10 }, (_, i) => ({ ...TOKENS, accessToken: `sk-ant-oat01-${i}` }));
    await Promise.all(logins.map((tokens) => store.save(tokens)));
    const loaded = await store.load();
    expect(logins).toContainEqual(loaded);
    expect(await fs.readdir(dir)).toEqual(['tokens.json']);
  });

  it.each([
    ['empty', ''],
    ['whitespace only', '  \n'],
    ['truncated JSON', '{"type":"oauth_token","access_token":"sk-ant-oat01-SECRETACCESS'],
    ['not JSON', 'access_token=sk-ant-oat01-SECRETACCESS'],
    ['null', 'null'],
    ['an array', '["sk-ant-oat01-SECRETACCESS"]'],
    ['a number access_token', '{"type":"oauth_token","access_token":12345}'],
    ['a string expires_at', '{"access_token":"sk-ant-oat01-SECRETACCESS","expires_at":"soon"}'],
    ['a number refresh_token', '{"access_token":"sk-ant-oat01-SECRETACCESS","refresh_token":7}'],
    ['an unknown version', '{"version":"2.0","type":"oauth_token","access_token":"sk-ant-oat01-SECRETACCESS"}'],
  ])('loads %s contents as corrupt_file naming the path, not the contents', async (_label, text) => {
    const path = join(dir, 'tokens.json');
    await writeRaw(path, text);
    const err = await storageError(new TokenStorage(path).load());
    expect(err.code).toBe('corrupt_file');
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).not.toContain('SECRET');
    expect(err.message).not.toContain('12345');
    expect(JSON.stringify(err)).not.toContain('SECRET');
  });

  it('refuses a group/world-readable file with a chmod 600 hint', async () => {
    const path = join(dir, 'tokens.json');
    await new TokenStorage(path).save(TOKENS);
    await fs.chmod(path, 0o644);
    const err = await storageError(new TokenStorage(path).load());
    expect(err.code).toBe('permission_denied');
    expect(err.path).toBe(path);
    expect(err.message).toContain(`chmod 600 ${path}`);
    expect(err.message).toContain('0644');
    expect(err.message).not.toContain('SECRET');
    // Nothing was deleted because of it.
    await fs.chmod(path, 0o600);
    await expect(new TokenStorage(path).load()).resolves.toEqual(TOKENS);
  });

  it('refuses a directory at the token path with read_failed', async () => {
    const path = join(dir, 'tokens.json');
    await fs.mkdir(path, { mode: 0o700 });
    const err = await storageError(new TokenStorage(path).load());
    expect(err.code).toBe('read_failed');
    expect(err.message).toContain(path);
  });

  it('writes through a symlinked token file to its target; the link stays a link', async () => {
    const targetDir = join(dir, 'real');
    await fs.mkdir(targetDir, { mode: 0o700 });
    const target = join(targetDir, 'tokens.json');
    const link = join(dir, 'link.json');
    await new TokenStorage(target).save(TOKENS);
    await fs.symlink(target, link);

    const store = new TokenStorage(link);
    await expect(store.load()).resolves.toEqual(TOKENS);
    await store.save(NEWER);

    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    expect(await fs.readlink(link)).toBe(target);
    await expect(new TokenStorage(target).load()).resolves.toEqual(NEWER);
    expect(await mode(target)).toBe(0o600);
    expect((await fs.readdir(targetDir)).sort()).toEqual(['tokens.json']);
    expect((await fs.readdir(dir)).sort()).toEqual(['link.json', 'real']);
  });

  it('writes through a dangling relative symlink to where it points', async () => {
    await fs.mkdir(join(dir, 'real'), { mode: 0o700 });
    const link = join(dir, 'link.json');
    await fs.symlink('real/tokens.json', link);
    await new TokenStorage(link).save(TOKENS);
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    await expect(new TokenStorage(join(dir, 'real', 'tokens.json')).load()).resolves.toEqual(TOKENS);
  });

  it('saveSync (the exit guard’s save) writes the same file the same way: 0600, through a symlink, no temp file', async () => {
    const targetDir = join(dir, 'real');
    const target = join(targetDir, 'tokens.json');
    const link = join(dir, 'link.json');
    await fs.symlink('real/tokens.json', link);
    const store = new TokenStorage(link);
    store.saveSync(TOKENS);
    await expect(store.load()).resolves.toEqual(TOKENS);
    store.saveSync(NEWER);
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    await expect(new TokenStorage(target).load()).resolves.toEqual(NEWER);
    expect(await mode(target)).toBe(0o600);
    expect(await fs.readdir(targetDir)).toEqual(['tokens.json']);
  });

  it('fails a save into a read-only directory, keeping the stored login and leaving no temp file', async () => {
    const roDir = join(dir, 'ro');
    await fs.mkdir(roDir, { mode: 0o700 });
    const path = join(roDir, 'tokens.json');
    const store = new TokenStorage(path);
    await store.save(TOKENS);
    await fs.chmod(roDir, 0o555);

    let failure: Promise<unknown>;
    if (isRoot) {
      // Permission bits do not bind root: do the save as an unprivileged effective user so the
      // read-only directory really refuses the write. The real uid stays 0, so this is undone below.
      await fs.chmod(dir, 0o755);
      process.seteuid?.(65534);
      try {
        failure = store.save(NEWER);
        await failure.catch(() => {});
      } finally {
        process.seteuid?.(0);
      }
    } else {
      failure = store.save(NEWER);
    }
    const err = await storageError(failure);
    expect(process.geteuid?.()).toBe(process.getuid?.());
    expect(err.code).toBe('permission_denied');
    expect(err.path).toBe(path);
    expect(err.message).toContain(roDir);
    expect(err.message).not.toContain('SECRET');
    await expect(store.load()).resolves.toEqual(TOKENS);
    expect(await fs.readdir(roDir)).toEqual(['tokens.json']);
  });

  it('fails a save whose parent path is a regular file, leaving nothing behind', async () => {
    const blocker = join(dir, 'blocker');
    await writeRaw(blocker, 'not a directory');
    const path = join(blocker, 'tokens.json');
    const err = await storageError(new TokenStorage(path).save(TOKENS));
    expect(err.code).toBe('write_failed');
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).not.toContain('SECRET');
    expect(await fs.readFile(blocker, 'utf8')).toBe('not a directory');
    expect(await fs.readdir(dir)).toEqual(['blocker']);
  });

  it('resolves a relative path against the working directory', () => {
    expect(new TokenStorage('relative/tokens.json').path).toBe(resolve('relative/tokens.json'));
  });

  it('is a TokenStore', () => {
    expect(isTokenStore(new TokenStorage(join(dir, 't.json')))).toBe(true);
    expect(isTokenStore(new MemoryTokenStore())).toBe(true);
    expect(isTokenStore({ load() {}, save() {} })).toBe(false);
    expect(isTokenStore(null)).toBe(false);
  });
});

describe('defaultTokenPath', () => {
  it('defaults to ~/.anthropic/oauth_tokens.json', () => {
    expect(defaultTokenPath({})).toBe(join(homedir(), '.anthropic', 'oauth_tokens.json'));
    expect(defaultTokenPath({ ANTHROPIC_OAUTH_TOKEN_FILE: '  ' })).toBe(
      join(homedir(), '.anthropic', 'oauth_tokens.json'),
    );
  });

  it('honours ANTHROPIC_OAUTH_TOKEN_FILE', () => {
    expect(ENV_TOKEN_FILE).toBe('ANTHROPIC_OAUTH_TOKEN_FILE');
    expect(defaultTokenPath({ ANTHROPIC_OAUTH_TOKEN_FILE: '/x/y.json' })).toBe('/x/y.json');
    expect(defaultTokenPath({ ANTHROPIC_OAUTH_TOKEN_FILE: 'rel/y.json' })).toBe(resolve('rel/y.json'));
  });
});

describe('MemoryTokenStore', () => {
  it('round-trips and clears', async () => {
    const store = new MemoryTokenStore();
    await expect(store.load()).resolves.toBeNull();
    await store.save(TOKENS);
    await expect(store.load()).resolves.toEqual(TOKENS);
    await store.clear();
    await expect(store.load()).resolves.toBeNull();
  });

  it('starts with the tokens it is given', async () => {
    await expect(new MemoryTokenStore(TOKENS).load()).resolves.toEqual(TOKENS);
  });

  it('returns copies: mutating a loaded login does not change the store', async () => {
    const store = new MemoryTokenStore();
    await store.save(structuredClone(TOKENS));
    const loaded = await store.load();
    if (!loaded?.organization || !loaded.account) throw new Error('expected a full login');
    loaded.accessToken = 'changed';
    loaded.organization.name = 'changed';
    loaded.account.emailAddress = 'changed';
    await expect(store.load()).resolves.toEqual(TOKENS);
    expect(TOKENS.organization?.name).toBe('Example Org');
  });

  it('keeps its own copy: mutating the saved object afterwards does not change the store', async () => {
    const mine: OAuthTokens = structuredClone(TOKENS);
    const store = new MemoryTokenStore(mine);
    mine.refreshToken = 'changed';
    if (mine.organization) mine.organization.uuid = 'changed';
    await expect(store.load()).resolves.toEqual(TOKENS);

    const saved: OAuthTokens = structuredClone(TOKENS);
    await store.save(saved);
    if (saved.account) saved.account.uuid = 'changed';
    await expect(store.load()).resolves.toEqual(TOKENS);
  });

  it('never shows the token when inspected or serialised', async () => {
    const store = new MemoryTokenStore(TOKENS);
    expect(inspect(store)).toBe('MemoryTokenStore { logged in }');
    expect(inspect(store, { showHidden: true, depth: 5 })).not.toContain('SECRET');
    expect(JSON.stringify(store)).not.toContain('SECRET');
    expect(`${String(store)}`).not.toContain('SECRET');
    await store.clear();
    expect(inspect(store)).toBe('MemoryTokenStore { empty }');
  });
});

describe('TokenStorage: writers killed mid-write', () => {
  it('the next save removes temporary files of dead processes, never those of live ones', async () => {
    const path = join(dir, 'login.json');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const orphan = join(dir, `.login.json.${dead}.0a1b2c3d4e5f.tmp`);
    const live = join(dir, `.login.json.${process.ppid}.0a1b2c3d4e5f.tmp`);
    const unrelated = join(dir, `.other.json.${dead}.0a1b2c3d4e5f.tmp`);
    for (const file of [orphan, live, unrelated]) await fs.writeFile(file, '{"partial":');
    await new TokenStorage(path).save(TOKENS);
    const names = await fs.readdir(dir);
    expect(names).not.toContain(`.login.json.${dead}.0a1b2c3d4e5f.tmp`);
    expect(names).toEqual(
      expect.arrayContaining([`.login.json.${process.ppid}.0a1b2c3d4e5f.tmp`, `.other.json.${dead}.0a1b2c3d4e5f.tmp`]),
    );
    expect((await new TokenStorage(path).load())?.accessToken).toBe(TOKENS.accessToken);
  });
});

describe('TokenStorage: lock', () => {
  it('runs one holder at a time, also across instances, and releases on errors', async () => {
    const path = join(dir, 'login.json');
    const order: string[] = [];
    const hold = (name: string, fail = false) =>
      new TokenStorage(path).lock(async () => {
        order.push(`${name}:in`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name}:out`);
        if (fail) throw new Error('boom');
      });
    const results = await Promise.allSettled([hold('a', true), hold('b'), hold('c')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]?.replace(':in', ':out'));
    await expect(fs.stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives up after about 15 s on a lock that another holder keeps alive: lock_timeout naming the lock', async () => {
    const path = join(dir, 'login.json');
    const lockDir = `${path}.lock`;
    await fs.mkdir(lockDir);
    // A live holder refreshes the lock's mtime (proper-lockfile does it every second).
    const touch = setInterval(() => {
      const now = new Date();
      void fs.utimes(lockDir, now, now).catch(() => {});
    }, 500);
    const started = Date.now();
    let ran = false;
    try {
      const error = await new TokenStorage(path)
        .lock(async () => {
          ran = true;
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenStorageError);
      expect(error).toMatchObject({ code: 'lock_timeout' });
      expect((error as Error).message).toContain(lockDir);
      // Someone may be holding it: the message never says to delete it.
      expect((error as Error).message).not.toMatch(/delete|remove|rm /i);
    } finally {
      clearInterval(touch);
    }
    expect(ran).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(14_000);
    await expect(fs.stat(lockDir)).resolves.toBeDefined(); // someone else's lock is left alone
  }, 30_000);

  it('ends a wait early with what whileWaiting finds, without running fn, while the holder still holds it', async () => {
    const path = join(dir, 'login.json');
    let holderSaved = false;
    let releaseHolder: () => void = () => {};
    const holder = new TokenStorage(path).lock(async () => {
      await new Promise<void>((resolve) => {
        releaseHolder = resolve;
      });
      return 'holder';
    });
    await new Promise((r) => setTimeout(r, 50)); // the holder has the lock
    let checks = 0;
    const waiter = new TokenStorage(path).lock(
      async () => 'ran fn',
      async () => {
        checks++;
        return holderSaved ? 'found' : undefined;
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(checks).toBeGreaterThan(0);
    holderSaved = true;
    await expect(waiter).resolves.toBe('found');
    await expect(fs.stat(`${path}.lock`)).resolves.toBeDefined(); // still held
    releaseHolder();
    await expect(holder).resolves.toBe('holder');
    await expect(fs.stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('TokenStorage: the lock records its holder', () => {
  it('in the lock directory while held, and the lock is still released after a hold longer than its 1 s refreshes', async () => {
    const path = join(dir, 'login.json');
    const owner = await new TokenStorage(path).lock(async () => {
      const record = JSON.parse(await fs.readFile(join(`${path}.lock`, 'owner.json'), 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return record;
    });
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(fs.stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('TokenStorage: the lock cannot be created', () => {
  it.each([
    ['a file', (lock: string) => fs.writeFile(lock, 'not a lock')],
    ['a symbolic link', (lock: string) => fs.symlink('/nonexistent', lock)],
  ])('%s in its place: lock_unavailable at once, naming it as removable, and fn never runs', async (_what, plant) => {
    const path = join(dir, 'login.json');
    await plant(`${path}.lock`);
    let ran = false;
    // Called between attempts to take a held lock: never, when the lock is refused at once.
    let waits = 0;
    const error = await storageError(
      new TokenStorage(path).lock(
        async () => {
          ran = true;
        },
        async () => {
          waits++;
          return undefined;
        },
      ),
    );
    expect(error.code).toBe('lock_unavailable');
    expect(error.message).toContain(`\`rm ${path}.lock\``);
    expect(error.message).toContain('no process holds it');
    expect(ran).toBe(false);
    expect(waits).toBe(0);
  });
});

describe('TokenStorage: logout of a symlinked token file', () => {
  it('clear() removes the login the link points to; the link stays, and the next save goes there again', async () => {
    const target = join(dir, 'real.json');
    const link = join(dir, 'link.json');
    await new TokenStorage(target).save(TOKENS);
    await fs.symlink(target, link);
    const store = new TokenStorage(link);
    await store.clear();
    await expect(fs.stat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    await expect(store.load()).resolves.toBeNull();
    await store.save(NEWER);
    await expect(new TokenStorage(target).load()).resolves.toEqual(NEWER);
  });

  it.each([
    ['a file that is not a token file', async (target: string) => fs.writeFile(target, 'precious\n')],
    ['a directory', async (target: string) => fs.mkdir(target)],
  ])('clear() leaves %s behind a link alone, with an error saying so', async (_what, make) => {
    const target = join(dir, 'other');
    const link = join(dir, 'link.json');
    await make(target);
    await fs.symlink(target, link);
    const error = await storageError(new TokenStorage(link).clear());
    expect(error.message).toContain(`${link} is a symbolic link to ${target}`);
    expect(error.message).toContain(`rm ${link}`);
    await expect(fs.stat(target)).resolves.toBeDefined();
  });
});

describe('TokenStorage: a login it could not give back is not written', () => {
  it.each([
    [
      'an expiry in milliseconds',
      { expiresAt: Date.now() + 3_600_000 },
      /tokens\.expiresAt is too large for epoch seconds/,
    ],
    ['an access token with a line break', { accessToken: 'sk-ant-oat01-abc\nX' }, /tokens\.accessToken is not a token/],
  ])('%s: invalid_config naming the field, and the file keeps the login it held', async (_what, change, message) => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const before = await fs.readFile(path, 'utf8');
    const error = await new TokenStorage(path).save({ ...TOKENS, ...change }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'OAuthFlowError', code: 'invalid_config', message });
    expect(await fs.readFile(path, 'utf8')).toBe(before);
    await expect(new TokenStorage(path).load()).resolves.toEqual(TOKENS);
  });
});

describe('TokenStorage: a renewed login not yet in the file', () => {
  /** What a process killed between writing its renewed login and renaming it leaves behind. */
  async function deadJournal(path: string, current: OAuthTokens | null, renewed: OAuthTokens): Promise<string> {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const journal = join(dir, `.${path.split('/').pop()}.${dead}.0a1b2c3d4e5f.tmp`);
    await writeRaw(journal, pendingJson(renewed, nextLineage(current, undefined), path));
    return journal;
  }

  it('load() prefers it while the file holds the login it replaced; the next save removes it', async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const journal = await deadJournal(path, TOKENS, NEWER);
    await expect(new TokenStorage(path).load()).resolves.toEqual(NEWER);
    const newest = { ...NEWER, accessToken: 'sk-ant-oat01-NEWEST' };
    await new TokenStorage(path).save(newest);
    await expect(fs.stat(journal)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(new TokenStorage(path).load()).resolves.toEqual(newest);
  });

  it('is found when its writer reached the file by another path (a bind mount, a container)', async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const journal = join(dir, `.login.json.${dead}.0a1b2c3d4e5f.tmp`);
    await writeRaw(journal, pendingJson(NEWER, nextLineage(TOKENS, undefined), '/mnt/host/home/.anthropic/login.json'));
    await expect(new TokenStorage(path).load()).resolves.toEqual(NEWER);
  });

  it("is found when its pid is this process's own: a container's earlier run often had the same pid", async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const journal = join(dir, `.login.json.${process.pid}.0a1b2c3d4e5f.tmp`);
    await writeRaw(journal, pendingJson(NEWER, nextLineage(TOKENS, undefined), path));
    // Passing over it would hand out TOKENS, whose refresh token the dead run spent.
    const loaded = await new TokenStorage(path).loadDetailed();
    expect(loaded?.tokens).toEqual(NEWER);
    expect(loaded?.recoveredFrom).toBe(journal);
  });

  it('is ignored once the file holds another login (a new login) and after a logout; refused with the chmod to run when others can read it', async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const journal = await deadJournal(path, TOKENS, NEWER);
    const other = { ...TOKENS, accessToken: 'sk-ant-oat01-OTHER', refreshToken: 'sk-ant-ort01-OTHER' };
    await fs.writeFile(path, JSON.stringify({ access_token: other.accessToken, refresh_token: other.refreshToken }), {
      mode: 0o600,
    });
    expect((await new TokenStorage(path).load())?.accessToken).toBe(other.accessToken);
    await fs.writeFile(path, JSON.stringify({ access_token: TOKENS.accessToken, refresh_token: TOKENS.refreshToken }));
    // Passing over it would hand out the login it replaced (whose refresh token is spent): refused.
    await fs.chmod(journal, 0o644);
    const refused = await new TokenStorage(path).load().then(
      () => null,
      (error: unknown) => error as TokenStorageError,
    );
    expect(refused).toMatchObject({ name: 'TokenStorageError', code: 'permission_denied', path: journal });
    expect(refused?.message).toContain(`is accessible to other users (mode 0644)`);
    expect(refused?.message).toContain(`run \`chmod 600 ${journal}\` and try again`);
    await fs.chmod(journal, 0o600);
    expect((await new TokenStorage(path).load())?.accessToken).toBe(NEWER.accessToken);
    await new TokenStorage(path).clear();
    await expect(new TokenStorage(path).load()).resolves.toBeNull();
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('a copy others can read is refused only when it is the one that would be used, not when a newer copy wins', async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const older = await deadJournal(path, TOKENS, NEWER);
    await fs.chmod(older, 0o644);
    const newest = { ...NEWER, accessToken: 'sk-ant-oat01-NEWEST', refreshToken: 'sk-ant-ort01-NEWEST' };
    // Generation 2: it replaces the login in the file and the older journal's.
    const lineage = { replaces: [lineageKey(TOKENS), lineageKey(NEWER)], generation: 2 };
    const journal = older.replace('.0a1b2c3d4e5f.tmp', '.0a1b2c3d4e60.tmp');
    await writeRaw(journal, pendingJson(newest, lineage, path));
    // The 0644 journal holds a spent token: passed over for the newer one, in either order of reading.
    expect((await new TokenStorage(path).load())?.accessToken).toBe(newest.accessToken);
    await fs.chmod(older, 0o600);
    await fs.chmod(journal, 0o644);
    const refused = await new TokenStorage(path).load().then(
      () => null,
      (error: unknown) => error as TokenStorageError,
    );
    expect(refused).toMatchObject({ code: 'permission_denied', path: journal });
  });

  it('names the login in a file by a hash of its refresh token, never the token', () => {
    const key = lineageKey(TOKENS);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(key).not.toContain('SECRET');
    expect(lineageKey(null)).toBe('none');
    expect(pendingJson(NEWER, nextLineage(TOKENS, undefined), '/x')).not.toContain(TOKENS.refreshToken);
  });
});

describe('TokenStorage: prepareSave', () => {
  it('reserves the save beside the file without changing it; commit replaces the file, discard leaves it', async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const before = await fs.readFile(path, 'utf8');
    const store = new TokenStorage(path);
    const discarded = await store.prepareSave();
    const reserved = (await fs.readdir(dir)).filter((name) => name.endsWith('.tmp'));
    expect(reserved).toHaveLength(1);
    expect((await fs.stat(join(dir, reserved[0] ?? ''))).size).toBeGreaterThanOrEqual(4096);
    expect(await mode(join(dir, reserved[0] ?? ''))).toBe(0o600);
    expect(await fs.readFile(path, 'utf8')).toBe(before);
    await discarded.discard();
    expect(await fs.readdir(dir)).toEqual(['login.json']);
    const prepared = await store.prepareSave();
    await expect(prepared.commit(NEWER)).resolves.toBe(true);
    await expect(store.load()).resolves.toEqual(NEWER);
    expect(await fs.readdir(dir)).toEqual(['login.json']);
    expect(await mode(path)).toBe(0o600);
  });

  it('commit writes nothing when the file changed since it was prepared (compare and swap)', async () => {
    const path = join(dir, 'login.json');
    await new TokenStorage(path).save(TOKENS);
    const prepared = await new TokenStorage(path).prepareSave();
    const other = { ...TOKENS, accessToken: 'sk-ant-oat01-OTHER', refreshToken: 'sk-ant-ort01-OTHER' };
    await new TokenStorage(path).save(other);
    await expect(prepared.commit(NEWER)).resolves.toBe(false);
    await expect(new TokenStorage(path).load()).resolves.toEqual(other);
    await new TokenStorage(path).clear();
    const afterLogout = await new TokenStorage(path).prepareSave();
    await expect(afterLogout.commit(NEWER)).resolves.toBe(true); // prepared on an empty store: saves
    const prepared2 = await new TokenStorage(path).prepareSave();
    await new TokenStorage(path).clear();
    await expect(prepared2.commit(TOKENS)).resolves.toBe(false); // logged out meanwhile: nothing written
    await expect(new TokenStorage(path).load()).resolves.toBeNull();
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

describe('TokenStorage: whose lock it is', () => {
  /** A lock directory recorded as held by `owner`, with a fresh mtime (not stale by its age). */
  async function plantLock(path: string, owner: Record<string, unknown>): Promise<string> {
    const lockDir = `${path}.lock`;
    await fs.mkdir(lockDir);
    await fs.writeFile(
      join(lockDir, 'owner.json'),
      JSON.stringify({ host: hostname(), since: Date.now(), nonce: 'x', ...owner }),
    );
    return lockDir;
  }
  const ownNamespace = () => readlinkSync('/proc/self/ns/pid');

  it('a recorded pid now used by another process (its start time differs) is a dead holder: taken over at once', async () => {
    const other = spawn('sleep', ['30']);
    try {
      const path = join(dir, 'login.json');
      await plantLock(path, { pid: other.pid, start: 'not-its-start-time', ns: ownNamespace() });
      await expect(new TokenStorage(path).lock(async () => 'ran')).resolves.toBe('ran');
    } finally {
      other.kill();
    }
  });

  it('a holder recorded in another pid namespace (a container with the same host name) is not judged by our pids', async () => {
    const path = join(dir, 'login.json');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await plantLock(path, { pid: dead, start: null, ns: 'pid:[1]' });
    const error = await storageError(withFileLock(path, async () => 'ran', undefined, { waitMs: 1_000 }));
    expect(error.code).toBe('lock_timeout');
    expect(error.message).toContain(`A process on ${hostname()} (pid ${dead}) holds the lock`);
    expect(error.message).not.toMatch(/delete|remove|rm /i);
  });
});

describe('the TokenStore contract', () => {
  const tempDirs = () => {
    const made: string[] = [];
    return {
      async make(): Promise<string> {
        const path = await fs.mkdtemp(join(tmpdir(), 'anthropic-oauth-contract-'));
        made.push(path);
        return path;
      },
      async cleanup(): Promise<void> {
        for (const path of made.splice(0)) await fs.rm(path, { recursive: true, force: true });
      },
    };
  };

  const files = tempDirs();
  storeContract('TokenStorage', { lock: true, prepareSave: true, saveSync: true }, async () => {
    const path = join(await files.make(), 'login.json');
    return { open: () => new TokenStorage(path), cleanup: () => files.cleanup() };
  });

  storeContract('MemoryTokenStore', { lock: true, prepareSave: false, saveSync: false }, async () => {
    const store = new MemoryTokenStore();
    return { open: () => store };
  });

  /** A keychain in memory: the OS keychain's part, with the store's own logic around it. */
  const homes = tempDirs();
  storeContract(
    'KeychainTokenStore (in-memory backend)',
    { lock: true, prepareSave: true, saveSync: false },
    async () => {
      const entries = new Map<string, string>();
      const id = (entry: KeychainEntry) => `${entry.service}/${entry.account}`;
      const backend: KeychainBackend = {
        get: async (entry) => ({ ok: true, value: entries.get(id(entry)) ?? null }),
        set: async (entry, secret) => {
          entries.set(id(entry), secret);
          return { ok: true, value: undefined };
        },
        delete: async (entry) => ({ ok: true, value: entries.delete(id(entry)) }),
      };
      // Its lock is a file in ~/.anthropic: a home of its own.
      const restore = snapshotEnv();
      process.env.HOME = await homes.make();
      const open = () => new KeychainTokenStore({ backend, account: 'contract' });
      open();
      return {
        open,
        cleanup: async () => {
          restore();
          await homes.cleanup();
        },
      };
    },
  );
});
