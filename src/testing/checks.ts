/** Argument checks for the numbers users hand the emulator (options and fault controls). */

export function checkCount(count: number): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  return count;
}

export function checkSeconds(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number of seconds`);
  return value;
}
