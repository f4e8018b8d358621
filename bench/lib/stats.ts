/** Small statistics and formatting helpers shared by the measurements. */

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The p-th percentile (0–100) of a list, by linear interpolation between the closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

/** `order` rotated left by `by` places, so each item takes each position in turn across rounds. */
export function rotate<T>(order: readonly T[], by: number): T[] {
  const shift = ((by % order.length) + order.length) % order.length;
  return [...order.slice(shift), ...order.slice(0, shift)];
}

/** Formats a number with a fixed number of decimals and thousands separators. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A signed figure (`+12`, `−3`), for differences. */
export function signed(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  const text = fmt(Math.abs(value), decimals);
  return value < 0 ? `−${text}` : `+${text}`;
}

/**
 * A scavenge (young-generation collection) where `--expose-gc` allows it, so the short-lived garbage
 * of one variant is not collected on the next one's time. Not a full collection: after one, V8
 * shrinks the young generation, and the next block of calls ran about 50% slower per call than
 * the steady state (837 against 538 µs of CPU per concurrent call on the reference machine),
 * which is a state no user's program is in.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc?.({ type: 'minor' });
}

/** Lowest, median and highest of a non-empty list. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  return { min: Math.min(...values), median: median(values), max: Math.max(...values) };
}

/** `1.12 (1.05–1.31)`: a median with the lowest and highest value around it. */
export function fmtSpread({ min, median: mid, max }: Spread, decimals = 2): string {
  return `${fmt(mid, decimals)} (${fmt(min, decimals)}–${fmt(max, decimals)})`;
}

/** `+1.2 (−0.4…+3.1)`: the same for differences, signed. */
export function fmtSignedSpread({ min, median: mid, max }: Spread, decimals = 1): string {
  return `${signed(mid, decimals)} (${signed(min, decimals)}…${signed(max, decimals)})`;
}
