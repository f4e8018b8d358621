/**
 * The plan and organization lines of `status`, from the profile endpoint.
 *
 * `status` refreshes nothing, so the profile is asked with the stored access token only while it is
 * valid, with a 5 s timeout, and never with `--offline`. Any failure leaves the plan unknown, says
 * why in one phrase (a missing scope says to log in again), and does not change the exit code.
 */
import { describeApiError } from '../../account/api-errors.js';
import { fetchProfile, type Profile } from '../../account/profile.js';
import { OAuthFlowError } from '../../errors.js';
import type { OAuthTokens } from '../../types.js';
import { type CliContext, oneLine } from '../context.js';
import { accountOptions, planLabel } from './account.js';

const PROFILE_TIMEOUT_MS = 5_000;

export interface PlanStatus {
  rows: Array<[string, string]>;
  /** The `plan` and `plan_error` fields of `status --json`. */
  json: { plan: Record<string, unknown> | null; plan_error: { code: string; message: string } | null };
}

function unknown(code: string, message: string): PlanStatus {
  return { rows: [['Plan', `unknown (${message})`]], json: { plan: null, plan_error: { code, message } } };
}

function known(profile: Profile): PlanStatus {
  const org = profile.organization;
  const label = planLabel(profile);
  const status = org?.subscriptionStatus ? `, ${oneLine(org.subscriptionStatus)}` : '';
  const rows: Array<[string, string]> = [['Plan', `${label}${status}`]];
  if (org !== null) {
    const details = [org.organizationType, org.rateLimitTier, org.billingType].filter((x) => x !== null).map(oneLine);
    const name = org.name === null ? org.uuid : oneLine(org.name);
    rows.push(['Organization', `${name}${details.length > 0 ? ` (${details.join(', ')})` : ''}`]);
  }
  return {
    rows,
    json: {
      plan: {
        plan: profile.plan,
        label,
        email: profile.account.email,
        organization: org && {
          uuid: org.uuid,
          name: org.name,
          organization_type: org.organizationType,
          rate_limit_tier: org.rateLimitTier,
          billing_type: org.billingType,
          subscription_status: org.subscriptionStatus,
          has_extra_usage_enabled: org.hasExtraUsageEnabled,
        },
      },
      plan_error: null,
    },
  };
}

/** The plan of the login `tokens`, or why it is unknown. Never throws. */
export async function planStatus(
  ctx: CliContext,
  tokens: OAuthTokens,
  options: { offline: boolean; expired: boolean },
): Promise<PlanStatus> {
  if (options.offline) return unknown('offline', 'not asked: --offline');
  if (options.expired) return unknown('token_expired', 'the access token has expired; `usage` refreshes it');
  try {
    return known(await fetchProfile(tokens.accessToken, accountOptions(ctx, PROFILE_TIMEOUT_MS)));
  } catch (error) {
    const described = describeApiError(error);
    ctx.trace(`profile: ${error instanceof Error ? oneLine(error.message).slice(0, 300) : String(error)}`);
    if (described?.code === 'scope_missing') {
      return unknown('scope_missing', 'this login lacks the user:profile scope; log in again to see it');
    }
    if (described !== null) return unknown(described.code, oneLine(described.message));
    if (error instanceof OAuthFlowError)
      return unknown(error.code, 'the profile endpoint answered something unexpected');
    const status = (error as { status?: unknown }).status;
    if (status === 401) return unknown('unauthorized', 'the API refused the access token; it is refreshed on next use');
    if (typeof status === 'number') return unknown('api_error', `the profile endpoint answered HTTP ${status}`);
    return unknown('network_error', 'the API could not be reached');
  }
}
