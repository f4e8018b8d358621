/** Durations: for people (the login's timeout, in the library's messages and the CLI's), and a clock to take them. */

/**
 * Milliseconds on a monotonic clock, for waits and deadlines. `process.hrtime`, not `performance.now()`:
 * the global `performance` is built on first use and loads `perf_hooks`, a cost on every refresh of
 * the CLI's `token` for a number.
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** `1 second`, `90 seconds`, `5 minutes`: for timeouts. */
export function describeDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
