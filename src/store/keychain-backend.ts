/**
 * The seam between `KeychainTokenStore` and an OS credential store: a backend reads, writes and
 * deletes one secret per service/account, and says how a call failed. The store owns everything
 * else (the token format, the fallback, which copy is newer, messages, locks) and bounds every call.
 *
 * - Outcomes, not exceptions: `unavailable` (the store is not there or not usable: no Secret
 *   Service, no session bus, a locked keychain whose prompt was dismissed, a crashed transport),
 *   `failed` (the store is there and refused this call) and `timeout` (for a backend with its own
 *   deadline). `detail` is the store's own message, shown to people: never put a secret in it.
 *   A rejected call counts as `failed`, except a `TokenStorageError`, which reaches the caller as is.
 * - `open()` (optional) prepares the backend (loads a native module, starts a thread) before each
 *   call and is not bounded; it throws `TokenStorageError` (`keychain_not_installed`) when it cannot.
 * - Each call is bounded by `withinDeadline`: past `timeoutMs` it is abandoned and answered
 *   `timeout`. Nothing can interrupt a native call, so until an abandoned call settles, later calls
 *   on the same backend fail at once (`stuckMs` says for how long) instead of queueing behind it.
 */

/** One keychain item. */
export interface KeychainEntry {
  service: string;
  account: string;
}

export type KeychainResult<T> =
  | { ok: true; value: T }
  | { ok: false; kind: 'unavailable' | 'failed'; detail: string }
  | { ok: false; kind: 'timeout'; stuckMs?: number | undefined };

export interface KeychainBackend {
  open?(): Promise<void>;
  /** The secret, or null when there is no such entry. */
  get(entry: KeychainEntry): Promise<KeychainResult<string | null>>;
  /** Creates or replaces the entry's secret. */
  set(entry: KeychainEntry, secret: string): Promise<KeychainResult<void>>;
  /** Deletes the entry; true when there was one. Deleting a missing entry is not a failure. */
  delete(entry: KeychainEntry): Promise<KeychainResult<boolean>>;
}

/** Per backend: the calls that timed out and have not settled yet, with their start times. */
const abandoned = new WeakMap<KeychainBackend, Map<symbol, number>>();

/**
 * Runs `call` on `backend` within `timeoutMs` (after `open()`). A pending call's timer keeps the
 * process alive until the call settles or times out; once abandoned, this layer holds no timer for it.
 */
export async function withinDeadline<T>(
  backend: KeychainBackend,
  timeoutMs: number,
  call: () => Promise<KeychainResult<T>>,
): Promise<KeychainResult<T>> {
  const stuckSince = abandoned.get(backend)?.values().next().value;
  if (stuckSince !== undefined) return { ok: false, kind: 'timeout', stuckMs: Date.now() - stuckSince };
  await backend.open?.();
  const started = Date.now();
  const id = Symbol('keychain call');
  const settled = () => abandoned.get(backend)?.delete(id);
  return new Promise<KeychainResult<T>>((resolve, reject) => {
    const timer = setTimeout(() => {
      const stuck = abandoned.get(backend) ?? new Map<symbol, number>();
      abandoned.set(backend, stuck);
      stuck.set(id, started);
      resolve({ ok: false, kind: 'timeout' });
    }, timeoutMs);
    Promise.resolve()
      .then(call)
      .then(
        (result) => {
          clearTimeout(timer);
          settled();
          resolve(result);
        },
        (error: unknown) => {
          clearTimeout(timer);
          settled();
          reject(error);
        },
      );
  });
}
