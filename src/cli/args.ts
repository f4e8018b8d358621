/**
 * The command line, read with `node:util` `parseArgs`: `<command> [options]`, options before or
 * after the command. Every mistake is a `UsageError` (exit 2) naming the `--help` to read.
 * A usage error quotes what it refuses only when that is a short plain word: a token pasted on the
 * command line by mistake is shown masked (`sk-ant-oat01-…`), never whole.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { maskToken } from '../mask-token.js';
import { isProfileName } from '../store/profile-name.js';
import { EMULATOR_FAULTS, EMULATOR_PLANS, type EmulatorFaultName, isFaultName } from './emulator-faults.js';
import { UsageError } from './exit.js';

type EmulatorPlanName = (typeof EMULATOR_PLANS)[number];

export const PROGRAM = 'anthropic-oauth';

export const COMMANDS = ['login', 'status', 'token', 'logout', 'usage', 'setup-token', 'emulator'] as const;
export type Command = (typeof COMMANDS)[number];

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  storage: { type: 'string' },
  profile: { type: 'string' },
  store: { type: 'string' },
  'allow-file-fallback': { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
};

const BROWSER_LOGIN: Options = {
  port: { type: 'string' },
  'no-browser': { type: 'boolean' },
  manual: { type: 'boolean' },
  timeout: { type: 'string' },
};

const PER_COMMAND: Readonly<Record<Command, Options>> = {
  login: { ...BROWSER_LOGIN, console: { type: 'boolean' } },
  'setup-token': { ...BROWSER_LOGIN, save: { type: 'boolean' }, json: { type: 'boolean' } },
  status: { json: { type: 'boolean' }, offline: { type: 'boolean' } },
  token: { json: { type: 'boolean' } },
  logout: {},
  usage: { json: { type: 'boolean' } },
  emulator: {
    port: { type: 'string' },
    plan: { type: 'string' },
    'token-lifetime': { type: 'string' },
    fault: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
};

export const STORES = ['file', 'keychain', 'redis'] as const;
export type StoreKind = (typeof STORES)[number];

export interface EmulatorArgs {
  /** 0: a free port. */
  port: number;
  plan: EmulatorPlanName | undefined;
  /** Seconds an access token lives. */
  tokenLifetime: number | undefined;
  faults: EmulatorFaultName[];
}

export interface LoginArgs {
  port: number | undefined;
  browser: boolean;
  manual: boolean;
  timeoutMs: number;
  /** `login --console`: the Console login, which creates an API key. */
  console: boolean;
  /** `setup-token --save`: keep the long-lived token in the store too. */
  save: boolean;
}

export type Invocation =
  /** `missing`: no command was given at all (the help goes to stderr, exit 2). */
  | { kind: 'help'; command: Command | undefined; missing?: boolean }
  | { kind: 'version' }
  | {
      kind: 'run';
      command: Command;
      storage: string | undefined;
      /** `--profile NAME` (validated); `ANTHROPIC_OAUTH_PROFILE` is applied by the command. */
      profile: string | undefined;
      store: StoreKind;
      allowFileFallback: boolean;
      debug: boolean;
      json: boolean;
      /** `status --offline`: accepted for scripts; status makes no network call anyway. */
      offline: boolean;
      login: LoginArgs;
      emulator: EmulatorArgs;
    };

const DEFAULT_TIMEOUT_SECONDS = 300;
/** setTimeout's limit, about 24.8 days. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Words a usage error may quote as they are: a mistyped command or option, never a secret. */
const PLAIN_WORD = /^-{0,2}[A-Za-z][A-Za-z0-9_.-]{0,23}$/;

/** `value` as a usage error may show it: a short plain word as it is, anything else masked. */
export function shownArgument(value: string): string {
  if (PLAIN_WORD.test(value) && !/^-{0,2}sk-ant-/i.test(value)) return value;
  const masked = maskToken(value.replace(/^-+/, ''));
  // The shown prefix must be plain too (no escape sequence, no quote).
  return /^[A-Za-z0-9_.-]*\u2026$/.test(masked) ? masked : '…';
}

function isCommand(value: string): value is Command {
  return (COMMANDS as readonly string[]).includes(value);
}

/** What each option that takes a value needs, for the error when it is missing or looks like an option. */
const VALUE_NEEDED: Readonly<Record<string, string>> = {
  timeout: 'a positive number of seconds',
  port: 'a port number from 1 to 65535',
  storage: 'a file path',
  profile: 'a profile name',
  store: 'file, keychain or redis',
  plan: EMULATOR_PLANS.join(', '),
  'token-lifetime': 'a positive number of seconds',
  fault: 'a fault name (see `anthropic-oauth emulator --help`)',
};

/** Rewrites `parseArgs` errors, which suggest `--` tricks, into one plain sentence. */
function usageFrom(error: unknown, command: Command | undefined): UsageError {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const found = /'(-[^' ]+)/.exec(message)?.[1];
  const option = found === undefined ? undefined : shownArgument(found);
  const where = command ? ` for \`${command}\`` : '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`Unknown option ${option ?? ''}${where}.`, command);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // `--timeout -5`: the value starts with a dash, so Node calls it ambiguous. Say what it needs.
      const needs = (option && VALUE_NEEDED[option.replace(/^-+/, '')]) ?? 'a value';
      if (message.includes('argument missing') || message.includes('ambiguous')) {
        return new UsageError(`${option ?? 'The option'} needs ${needs}.`, command);
      }
      return new UsageError(`${option} takes no value.`, command);
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(
        `Unexpected argument${where}: ${shownArgument(/'([^']*)'/.exec(message)?.[1] ?? '')}.`,
        command,
      );
    default:
      // Node's own wording may quote an argument: say only what is wrong.
      return new UsageError('The command line could not be read.', command);
  }
}

function parsePort(value: string | undefined, command: Command = 'login'): number | undefined {
  if (value === undefined) return undefined;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) throw new UsageError(`--port must be a number from 1 to 65535.`, command);
  return port;
}

function parseEmulator(values: Record<string, string | boolean | string[] | undefined>): EmulatorArgs {
  const plan = values.plan as string | undefined;
  if (plan !== undefined && !(EMULATOR_PLANS as readonly string[]).includes(plan)) {
    throw new UsageError(`--plan must be one of ${EMULATOR_PLANS.join(', ')}.`, 'emulator');
  }
  const lifetime = values['token-lifetime'] as string | undefined;
  const seconds = lifetime === undefined ? undefined : /^\d+(\.\d+)?$/.test(lifetime) ? Number(lifetime) : Number.NaN;
  if (seconds !== undefined && !(seconds > 0 && seconds <= MAX_TIMEOUT_MS / 1000)) {
    throw new UsageError('--token-lifetime must be a positive number of seconds.', 'emulator');
  }
  const faults = (values.fault as string[] | undefined) ?? [];
  for (const fault of faults) {
    if (!isFaultName(fault)) {
      throw new UsageError(
        `Unknown fault "${shownArgument(fault)}". The faults are ${Object.keys(EMULATOR_FAULTS).join(', ')}.`,
        'emulator',
      );
    }
  }
  return {
    port: values.port === undefined ? 0 : (parsePort(values.port as string, 'emulator') ?? 0),
    plan: plan as EmulatorPlanName | undefined,
    tokenLifetime: seconds,
    faults: faults as EmulatorFaultName[],
  };
}

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_SECONDS * 1000;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  const ms = Math.round(seconds * 1000);
  if (!(ms > 0 && ms <= MAX_TIMEOUT_MS))
    throw new UsageError('--timeout must be a positive number of seconds.', 'login');
  return ms;
}

export function parseCommandLine(argv: readonly string[]): Invocation {
  // First pass, lenient: where is the command? (`--storage PATH` takes a value, so look at tokens.)
  const all: Options = { ...COMMON, ...Object.assign({}, ...Object.values(PER_COMMAND)) };
  const { tokens } = parseArgs({ args: [...argv], options: all, strict: false, allowPositionals: true, tokens: true });
  const positionals = tokens.filter((token) => token.kind === 'positional');
  const first = positionals[0];
  let rest = [...argv];
  let command: Command | undefined;
  if (first) {
    if (first.value === 'help') {
      const topic = positionals[1]?.value;
      if (topic !== undefined && !isCommand(topic)) throw new UsageError(`Unknown command "${shownArgument(topic)}".`);
      return { kind: 'help', command: topic };
    }
    if (!isCommand(first.value)) {
      throw new UsageError(`Unknown command "${shownArgument(first.value)}". The commands are ${COMMANDS.join(', ')}.`);
    }
    command = first.value;
    rest = rest.filter((_, index) => index !== first.index);
  }

  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { ...COMMON, ...(command ? PER_COMMAND[command] : {}) },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | boolean | string[] | undefined> });
  } catch (error) {
    throw usageFrom(error, command);
  }

  if (values.help) return { kind: 'help', command };
  if (values.version) return { kind: 'version' };
  if (!command) return { kind: 'help', command: undefined, missing: true };

  const storage = values.storage as string | undefined;
  if (storage !== undefined && storage.trim() === '') throw new UsageError('--storage needs a file path.', command);
  const profile = values.profile as string | undefined;
  if (profile !== undefined && !isProfileName(profile)) {
    throw new UsageError(
      '--profile needs a name of 1 to 64 letters, digits, `_`, `.` or `-` (not `.` or `..`).',
      command,
    );
  }
  const store = (values.store as string | undefined) ?? 'file';
  if (!(STORES as readonly string[]).includes(store))
    throw new UsageError('--store must be file, keychain or redis.', command);
  if (store !== 'file' && storage !== undefined) {
    throw new UsageError(`--storage is a token file: it has no use with --store ${store}.`, command);
  }
  if (values['allow-file-fallback'] && store !== 'keychain') {
    throw new UsageError('--allow-file-fallback only applies with --store keychain.', command);
  }
  if (values.manual && values.port !== undefined) {
    throw new UsageError('--port has no use with --manual (there is no local listener).', command);
  }
  return {
    kind: 'run',
    command,
    storage,
    profile,
    store: store as StoreKind,
    allowFileFallback: values['allow-file-fallback'] === true,
    debug: values.debug === true,
    json: values.json === true,
    offline: values.offline === true,
    emulator:
      command === 'emulator'
        ? parseEmulator(values)
        : { port: 0, plan: undefined, tokenLifetime: undefined, faults: [] },
    login: {
      port: command === 'login' || command === 'setup-token' ? parsePort(values.port as string | undefined) : undefined,
      browser: values['no-browser'] !== true,
      manual: values.manual === true,
      timeoutMs: parseTimeout(values.timeout as string | undefined),
      console: values.console === true,
      save: values.save === true,
    },
  };
}
