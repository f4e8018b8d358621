/**
 * `GET /api/oauth/usage` (scope `user:profile`; a 403 `permission_error` without it): how much of
 * each subscription limit is used, and the extra usage.
 *
 * The answer is an open map of windows, `{ five_hour, seven_day, seven_day_opus, seven_day_sonnet,
 * seven_day_oauth_apps, …: { utilization, resets_at } | null, extra_usage: { is_enabled,
 * monthly_limit, used_credits, utilization, currency? } | null }`, and new keys appear over time.
 *
 * - `utilization` is a percentage (0–100; more than 100 is kept: the window is past its limit),
 *   `resets_at` an ISO 8601 time with microseconds and an offset, `null` before any use.
 * - Known windows and `extra_usage` are read strictly (a wrong type is `invalid_response`).
 *   Any other key whose value looks like a window (an object with `utilization` or `resets_at`)
 *   is listed in `windows` when it reads cleanly and skipped otherwise; nothing unknown fails.
 * - Extra usage is in minor units of its currency (cents for USD, Claude Code divides by 100);
 *   `monthly_limit: null` means no limit. How many decimals a minor unit has (`decimalPlaces`) is
 *   the answer's `decimal_places` when it is a whole number 0–6, else the ISO 4217 digits of
 *   `currency` (JPY 0, USD 2, KWD 3), else 2: an absent currency has meant USD so far, and an
 *   unknown code is shown as most currencies are. A strange `decimal_places` is ignored, never fatal.
 */
import { USAGE_PATH } from '../constants.js';
import { fieldReader, isObject, type JsonObject } from './fields.js';
import { accountEndpoint, invalidField } from './http.js';

export interface UsageWindow {
  /** Percent of the window's limit used, 0–100 (above 100 when past the limit); `null` when not reported. */
  utilization: number | null;
  /** When the window resets; `null` before any use in it. */
  resetsAt: Date | null;
  raw: JsonObject;
}

export interface ExtraUsage {
  isEnabled: boolean;
  /** The monthly cap in minor units of `currency` (cents for USD); `null` = no limit. */
  monthlyLimit: number | null;
  /** Spent this month, in minor units of `currency`; `null` when not reported. */
  usedCredits: number | null;
  /** Percent of `monthlyLimit` used; `null` when not reported. */
  utilization: number | null;
  /** ISO 4217 code when sent (the service has sent `USD`); `null` otherwise, meaning USD so far. */
  currency: string | null;
  /**
   * Decimals of the currency's minor unit: `monthlyLimit / 10 ** decimalPlaces` is the amount in
   * `currency` (2 for USD cents, 0 for JPY, 3 for KWD). From the answer's `decimal_places` when
   * sent, else from the currency code, else 2.
   */
  decimalPlaces: number;
  raw: JsonObject;
}

/** The windows the library names; any other window is still in `windows`, under its wire key. */
export const KNOWN_WINDOWS = {
  five_hour: 'fiveHour',
  seven_day: 'sevenDay',
  seven_day_opus: 'sevenDayOpus',
  seven_day_sonnet: 'sevenDaySonnet',
  seven_day_oauth_apps: 'sevenDayOauthApps',
} as const;

type KnownWindowName = (typeof KNOWN_WINDOWS)[keyof typeof KNOWN_WINDOWS];

export type Usage = { [name in KnownWindowName]: UsageWindow | null } & {
  /** Every window present in the answer (not `null`), known or new, by wire key, in answer order. */
  windows: Record<string, UsageWindow>;
  extraUsage: ExtraUsage | null;
  /** The answer as sent, unknown keys included. */
  raw: JsonObject;
};

function readWindow(key: string, value: JsonObject): UsageWindow {
  const w = fieldReader('usage', value, key);
  return { utilization: w.number('utilization', 0), resetsAt: w.date('resets_at'), raw: value };
}

/** The most decimals a `decimal_places` from the answer may claim (ISO 4217 has at most 4). */
const MAX_DECIMAL_PLACES = 6;

/**
 * Decimals of the minor unit of an ISO 4217 `currency` (JPY 0, USD 2, KWD 3), from the runtime's
 * Intl data; 2 for `null` (USD so far) and for a code the runtime does not accept.
 */
export function currencyDecimals(currency: string | null): number {
  if (currency === null) return 2;
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    return digits ?? 2;
  } catch {
    return 2; // RangeError: not a well-formed currency code.
  }
}

function decimalPlacesOf(value: JsonObject, currency: string | null): number {
  const sent = value.decimal_places;
  if (typeof sent === 'number' && Number.isInteger(sent) && sent >= 0 && sent <= MAX_DECIMAL_PLACES) return sent;
  return currencyDecimals(currency);
}

function readExtraUsage(value: JsonObject): ExtraUsage {
  const e = fieldReader('usage', value, 'extra_usage');
  const isEnabled = e.boolean('is_enabled');
  if (isEnabled === null) throw invalidField('usage', 'extra_usage.is_enabled', 'true or false');
  const currency = e.string('currency');
  return {
    isEnabled,
    monthlyLimit: e.number('monthly_limit', 0),
    usedCredits: e.number('used_credits', 0),
    utilization: e.number('utilization', 0),
    currency,
    decimalPlaces: decimalPlacesOf(value, currency),
    raw: value,
  };
}

const isKnown = (key: string): key is keyof typeof KNOWN_WINDOWS => Object.hasOwn(KNOWN_WINDOWS, key);

/** Validates a usage answer's JSON; `invalid_response` names the first field that is wrong. */
export function parseUsage(json: unknown): Usage {
  if (!isObject(json)) throw invalidField('usage', 'a body', 'a JSON object');
  const usage: Usage = {
    fiveHour: null,
    sevenDay: null,
    sevenDayOpus: null,
    sevenDaySonnet: null,
    sevenDayOauthApps: null,
    windows: {},
    extraUsage: null,
    raw: json,
  };
  for (const [key, value] of Object.entries(json)) {
    if (key === 'extra_usage') {
      if (value === null) continue;
      if (!isObject(value)) throw invalidField('usage', 'extra_usage', 'an object or null');
      usage.extraUsage = readExtraUsage(value);
    } else if (isKnown(key)) {
      if (value === null || value === undefined) continue;
      if (!isObject(value)) throw invalidField('usage', key, 'an object or null');
      const window = readWindow(key, value);
      usage[KNOWN_WINDOWS[key]] = window;
      usage.windows[key] = window;
    } else if (isObject(value) && ('utilization' in value || 'resets_at' in value)) {
      try {
        usage.windows[key] = readWindow(key, value);
      } catch {
        // A new window in a shape we do not know: left in `raw`, never an error.
      }
    }
  }
  return usage;
}

const endpoint = accountEndpoint('usage', USAGE_PATH, parseUsage);

/** Validates a usage endpoint `Response` (send apart from interpret: testable with `new Response()`). */
export const processUsageResponse = endpoint.process;

/**
 * The usage of the subscription an access token belongs to, for programs that hold a token but not
 * an `AnthropicOAuth` (no refresh here: pass a valid token). HTTP errors are the SDK's `APIError`s.
 */
export const fetchUsage = endpoint.fetch;

/** `client.getUsage()`: through the client's request path. */
export const requestUsage = endpoint.request;
