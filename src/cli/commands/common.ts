/** Small helpers the commands share: durations for people, and the environment login. */
import { ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT } from '../../env-variables.js';
import type { Env } from '../context.js';

/** The library's (`duration.ts`): the CLI says a timeout as the login does. */
export { describeDuration } from '../../duration.js';

/** `7h 12m`, `3d 4h`, `45m`, `30s`: the two largest units of a duration. */
export function shortDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const units: Array<[string, number]> = [
    ['d', Math.floor(s / 86_400)],
    ['h', Math.floor((s % 86_400) / 3600)],
    ['m', Math.floor((s % 3600) / 60)],
    ['s', s % 60],
  ];
  const first = units.findIndex(([, value]) => value > 0);
  if (first === -1) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([, value]) => value > 0)
    .map(([unit, value]) => `${value}${unit}`)
    .join(' ');
}

/** `in 7h 12m` or `2h 3m ago`. */
export function relativeTime(targetSeconds: number, nowSeconds: number): string {
  const delta = targetSeconds - nowSeconds;
  return delta >= 0 ? `in ${shortDuration(delta)}` : `${shortDuration(-delta)} ago`;
}

/** The environment variable that holds a login, as the library reads it (empty counts as unset). */
export function envTokenVariable(env: Env): string | undefined {
  return [ENV_ACCESS_TOKEN, ENV_ACCESS_TOKEN_ALT].find((name) => env[name]?.trim());
}
