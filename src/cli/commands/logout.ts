/**
 * `logout`: deletes the login; idempotent. It runs under the store's lock, so a refresh in flight
 * in another process finishes first and then finds the store empty (`not_logged_in`) instead of
 * writing the login back. A token file that is a symlink loses its target's login (the link stays).
 * A login given by environment variables is not something a command can remove, so it is named
 * plainly instead. Removing a Console login (an API key) does not revoke the key: the message says
 * where it is revoked (the Console's keys page).
 */
import { realpath } from 'node:fs/promises';
import { CONSOLE_KEYS_URL } from '../../constants.js';
import { TokenStorageError } from '../../errors.js';
import { TokenStorage } from '../../store/file.js';
import { underLock } from '../../store/guard.js';
import { isApiKeyLogin, maskApiKey } from '../../stored-login.js';
import type { CliContext } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { envTokenVariable } from './common.js';
import type { Target } from './target.js';

/** A login a store holds but cannot give back: `logout` removes it. */
const UNREADABLE: ReadonlySet<string> = new Set(['permission_denied', 'corrupt_file', 'read_failed']);

export async function logout(ctx: CliContext, target: Target): Promise<ExitCode> {
  const { store, where } = target;
  // Where a symlinked token file points, before its login is removed.
  const real = target.path === undefined ? where : await realpath(target.path).catch(() => where);
  let key: string | undefined;
  const removed = await underLock(store, async () => {
    // A keychain entry has no `exists()`: reading it tells. A file may be unreadable and still there.
    // A login that cannot be read (not a login, encrypted with another key, a rescue copy refused for
    // its mode) is removed all the same: removing it is what the stores' messages say to do first.
    let refused = false;
    const login =
      store instanceof TokenStorage
        ? await store.load().catch(() => null)
        : await store.load().catch((error: unknown) => {
            if (!(error instanceof TokenStorageError && UNREADABLE.has(error.code))) throw error;
            refused = true;
            return null;
          });
    if (isApiKeyLogin(login)) key = login.apiKey;
    const present = login !== null || refused || (store instanceof TokenStorage && (await store.exists()));
    if (present) await store.clear();
    return present;
  });
  if (removed) {
    ctx.say(real === where ? `Logged out: removed ${where}` : `Logged out: removed ${real} (where ${where} points)`);
  } else {
    ctx.say(`Already logged out: there is no login at ${where}`);
  }
  if (key !== undefined) {
    ctx.say(
      `The API key ${maskApiKey(key)} stays valid until it is revoked: revoke it in the Console at ${CONSOLE_KEYS_URL}.`,
    );
  }
  const variable = envTokenVariable(ctx.env);
  if (variable) {
    ctx.say(`${variable} is still set in the environment: that login is not affected. Unset it to stop using it.`);
  }
  return EXIT.ok;
}
