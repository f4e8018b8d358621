/**
 * `GET /api/oauth/profile` (scope `user:profile`): who is signed in and on which plan.
 *
 * The answer is `{ account: { uuid, email, display_name, has_claude_pro, has_claude_max, … },
 * organization: { uuid, name, organization_type, rate_limit_tier, billing_type,
 * has_extra_usage_enabled, subscription_status, … } }` (`account.email`, not the token endpoint's
 * `email_address`). `account.uuid` and `account.email` are required; every other documented field
 * may be absent or `null`, and is refused when of another type. Unknown keys stay in `raw`.
 *
 * The plan follows Claude Code's mapping of `organization_type` (`claude_pro` → pro, `claude_max`
 * → max, `claude_team` → team, `claude_enterprise` → enterprise), else the account's
 * `has_claude_max` / `has_claude_pro`, else `null`.
 */
import { PROFILE_PATH } from '../constants.js';
import { fieldReader, isObject, type JsonObject } from './fields.js';
import { accountEndpoint, invalidField } from './http.js';

export type Plan = 'pro' | 'max' | 'team' | 'enterprise';

export interface ProfileAccount {
  uuid: string;
  email: string;
  displayName: string | null;
  fullName: string | null;
  hasClaudePro: boolean | null;
  hasClaudeMax: boolean | null;
  createdAt: Date | null;
}

export interface ProfileOrganization {
  uuid: string;
  name: string | null;
  /** `claude_pro`, `claude_max`, `claude_team`, `claude_enterprise`, or another value as sent. */
  organizationType: string | null;
  /** For example `default_claude_max_5x`. */
  rateLimitTier: string | null;
  /** For example `stripe_subscription`. */
  billingType: string | null;
  hasExtraUsageEnabled: boolean | null;
  /** For example `active`. */
  subscriptionStatus: string | null;
  subscriptionCreatedAt: Date | null;
}

export interface Profile {
  account: ProfileAccount;
  organization: ProfileOrganization | null;
  /** The subscription plan, `null` when the answer does not say (an API-only account, a new type). */
  plan: Plan | null;
  /** The answer as sent, unknown keys included. */
  raw: JsonObject;
}

const PLAN_OF_TYPE: Readonly<Record<string, Plan>> = {
  claude_pro: 'pro',
  claude_max: 'max',
  claude_team: 'team',
  claude_enterprise: 'enterprise',
};

/** Validates a profile answer's JSON; `invalid_response` names the first field that is wrong. */
export function parseProfile(json: unknown): Profile {
  if (!isObject(json)) throw invalidField('profile', 'a body', 'a JSON object');
  if (!isObject(json.account)) throw invalidField('profile', 'account', 'an object');
  const a = fieldReader('profile', json.account, 'account');
  const account: ProfileAccount = {
    uuid: a.requiredString('uuid'),
    email: a.requiredString('email'),
    displayName: a.string('display_name'),
    fullName: a.string('full_name'),
    hasClaudePro: a.boolean('has_claude_pro'),
    hasClaudeMax: a.boolean('has_claude_max'),
    createdAt: a.date('created_at'),
  };
  let organization: ProfileOrganization | null = null;
  if (json.organization !== undefined && json.organization !== null) {
    if (!isObject(json.organization)) throw invalidField('profile', 'organization', 'an object');
    const o = fieldReader('profile', json.organization, 'organization');
    organization = {
      uuid: o.requiredString('uuid'),
      name: o.string('name'),
      organizationType: o.string('organization_type'),
      rateLimitTier: o.string('rate_limit_tier'),
      billingType: o.string('billing_type'),
      hasExtraUsageEnabled: o.boolean('has_extra_usage_enabled'),
      subscriptionStatus: o.string('subscription_status'),
      subscriptionCreatedAt: o.date('subscription_created_at'),
    };
  }
  const byType = organization?.organizationType ? PLAN_OF_TYPE[organization.organizationType] : undefined;
  const plan = byType ?? (account.hasClaudeMax ? 'max' : account.hasClaudePro ? 'pro' : null);
  return { account, organization, plan, raw: json };
}

const endpoint = accountEndpoint('profile', PROFILE_PATH, parseProfile);

/** Validates a profile endpoint `Response` (send apart from interpret: testable with `new Response()`). */
export const processProfileResponse = endpoint.process;

/**
 * The profile of the account an access token belongs to, for programs that hold a token but not an
 * `AnthropicOAuth` (no refresh here: pass a valid token). HTTP errors are the SDK's `APIError`s.
 */
export const fetchProfile = endpoint.fetch;

/** `client.getProfile()`: through the client's request path. */
export const requestProfile = endpoint.request;
