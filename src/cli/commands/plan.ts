/**
 * The plan and organization of a login, saved with it and shown by `status` without a network call.
 *
 * - At `login` (subscription), `accountSummary` asks the profile once, with the fresh access token
 *   and a 3 s timeout; any failure just leaves the summary out (the login is saved all the same).
 *   Every refresh keeps it as it is. `usage` stays the live call.
 * - `status` shows it "as of" the time it was fetched (`summaryStatus`). Names come from a server:
 *   every line is made safe to print (`oneLine`), JSON keeps them exact.
 */
import type { AccountSummary, OAuthTokens } from '../../types.js';
import { type CliContext, oneLine } from '../context.js';

const PROFILE_TIMEOUT_MS = 3_000;

/** The tokens with the account summary of their profile, when it could be fetched. Never throws. */
export async function withAccountSummary(ctx: CliContext, tokens: OAuthTokens): Promise<OAuthTokens> {
  try {
    const { fetchProfile } = await import('../../account/profile.js');
    const { accountOptions, planLabel } = await import('./account.js');
    const profile = await fetchProfile(tokens.accessToken, accountOptions(ctx, PROFILE_TIMEOUT_MS));
    const summary: AccountSummary = {
      email: profile.account.email,
      plan: planLabel(profile),
      fetchedAt: ctx.now() / 1000,
    };
    if (profile.organization?.name) summary.organizationName = profile.organization.name;
    if (profile.organization?.uuid) summary.organizationUuid = profile.organization.uuid;
    return { ...tokens, summary };
  } catch (error) {
    ctx.trace(`profile: ${error instanceof Error ? oneLine(error.message).slice(0, 300) : String(error)}`);
    return tokens;
  }
}

export interface PlanStatus {
  rows: Array<[string, string]>;
  /** The `plan` field of `status --json`. */
  json: { plan: Record<string, unknown> | null };
}

export function isoDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The plan rows of `status` from the summary saved with the login. */
export function summaryStatus(summary: AccountSummary | undefined): PlanStatus {
  if (!summary) {
    return { rows: [['Plan', 'unknown (not saved with this login; `usage` asks the API)']], json: { plan: null } };
  }
  const asOf = isoDate(summary.fetchedAt);
  const rows: Array<[string, string]> = [['Plan', `${oneLine(summary.plan ?? 'unknown')} (as of ${asOf})`]];
  if (summary.organizationName || summary.organizationUuid) {
    rows.push(['Organization', oneLine(summary.organizationName ?? summary.organizationUuid ?? '')]);
  }
  return {
    rows,
    json: {
      plan: {
        label: summary.plan ?? null,
        email: summary.email ?? null,
        organization: { uuid: summary.organizationUuid ?? null, name: summary.organizationName ?? null },
        as_of: asOf,
      },
    },
  };
}
