/**
 * What a profile may be called, in one place: the library refuses another name (`invalid_config`,
 * `validateProfileName` in `profiles.ts`), the CLI refuses it as a usage error, and a listing skips a
 * file whose name is not one. A module of its own, importing nothing, so the CLI's argument parser
 * can check a name without loading the stores.
 */

export const DEFAULT_PROFILE = 'default';

/** 1 to 64 of `A-Z a-z 0-9 _ . -`, and not `.` or `..` (a name becomes `<name>.json`). */
export function isProfileName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(name) && name !== '.' && name !== '..';
}
