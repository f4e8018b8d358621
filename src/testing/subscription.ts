/**
 * The emulator's subscription: the plan the profile endpoint describes, the usage windows and the
 * extra usage the usage endpoint reports, and the `anthropic-ratelimit-unified-*` headers of
 * `/v1/messages`, all from one state that `plan`/`usage` (options) and `setPlan`/`setUsage` set.
 *
 * Wire shapes (docs/protocol.md, Claude Code 2.1.88): usage `utilization` is a percentage 0–100 with
 * `resets_at` as ISO 8601 with microseconds and an offset (`null` before any use); the headers
 * carry a 0–1 fraction and epoch-second resets. Extra usage is in minor units of its currency (cents
 * for the default USD) with `decimal_places` beside it, `monthly_limit: null` = no limit. The headers are computed once per change, not per request (benchmarks use `/v1/messages`).
 */

import type { OutgoingHttpHeaders } from 'node:http';
import type { EmulatorPlan, EmulatorUsage, EmulatorWindow } from './types.js';
import { PLANS, RATE_LIMIT_HEADER_PREFIX, UNKNOWN_USAGE_KEYS, USAGE_WINDOWS } from './wire.js';

type WindowKey = keyof typeof USAGE_WINDOWS;

interface WindowState {
  utilization: number;
  /** Epoch ms; `null` when nothing was used yet. */
  resetsAtMs: number | null;
}

interface ExtraUsageState {
  enabled: boolean;
  /** In minor units of `currency` (the option names say cents: USD's). */
  monthlyLimitCents: number | null;
  usedCents: number;
  currency: string;
  /** Sent as `decimal_places`; `null`: the field is left out. */
  decimalPlaces: number | null;
}

/** ISO 4217 digits of a currency's minor unit from Intl (JPY 0, USD 2, KWD 3); 2 for a code Intl refuses. */
function isoDecimals(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export interface Subscription {
  plan: EmulatorPlan;
  windows: Record<WindowKey, WindowState | null>;
  extraUsage: ExtraUsageState | null;
  /** The unified rate-limit headers of `/v1/messages`, recomputed on each change. */
  headers: OutgoingHttpHeaders;
  /** The plan's limit is reached and extra usage cannot take over: `/v1/messages` answers 429. */
  rejected: boolean;
}

function checkPercent(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`usage.${name} must be a percentage of 0 or more`);
  return value;
}

function windowState(name: string, value: EmulatorWindow, defaultResetsIn: number, now: number): WindowState | null {
  if (value === null) return null;
  const { utilization, resetsInSeconds } = typeof value === 'number' ? { utilization: value } : value;
  checkPercent(name, utilization);
  const seconds = resetsInSeconds ?? defaultResetsIn;
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`usage.${name}.resetsInSeconds must be 0 or more`);
  return { utilization, resetsAtMs: utilization === 0 ? null : now + seconds * 1000 };
}

function extraUsageState(value: EmulatorUsage['extraUsage']): ExtraUsageState | null {
  if (value === null || value === undefined) return null;
  const limit = value.monthlyLimitCents ?? null;
  const used = value.usedCents ?? 0;
  if (limit !== null && !(Number.isInteger(limit) && limit >= 0)) {
    throw new RangeError('usage.extraUsage.monthlyLimitCents must be a whole number of cents, or null');
  }
  if (!(Number.isInteger(used) && used >= 0)) throw new RangeError('usage.extraUsage.usedCents must be whole cents');
  const currency = value.currency ?? 'USD';
  const decimalPlaces = value.decimalPlaces === undefined ? isoDecimals(currency) : value.decimalPlaces;
  return { enabled: value.enabled, monthlyLimitCents: limit, usedCents: used, currency, decimalPlaces };
}

const epochSeconds = (ms: number): string => String(Math.floor(ms / 1000));

/** `2026-07-19T03:39:59.570750+00:00`: microseconds and an offset, as the service writes it. */
function serviceTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, millis: string) => `.${millis}000+00:00`);
}

function extraUsageAvailable(extra: ExtraUsageState | null): boolean {
  return extra?.enabled === true && (extra.monthlyLimitCents === null || extra.usedCents < extra.monthlyLimitCents);
}

function computeHeaders(sub: Subscription): void {
  const headers: OutgoingHttpHeaders = {};
  let claim: WindowKey | null = null;
  for (const key of Object.keys(USAGE_WINDOWS) as WindowKey[]) {
    const short = USAGE_WINDOWS[key].header;
    const window = sub.windows[key];
    if (short === null || window === null) continue;
    headers[`${RATE_LIMIT_HEADER_PREFIX}${short}-utilization`] = String(window.utilization / 100);
    if (window.resetsAtMs !== null) {
      headers[`${RATE_LIMIT_HEADER_PREFIX}${short}-reset`] = epochSeconds(window.resetsAtMs);
    }
    headers[`${RATE_LIMIT_HEADER_PREFIX}${short}-status`] = window.utilization >= 100 ? 'rejected' : 'allowed';
    if (claim === null || window.utilization > (sub.windows[claim]?.utilization ?? 0)) claim = key;
  }
  const top = claim === null ? null : sub.windows[claim];
  const used = top?.utilization ?? 0;
  const overage = extraUsageAvailable(sub.extraUsage);
  headers[`${RATE_LIMIT_HEADER_PREFIX}status`] = used >= 100 ? 'rejected' : used >= 80 ? 'allowed_warning' : 'allowed';
  if (claim !== null) headers[`${RATE_LIMIT_HEADER_PREFIX}representative-claim`] = claim;
  if (top?.resetsAtMs != null) headers[`${RATE_LIMIT_HEADER_PREFIX}reset`] = epochSeconds(top.resetsAtMs);
  headers[`${RATE_LIMIT_HEADER_PREFIX}overage-status`] = overage ? 'allowed' : 'rejected';
  if (!overage) {
    headers[`${RATE_LIMIT_HEADER_PREFIX}overage-disabled-reason`] =
      sub.extraUsage?.enabled === true ? 'out_of_credits' : 'overage_not_provisioned';
  }
  sub.headers = headers;
  sub.rejected = used >= 100 && !overage;
}

/** The subscription for `plan` and `usage` (defaults filled in); throws a RangeError for a bad number. */
export function createSubscription(plan: EmulatorPlan = 'max', usage: EmulatorUsage = {}): Subscription {
  if (!Object.hasOwn(PLANS, plan)) throw new RangeError(`plan must be one of ${Object.keys(PLANS).join(', ')}`);
  const now = Date.now();
  const windows = {} as Record<WindowKey, WindowState | null>;
  for (const key of Object.keys(USAGE_WINDOWS) as WindowKey[]) {
    const spec = USAGE_WINDOWS[key];
    const given = usage[spec.option];
    const value = given === undefined ? spec.utilization : given;
    windows[key] = windowState(spec.option, value, spec.resetsInSeconds, now);
  }
  const sub: Subscription = {
    plan,
    windows,
    extraUsage: extraUsageState(usage.extraUsage === undefined ? { enabled: false } : usage.extraUsage),
    headers: {},
    rejected: false,
  };
  computeHeaders(sub);
  return sub;
}

export function setPlan(sub: Subscription, plan: EmulatorPlan): void {
  if (!Object.hasOwn(PLANS, plan)) throw new RangeError(`plan must be one of ${Object.keys(PLANS).join(', ')}`);
  sub.plan = plan;
}

/** Merges `usage` over the current state (checked first: a bad value changes nothing). */
export function setUsage(sub: Subscription, usage: EmulatorUsage): void {
  const now = Date.now();
  const windows = { ...sub.windows };
  for (const key of Object.keys(USAGE_WINDOWS) as WindowKey[]) {
    const spec = USAGE_WINDOWS[key];
    const given = usage[spec.option];
    if (given !== undefined) windows[key] = windowState(spec.option, given, spec.resetsInSeconds, now);
  }
  const extraUsage = usage.extraUsage === undefined ? sub.extraUsage : extraUsageState(usage.extraUsage);
  sub.windows = windows;
  sub.extraUsage = extraUsage;
  computeHeaders(sub);
}

/** The body of `GET /api/oauth/usage`. */
export function usageBody(sub: Subscription): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of Object.keys(USAGE_WINDOWS) as WindowKey[]) {
    const window = sub.windows[key];
    body[key] =
      window === null
        ? null
        : {
            utilization: window.utilization,
            resets_at: window.resetsAtMs === null ? null : serviceTime(window.resetsAtMs),
          };
  }
  for (const key of UNKNOWN_USAGE_KEYS) body[key] = null;
  const extra = sub.extraUsage;
  body.extra_usage =
    extra === null
      ? null
      : extra.enabled
        ? {
            is_enabled: true,
            monthly_limit: extra.monthlyLimitCents,
            used_credits: extra.usedCents,
            utilization:
              extra.monthlyLimitCents === null || extra.monthlyLimitCents === 0
                ? null
                : (extra.usedCents / extra.monthlyLimitCents) * 100,
            currency: extra.currency,
            ...(extra.decimalPlaces === null ? {} : { decimal_places: extra.decimalPlaces }),
          }
        : { is_enabled: false, monthly_limit: null, used_credits: null, utilization: null };
  return body;
}

/** The organization fields of `GET /api/oauth/profile` that follow the plan. */
export function planFields(sub: Subscription): Record<string, unknown> {
  const plan = PLANS[sub.plan];
  return {
    organization_type: plan.organizationType,
    rate_limit_tier: plan.rateLimitTier,
    billing_type: 'stripe_subscription',
    has_extra_usage_enabled: sub.extraUsage?.enabled === true,
    subscription_status: 'active',
  };
}

export function accountPlanFlags(sub: Subscription): { has_claude_pro: boolean; has_claude_max: boolean } {
  const plan = PLANS[sub.plan];
  return { has_claude_pro: plan.pro, has_claude_max: plan.max };
}
