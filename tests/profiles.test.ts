/**
 * Profiles in the library: `tokenPathForProfile`, `listProfiles`, and the token source's `profile`
 * option and `ANTHROPIC_OAUTH_PROFILE`. HOME is a temporary directory.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCommandLine } from '../src/cli/args.js';
import {
  defaultTokenPath,
  listProfiles,
  MemoryTokenStore,
  OAuthFlowError,
  TokenStorage,
  tokenPathForProfile,
} from '../src/index.js';
import { createTokenSource } from '../src/provider.js';
import { type Emulator, startEmulator } from '../src/testing/index.js';
import { makeTempDir, nowSeconds, tokenRequests, tokensOf } from './helpers/fixtures.js';

let emu: Emulator;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let home: string;

beforeEach(async () => {
  emu = await startEmulator();
  temp = await makeTempDir();
  home = temp.dir;
  vi.stubEnv('HOME', home);
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await emu.close();
  await temp.cleanup();
});

const defaultFile = () => join(home, '.anthropic', 'oauth_tokens.json');
const profileFile = (name: string) => join(home, '.anthropic', 'profiles', `${name}.json`);

const source = (options: Parameters<typeof createTokenSource>[0] = {}) =>
  createTokenSource({ oauthConfig: emu.oauthConfig, env: {}, ...options });

async function saveLogin(path: string, overrides = {}) {
  const tokens = tokensOf(emu.issueTokens(), overrides);
  await new TokenStorage(path).save(tokens);
  return tokens;
}

describe('tokenPathForProfile', () => {
  it('keeps the default path for no profile and `default`, ANTHROPIC_OAUTH_TOKEN_FILE included', () => {
    expect(tokenPathForProfile()).toBe(defaultFile());
    expect(tokenPathForProfile(undefined, {})).toBe(defaultFile());
    expect(tokenPathForProfile('default', {})).toBe(defaultTokenPath({}));
    const env = { ANTHROPIC_OAUTH_TOKEN_FILE: join(home, 'custom.json') };
    expect(tokenPathForProfile(undefined, env)).toBe(join(home, 'custom.json'));
    expect(tokenPathForProfile('default', env)).toBe(join(home, 'custom.json'));
  });

  it('puts a named profile in ~/.anthropic/profiles/<name>.json, whatever ANTHROPIC_OAUTH_TOKEN_FILE says', () => {
    expect(tokenPathForProfile('work', {})).toBe(profileFile('work'));
    expect(tokenPathForProfile('a.b_c-1', { ANTHROPIC_OAUTH_TOKEN_FILE: '/elsewhere.json' })).toBe(
      profileFile('a.b_c-1'),
    );
    expect(tokenPathForProfile('x'.repeat(64), {})).toBe(profileFile('x'.repeat(64)));
  });

  it('refuses names that are not 1-64 of A-Z a-z 0-9 _ . - (or are . or ..) with invalid_config', () => {
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\\b', 'with space', 'é', 'x'.repeat(65)]) {
      let caught: unknown;
      try {
        tokenPathForProfile(name, {});
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(OAuthFlowError);
      expect(caught).toMatchObject({ code: 'invalid_config' });
      expect((caught as Error).message).toMatch(/use 1 to 64 letters, digits, `_`, `\.` or `-` \(not `\.` or `\.\.`\)/);
    }
  });

  it('the CLI takes exactly the names the library takes, and a listing shows only those', async () => {
    const names = [
      'a',
      'A.b_c-1',
      'x'.repeat(64),
      '...',
      '.a',
      '',
      '.',
      '..',
      'a/b',
      'with space',
      'é',
      'x'.repeat(65),
    ];
    const library = (name: string) => {
      try {
        tokenPathForProfile(name, {});
        return true;
      } catch {
        return false;
      }
    };
    const cli = (name: string) => {
      try {
        parseCommandLine(['status', '--profile', name]);
        return true;
      } catch {
        return false;
      }
    };
    expect(names.filter(cli)).toEqual(names.filter(library));
    expect(names.filter(library)).toEqual(['a', 'A.b_c-1', 'x'.repeat(64), '...', '.a']);
    const dir = join(home, '.anthropic', 'profiles');
    await mkdir(dir, { recursive: true });
    for (const name of ['.a', '...', 'with space', 'x'.repeat(65)]) await writeFile(join(dir, `${name}.json`), '{}');
    expect((await listProfiles({})).map((profile) => profile.name)).toEqual(['...', '.a']);
  });
});

describe('listProfiles', () => {
  it('is empty with no login at all', async () => {
    expect(await listProfiles({})).toEqual([]);
  });

  it('lists the default file when it exists, then each valid profile file, sorted', async () => {
    await saveLogin(profileFile('zeta'));
    await saveLogin(profileFile('alpha'));
    const dir = join(home, '.anthropic', 'profiles');
    await writeFile(join(dir, 'notes.txt'), 'x');
    await writeFile(join(dir, 'bad name.json'), '{}');
    await writeFile(join(dir, 'default.json'), '{}');
    expect(await listProfiles({})).toEqual([
      { name: 'alpha', path: profileFile('alpha') },
      { name: 'zeta', path: profileFile('zeta') },
    ]);
    await saveLogin(defaultFile());
    expect((await listProfiles({})).map((p) => p.name)).toEqual(['default', 'alpha', 'zeta']);
    expect((await listProfiles({}))[0]).toEqual({ name: 'default', path: defaultFile() });
  });

  it('follows ANTHROPIC_OAUTH_TOKEN_FILE for the default profile', async () => {
    const custom = join(home, 'custom.json');
    await saveLogin(custom);
    expect(await listProfiles({ ANTHROPIC_OAUTH_TOKEN_FILE: custom })).toEqual([{ name: 'default', path: custom }]);
  });
});

describe('createTokenSource: profile', () => {
  it('reads the profile file instead of the default one, and saves rotated tokens there', async () => {
    const other = await saveLogin(defaultFile());
    const stale = await saveLogin(profileFile('work'), { expiresAt: nowSeconds() + 10 });
    const tokens = await source({ profile: 'work' }).getTokens();
    expect(tokenRequests(emu)).toHaveLength(1);
    expect(tokens.accessToken).not.toBe(stale.accessToken);
    expect((await new TokenStorage(profileFile('work')).load())?.accessToken).toBe(tokens.accessToken);
    // The default login is untouched.
    expect((await new TokenStorage(defaultFile()).load())?.accessToken).toBe(other.accessToken);
  });

  it('takes ANTHROPIC_OAUTH_PROFILE as the default, and the option wins over it', async () => {
    const work = await saveLogin(profileFile('work'));
    const home2 = await saveLogin(profileFile('home'));
    const env = { ANTHROPIC_OAUTH_PROFILE: 'work' };
    expect((await source({ env }).getTokens()).accessToken).toBe(work.accessToken);
    expect((await source({ env: { ANTHROPIC_OAUTH_PROFILE: ' work ' } }).getTokens()).accessToken).toBe(
      work.accessToken,
    );
    expect((await source({ env, profile: 'home' }).getTokens()).accessToken).toBe(home2.accessToken);
  });

  it('uses the default file for `default` and for an empty ANTHROPIC_OAUTH_PROFILE', async () => {
    const main = await saveLogin(defaultFile());
    expect((await source({ profile: 'default' }).getTokens()).accessToken).toBe(main.accessToken);
    expect((await source({ env: { ANTHROPIC_OAUTH_PROFILE: '' } }).getTokens()).accessToken).toBe(main.accessToken);
  });

  it('keeps the environment tokens first, and explicit tokens or storage as the only source', async () => {
    await saveLogin(profileFile('work'));
    const env = { ANTHROPIC_OAUTH_ACCESS_TOKEN: 'sk-ant-oat01-from-env', ANTHROPIC_OAUTH_PROFILE: 'work' };
    expect((await source({ env }).getTokens()).accessToken).toBe('sk-ant-oat01-from-env');
    expect((await source({ env: {}, profile: 'work' }).getTokens()).accessToken).not.toBe('sk-ant-oat01-from-env');

    const memory = tokensOf(emu.issueTokens());
    const store = new MemoryTokenStore(memory);
    expect((await source({ profile: 'work', tokenStorage: store }).getTokens()).accessToken).toBe(memory.accessToken);
    expect((await source({ profile: 'work', oauthTokens: memory }).getTokens()).accessToken).toBe(memory.accessToken);
  });

  it('is not logged in, naming the profile file, when that profile has no login', async () => {
    await saveLogin(defaultFile());
    await expect(source({ profile: 'empty' }).getTokens()).rejects.toMatchObject({
      code: 'not_logged_in',
      message: expect.stringContaining(profileFile('empty')),
    });
  });

  it('refuses an invalid profile: at once for the option, on first use for the variable', async () => {
    expect(() => source({ profile: '../escape' })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    const fromEnv = source({ env: { ANTHROPIC_OAUTH_PROFILE: '..' } });
    await expect(fromEnv.getTokens()).rejects.toMatchObject({ code: 'invalid_config' });
  });

  it('gives each profile its own lock, beside its file: holding one never blocks another', async () => {
    await saveLogin(profileFile('a'));
    const staleB = await saveLogin(profileFile('b'), { expiresAt: nowSeconds() + 10 });
    const a = source({ profile: 'a' });
    const b = source({ profile: 'b' });
    await a.getTokens();
    const storeA = a.store as TokenStorage;
    expect(storeA.path).toBe(profileFile('a'));
    // b refreshes under its own lock while a's is held.
    const refreshedB = await storeA.lock(() => b.getTokens());
    expect(refreshedB.accessToken).not.toBe(staleB.accessToken);
    expect((b.store as TokenStorage).path).toBe(profileFile('b'));
    expect(JSON.parse(await readFile(profileFile('b'), 'utf8')).access_token).toBe(refreshedB.accessToken);
  });
});
