/**
 * The default keychain backend: `@napi-rs/keyring` (an optional peer dependency, loaded on first
 * use only), called in one shared worker thread.
 *
 * - Why a worker: `AsyncEntry` exists, but its constructor talks to D-Bus synchronously on Linux (up
 *   to libdbus' 2 s reply timeout), and a call stuck on an unlock prompt (Linux, macOS) would also
 *   tie up a libuv thread that `fs` needs. The worker runs the native calls one at a time; the store
 *   bounds each (`withinDeadline`), and a call it abandons simply settles here whenever it returns.
 *   Nothing can interrupt a native call, so a process that wants to exit while one is still stuck (a
 *   prompt nobody answers) waits for it; the worker never keeps an otherwise idle process alive.
 * - On Linux the entry is pinned to the Secret Service: without that, `@napi-rs/keyring` silently
 *   falls back to the kernel keyring, which forgets everything at reboot (hence 2.1.2 or later).
 * - Failures: the entry could not be opened, keyring-rs' "platform failure"/"couldn't access
 *   platform storage", or a crashed worker are `unavailable`; any other error is `failed`.
 */
import type { Worker } from 'node:worker_threads';
import { TokenStorageError } from '../errors.js';
import type { KeychainBackend, KeychainEntry, KeychainResult } from './keychain-backend.js';

type Op = 'get' | 'set' | 'delete';

/** What the worker answers: the value, or where and how the native call failed. */
type Reply =
  | { kind: 'ok'; value: string | boolean | null }
  | { kind: 'error'; stage: 'open' | Op; message: string }
  | { kind: 'crashed'; message: string };

/**
 * The worker's code, evaluated. Only dynamic `import()`, so it runs whether the host makes evaluated
 * code CommonJS or ESM (`--input-type=module` reaches workers too). One `Entry` per call: it is cheap,
 * and a Secret Service that restarted between calls is simply reconnected to.
 */
const WORKER_SOURCE = `
Promise.all([import('node:worker_threads'), import('node:url')]).then(async ([threads, url]) => {
  const { parentPort, workerData } = threads;
  const keyring = await import(
    workerData.modulePath ? url.pathToFileURL(workerData.modulePath).href : '@napi-rs/keyring'
  );
  const Entry = keyring.Entry ?? keyring.default.Entry;
  const options = { linux: { store: 'secret-service' } };
  parentPort.on('message', (request) => {
    let stage = 'open';
    try {
      const entry = new Entry(request.service, request.account, options);
      stage = request.op;
      let value = null;
      if (request.op === 'get') value = entry.getPassword();
      else if (request.op === 'set') entry.setPassword(request.secret);
      else value = entry.deletePassword();
      parentPort.postMessage({ id: request.id, kind: 'ok', value });
    } catch (error) {
      const message = error && typeof error.message === 'string' ? error.message : String(error);
      parentPort.postMessage({ id: request.id, kind: 'error', stage, message });
    }
  });
});
`;

/** The shared worker that makes the native calls, one at a time, in arrival order. */
class KeychainWorker {
  /** The file of the keyring module to load (null: resolve `@napi-rs/keyring` again). */
  readonly #modulePath: string | null;
  #worker: Worker | null = null;
  #nextId = 1;
  /** Calls sent and not answered, abandoned ones included: they settle when the worker answers or dies. */
  readonly #pending = new Map<number, (reply: Reply) => void>();

  constructor(modulePath: string | null) {
    this.#modulePath = modulePath;
  }

  call(request: { op: Op; service: string; account: string; secret?: string }): Promise<Reply> {
    const worker = this.#worker;
    if (worker === null) return Promise.resolve({ kind: 'crashed', message: 'the keychain worker is not running' });
    const id = this.#nextId++;
    return new Promise<Reply>((resolve) => {
      this.#pending.set(id, resolve);
      worker.postMessage({ ...request, id });
    });
  }

  async start(): Promise<void> {
    if (this.#worker) return;
    const { Worker } = await import('node:worker_threads');
    if (this.#worker) return;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath: this.#modulePath } });
    worker.on('message', (message: { id: number } & Reply) => {
      const { id, ...reply } = message;
      const resolve = this.#pending.get(id);
      this.#pending.delete(id);
      resolve?.(reply);
    });
    const fail = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      for (const [id, resolve] of this.#pending) {
        this.#pending.delete(id);
        resolve({ kind: 'crashed', message: why });
      }
    };
    worker.on('error', (error) => fail(error instanceof Error ? error.message : String(error)));
    worker.on('exit', (code) => fail(`the keychain worker exited (code ${code})`));
    // Never the reason a process stays alive (the store's deadline timer does that while a call is
    // pending). After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    this.#worker = worker;
  }
}

/** keyring-rs' "the store is not there / not usable" errors (PlatformFailure, NoStorageAccess). */
const UNAVAILABLE_MESSAGE = /^(platform failure|couldn't access platform storage)/i;

function resultOf<T>(reply: Reply, value: (raw: string | boolean | null) => T): KeychainResult<T> {
  if (reply.kind === 'ok') return { ok: true, value: value(reply.value) };
  if (reply.kind === 'crashed' || reply.stage === 'open' || UNAVAILABLE_MESSAGE.test(reply.message)) {
    return { ok: false, kind: 'unavailable', detail: reply.message };
  }
  return { ok: false, kind: 'failed', detail: reply.message };
}

/**
 * A backend on a keyring module (`@napi-rs/keyring`'s `Entry` API) in a worker thread.
 * `resolveModule` finds the module's file on first use (null: let the worker import it by name); a
 * failure (thrown `TokenStorageError`) is retried on the next call.
 */
export function workerBackend(resolveModule: () => Promise<string | null>): KeychainBackend {
  let shared: Promise<KeychainWorker> | null = null;
  let ready: KeychainWorker | null = null;
  const call = async (op: Op, entry: KeychainEntry, secret?: string): Promise<Reply> => {
    if (ready === null) return { kind: 'crashed', message: 'the keychain worker is not running' };
    const request = { op, service: entry.service, account: entry.account };
    return ready.call(secret === undefined ? request : { ...request, secret });
  };
  return {
    async open() {
      if (shared === null) {
        shared = resolveModule().then((modulePath) => new KeychainWorker(modulePath));
        shared.catch(() => {
          shared = null;
        });
      }
      const worker = await shared;
      await worker.start();
      ready = worker;
    },
    get: async (entry) => resultOf(await call('get', entry), (raw) => (typeof raw === 'string' ? raw : null)),
    set: async (entry, secret) => resultOf(await call('set', entry, secret), () => undefined),
    delete: async (entry) => resultOf(await call('delete', entry), (raw) => raw === true),
  };
}

const NOT_INSTALLED =
  'The keychain store needs the optional package @napi-rs/keyring: run `npm install @napi-rs/keyring`, or use the file store (`--store file`, `new TokenStorage()`).';

/** Loads `@napi-rs/keyring` and returns its file, so the worker loads the very same copy. */
async function resolveNapiKeyring(): Promise<string | null> {
  let namespace: { default?: unknown; LinuxStore?: unknown };
  try {
    namespace = await import('@napi-rs/keyring');
  } catch (error) {
    throw new TokenStorageError('keychain_not_installed', NOT_INSTALLED, { cause: error });
  }
  const linuxStore = namespace.LinuxStore as { SecretService?: unknown } | undefined;
  if (process.platform === 'linux' && linuxStore?.SecretService !== 'secret-service') {
    throw new TokenStorageError(
      'keychain_not_installed',
      'The keychain store needs @napi-rs/keyring 2.1.2 or later (older versions can silently store the login in the kernel keyring, which forgets it at reboot): run `npm install @napi-rs/keyring@latest`.',
    );
  }
  // Its file is in the CommonJS module cache (it is a CommonJS package), found by identity: no
  // `import.meta` needed, in either build.
  const exports = namespace.default ?? namespace;
  const { createRequire } = await import('node:module');
  const cache = createRequire(process.execPath).cache;
  const entry = Object.values(cache).find((module) => module?.exports === exports);
  return entry?.filename ?? null;
}

/** The process-wide default backend: one worker for every `KeychainTokenStore`. */
export const napiKeyringBackend: KeychainBackend = workerBackend(resolveNapiKeyring);
