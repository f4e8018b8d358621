/**
 * The `anthropic-ratelimit-unified-*` headers of API answers to subscription tokens, typed.
 *
 * - `status` and `overage-status` are `allowed`, `allowed_warning` or `rejected`; other values are
 *   kept as sent. `representative-claim` names the window that decided (`five_hour`, `seven_day`,
 *   `seven_day_opus`, `seven_day_sonnet`, `overage`, or a newer one).
 * - Resets are epoch SECONDS (Claude Code reads them so); an ISO 8601 time is accepted too.
 * - The `5h`/`7d` utilization headers are a 0–1 FRACTION, unlike the usage endpoint's 0–100: they
 *   are converted to percent here, so both read alike.
 * - Headers are advisory: a value that does not parse is `null`, never an error.
 */
import { parseIsoDate } from './fields.js';

const PREFIX = 'anthropic-ratelimit-unified-';

export interface RateLimitWindow {
  /** Percent used, 0–100 (converted from the header's 0–1 fraction). */
  utilization: number | null;
  resetsAt: Date | null;
  /** The per-window status as sent (`allowed`, …), when sent. */
  status: string | null;
}

export interface RateLimitInfo {
  /** `allowed`, `allowed_warning`, `rejected`, or a newer value as sent. */
  status: string | null;
  /** The window that decided: `five_hour`, `seven_day`, … */
  representativeClaim: string | null;
  /** When the deciding window resets. */
  resetsAt: Date | null;
  overageStatus: string | null;
  overageResetsAt: Date | null;
  /** Why extra usage is off: `out_of_credits`, `overage_not_provisioned`, `org_level_disabled`, … */
  overageDisabledReason: string | null;
  /** The plan limit is reached and the request was served from extra usage (Claude Code's rule). */
  usingExtraUsage: boolean;
  fiveHour: RateLimitWindow | null;
  sevenDay: RateLimitWindow | null;
}

/** Epoch seconds, or an ISO 8601 time. */
export function parseResetHeader(value: string | null): Date | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const date = new Date(Number(text) * 1000);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  return parseIsoDate(text);
}

function fraction(value: string | null): number | null {
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return null;
  return Number(value) * 100;
}

function readWindow(headers: Headers, short: string): RateLimitWindow | null {
  const utilization = fraction(headers.get(`${PREFIX}${short}-utilization`));
  const resetsAt = parseResetHeader(headers.get(`${PREFIX}${short}-reset`));
  const status = headers.get(`${PREFIX}${short}-status`);
  if (utilization === null && resetsAt === null && status === null) return null;
  return { utilization, resetsAt, status };
}

/** The unified rate-limit headers of an API answer, or `null` when it carries none. */
export function parseRateLimitHeaders(headers: Headers): RateLimitInfo | null {
  let present = false;
  for (const name of headers.keys()) {
    if (name.startsWith(PREFIX)) {
      present = true;
      break;
    }
  }
  if (!present) return null;
  const status = headers.get(`${PREFIX}status`);
  const overageStatus = headers.get(`${PREFIX}overage-status`);
  return {
    status,
    representativeClaim: headers.get(`${PREFIX}representative-claim`),
    resetsAt: parseResetHeader(headers.get(`${PREFIX}reset`)),
    overageStatus,
    overageResetsAt: parseResetHeader(headers.get(`${PREFIX}overage-reset`)),
    overageDisabledReason: headers.get(`${PREFIX}overage-disabled-reason`),
    usingExtraUsage: status === 'rejected' && (overageStatus === 'allowed' || overageStatus === 'allowed_warning'),
    fiveHour: readWindow(headers, '5h'),
    sevenDay: readWindow(headers, '7d'),
  };
}
