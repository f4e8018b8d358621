/**
 * `TokenStorage.load()` against paths that are not a login (issue 10 item 7) and hostile contents:
 * real FIFOs, sockets, devices, directories and sparse files in a temporary directory. Each gives a
 * typed error at once, with advice that is safe to follow, and leaves the path as it was.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenStorageError } from '../src/errors.js';
import { toStoredCredentials } from '../src/oauth-tokens.js';
import { TokenStorage } from '../src/store/file.js';
import type { OAuthTokens } from '../src/types.js';

const TOKENS: OAuthTokens = {
  accessToken: 'sk-ant-oat01-SECRETACCESS',
  refreshToken: 'sk-ant-ort01-SECRETREFRESH',
  expiresAt: 1_764_000_000,
  tokenType: 'Bearer',
  scope: 'user:inference',
};

let dir: string;
let servers: Server[];

beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'anthropic-oauth-load-'));
  servers = [];
});
afterEach(async () => {
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  await fs.rm(dir, { recursive: true, force: true });
});

/** The outcome of `load()`, or `'hung'` when it has not settled after 3 s (a FIFO open blocks forever). */
async function loadOrHang(path: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), 3000);
  });
  try {
    return await Promise.race([
      new TokenStorage(path).load().then(
        (value) => ({ value }),
        (error: unknown) => error,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function expectNotAFile(outcome: unknown, path: string, kind: string): void {
  expect(outcome).toBeInstanceOf(TokenStorageError);
  const error = outcome as TokenStorageError;
  expect(error.code).toBe('read_failed');
  expect(error.path).toBe(path);
  expect(error.message).toBe(
    `The token file ${path} is ${kind}, not a regular file, so no login can be read from it. Check the path (--storage, ANTHROPIC_OAUTH_TOKEN_FILE); nothing was changed.`,
  );
  // The old advice, `chmod 600 <path>`, would have changed a directory or a device.
  expect(error.message).not.toContain('chmod');
}

const mkfifo = (path: string): void => {
  execFileSync('mkfifo', ['-m', '600', path]);
};

describe('TokenStorage.load(): paths that are not a regular file', () => {
  it('a FIFO: read_failed at once, not a hang', async () => {
    const path = join(dir, 'tokens.json');
    mkfifo(path);
    expectNotAFile(await loadOrHang(path), path, 'a named pipe (FIFO)');
    expect((await fs.lstat(path)).isFIFO()).toBe(true);
  });

  it('a symlink to a FIFO: the same', async () => {
    const fifo = join(dir, 'pipe');
    mkfifo(fifo);
    const path = join(dir, 'tokens.json');
    await fs.symlink(fifo, path);
    expectNotAFile(await loadOrHang(path), path, 'a named pipe (FIFO)');
  });

  it('a directory that others can read: no chmod advice, the mode is left alone', async () => {
    const path = join(dir, 'tokens.json');
    await fs.mkdir(path, { mode: 0o755 });
    await fs.chmod(path, 0o755);
    expectNotAFile(await loadOrHang(path), path, 'a directory');
    expect((await fs.stat(path)).mode & 0o777).toBe(0o755);
  });

  it('/dev/null, and a symlink to it: a device, no chmod advice', async () => {
    expectNotAFile(await loadOrHang('/dev/null'), '/dev/null', 'a device');
    const path = join(dir, 'tokens.json');
    await fs.symlink('/dev/null', path);
    expectNotAFile(await loadOrHang(path), path, 'a device');
    expect((await fs.stat('/dev/null')).mode & 0o777).toBe(0o666);
  });

  it('/dev/zero (endless): refused before any read', async () => {
    expectNotAFile(await loadOrHang('/dev/zero'), '/dev/zero', 'a device');
  });

  it('a Unix socket', async () => {
    const path = join(dir, 'tokens.json');
    const server = createServer();
    servers.push(server);
    await new Promise<void>((done) => server.listen(path, done));
    expectNotAFile(await loadOrHang(path), path, 'a socket');
  });
});

describe('TokenStorage.load(): hostile contents', () => {
  const write = async (text: string | Buffer): Promise<string> => {
    const path = join(dir, 'tokens.json');
    await fs.writeFile(path, text, { mode: 0o600 });
    return path;
  };

  it('a 2 GB sparse file: corrupt_file without reading it whole', async () => {
    const path = await write('');
    await fs.truncate(path, 2 ** 31);
    const outcome = await loadOrHang(path);
    expect(outcome).toBeInstanceOf(TokenStorageError);
    expect(outcome).toMatchObject({
      code: 'corrupt_file',
      message: `The token file ${path} is larger than 1 MiB, so it is not a login. Run \`npx anthropic-oauth login\` to replace it.`,
    });
    expect((await fs.stat(path)).size).toBe(2 ** 31);
  });

  it('a login padded to just under 1 MiB still loads; one byte more does not', async () => {
    const json = JSON.stringify(toStoredCredentials(TOKENS));
    const limit = 1 << 20;
    const path = await write(`${json}${' '.repeat(limit - json.length)}`);
    expect((await fs.stat(path)).size).toBe(limit);
    await expect(new TokenStorage(path).load()).resolves.toEqual(TOKENS);
    await fs.appendFile(path, ' ');
    await expect(new TokenStorage(path).load()).rejects.toMatchObject({ code: 'corrupt_file' });
  });

  it('a byte order mark before the JSON (Windows editors) is skipped', async () => {
    const path = await write(`\uFEFF${JSON.stringify(toStoredCredentials(TOKENS))}`);
    await expect(new TokenStorage(path).load()).resolves.toEqual(TOKENS);
  });

  it('extra fields and deeply nested garbage beside a login are ignored', async () => {
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const json = JSON.stringify({ ...toStoredCredentials(TOKENS), extra: 1, claudeAiOauth: { a: [1] } });
    const path = await write(`${json.slice(0, -1)},"deep":${nested}}`);
    await expect(new TokenStorage(path).load()).resolves.toEqual(TOKENS);
  });

  it.each([
    ['100 000 open brackets', '['.repeat(100_000)],
    ['NUL bytes', '\u0000'.repeat(64)],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x80, 0x7d])],
    ['a JSON string holding a token', '"sk-ant-oat01-SECRETACCESS"'],
    ['expires_at in milliseconds', '{"access_token":"sk-ant-oat01-SECRETACCESS","expires_at":1764000000000}'],
    ['expires_at 1e308', '{"access_token":"sk-ant-oat01-SECRETACCESS","expires_at":1e308}'],
    ['an access token with CR/LF', '{"access_token":"sk-ant-oat01-SECRETACCESS\\r\\nX: y"}'],
  ])('%s: corrupt_file naming the path, never the contents', async (_label, contents) => {
    const path = await write(contents);
    const outcome = await loadOrHang(path);
    expect(outcome).toBeInstanceOf(TokenStorageError);
    const error = outcome as TokenStorageError;
    expect(error).toMatchObject({ code: 'corrupt_file', path });
    expect(error.message).toContain('Run `npx anthropic-oauth login` to replace it.');
    expect(`${error.message}${error.stack}${JSON.stringify(error)}`).not.toContain('SECRET');
    expect(await fs.readFile(path)).toEqual(Buffer.isBuffer(contents) ? contents : Buffer.from(contents));
  });
});
