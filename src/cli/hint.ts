/**
 * The exact `login` command that fixes the login a command was run on: `--profile`, `--store`,
 * `--allow-file-fallback` and `--storage` as the user gave them, shell-quoted. The library's
 * messages cannot know the CLI's flags, so they say `npx anthropic-oauth login` (`LOGIN_HINT`);
 * every line the CLI prints has that generic command replaced by this one (`exactHints`), so
 * following a hint logs in the profile or store that needs it, never the default one.
 */
import { PROGRAM } from './args.js';

export interface HintArgs {
  /** The profile in use (flag, else `ANTHROPIC_OAUTH_PROFILE`); `undefined` for the default one. */
  profile: string | undefined;
  store: 'file' | 'keychain' | 'redis';
  allowFileFallback: boolean;
  storage: string | undefined;
}

/** `value` as one word of a POSIX shell command line. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `npx anthropic-oauth login --profile work --store keychain`: the command, without backquotes. */
export function loginCommand(args: HintArgs | undefined): string {
  const words = ['npx', PROGRAM, 'login'];
  if (args?.storage !== undefined) words.push('--storage', shellQuote(args.storage));
  else if (args?.profile !== undefined) words.push('--profile', shellQuote(args.profile));
  if (args !== undefined && args.store !== 'file') words.push('--store', args.store);
  if (args?.allowFileFallback) words.push('--allow-file-fallback');
  return words.join(' ');
}

/** A backquoted `login` command in a message (the library's, or ours with or without `npx`). */
const GENERIC_LOGIN = new RegExp(`\`(?:npx )?${PROGRAM} login(?: --store keychain)?\``, 'g');

/** The library's `setup-token --save` (a long-lived login to make again), in backquotes. */
const GENERIC_SETUP_TOKEN = new RegExp(`\`(?:npx )?${PROGRAM} setup-token --save\``, 'g');
const LOGIN_WORD = ` ${PROGRAM} login`;

/**
 * `text` with every generic `login` command in backquotes replaced by `command`, and every generic
 * `setup-token --save` by the same command as `setup-token --save` (same profile, store, storage).
 */
export function exactHints(text: string, command: string): string {
  const replaced = text.replace(GENERIC_LOGIN, () => `\`${command}\``);
  if (!command.includes(LOGIN_WORD)) return replaced;
  const setupToken = command.replace(LOGIN_WORD, ` ${PROGRAM} setup-token --save`);
  return replaced.replace(GENERIC_SETUP_TOKEN, () => `\`${setupToken}\``);
}
