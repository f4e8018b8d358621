/**
 * The state of one emulator, as one explicit object handed to every route: its settings (from
 * `EmulatorOptions`, checked once), where it listens, the grant ledger, the fault queues, the
 * counters behind `stats()`, the request log and a cheap id source. Routes read and update it;
 * nothing else is shared between them.
 */

import { randomBytes } from 'node:crypto';
import { checkSeconds } from './checks.js';
import { createFaultQueue, type FaultQueue, type FaultTarget } from './faults.js';
import { createGrantLedger, type GrantLedger } from './ledger.js';
import { createSubscription, type Subscription } from './subscription.js';
import type {
  EmulatorApiKey,
  EmulatorOptions,
  EmulatorPlan,
  EmulatorRequest,
  EmulatorStats,
  EmulatorUsage,
} from './types.js';
import {
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_ACCOUNT,
  DEFAULT_CODE_TTL,
  DEFAULT_ORGANIZATION,
  DEFAULT_ROLES,
  MAX_LOGGED_REQUESTS,
  PATHS,
  PUBLIC_CLIENT,
} from './wire.js';

export interface EmulatorSettings {
  clientId: string;
  /** Echoed in token responses. */
  scopes: string;
  account: { uuid: string; emailAddress: string };
  organization: { uuid: string; name: string };
  accessTtlMs: number;
  codeTtlMs: number;
  autoApprove: boolean;
  plan: EmulatorPlan;
  usage: EmulatorUsage;
  consoleForbidsApiKeys: boolean;
  roles: { organization: string; workspace: string };
  longLivedRefreshToken: boolean;
  onRequest: ((request: Readonly<EmulatorRequest>) => void) | undefined;
}

export interface EmulatorUrls {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  authorizeUrl: string;
  tokenUrl: string;
  manualRedirectUri: string;
  consoleAuthorizeUrl: string;
}

/** Every request received, in arrival order, capped at `MAX_LOGGED_REQUESTS` (oldest dropped). */
export interface RequestLog {
  /** The array `Emulator.requests` hands out: entries are added to (and dropped from) it in place. */
  readonly entries: EmulatorRequest[];
  add(entry: EmulatorRequest): void;
}

export interface EmulatorState {
  readonly settings: Readonly<EmulatorSettings>;
  /** Filled in by `setOrigin` once the server listens; no route runs before that. */
  readonly urls: Readonly<EmulatorUrls>;
  readonly ledger: GrantLedger;
  readonly faults: Readonly<Record<FaultTarget, FaultQueue>>;
  /** The plan, usage and rate-limit headers (`subscription.ts`); changed by `setPlan`/`setUsage`. */
  readonly subscription: Subscription;
  /** The counters `stats()` copies. */
  readonly stats: EmulatorStats;
  readonly log: RequestLog;
  /** The API keys `create_api_key` minted, by key. */
  readonly apiKeys: Map<string, EmulatorApiKey>;
  /** A unique id such as `req_emu…` (no crypto per call: a random instance tag plus a counter). */
  nextId(prefix: string): string;
}

/** The options, defaulted and checked (a bad number throws a RangeError naming the option). */
export function settingsFrom(options: EmulatorOptions): EmulatorSettings {
  return {
    clientId: options.clientId ?? PUBLIC_CLIENT.id,
    accessTtlMs: checkSeconds('accessTokenTtl', options.accessTokenTtl ?? DEFAULT_ACCESS_TOKEN_TTL) * 1000,
    codeTtlMs: checkSeconds('codeTtl', options.codeTtl ?? DEFAULT_CODE_TTL) * 1000,
    account: { ...(options.account ?? DEFAULT_ACCOUNT) },
    organization: { ...(options.organization ?? DEFAULT_ORGANIZATION) },
    scopes: options.scopes ?? PUBLIC_CLIENT.scopes,
    autoApprove: options.autoApprove ?? false,
    plan: options.plan ?? 'max',
    usage: { ...options.usage },
    consoleForbidsApiKeys: options.consoleForbidsApiKeys ?? false,
    roles: { ...(options.roles ?? DEFAULT_ROLES) },
    longLivedRefreshToken: options.longLivedRefreshToken ?? false,
    onRequest: options.onRequest,
  };
}

export function createRequestLog(): RequestLog {
  const entries: EmulatorRequest[] = [];
  return {
    entries,
    add(entry) {
      entries.push(entry);
      if (entries.length > MAX_LOGGED_REQUESTS) entries.shift();
    },
  };
}

export function createState(settings: EmulatorSettings): EmulatorState {
  const idTag = randomBytes(6).toString('hex');
  let idCounter = 0;
  return {
    settings,
    urls: { origin: '', authorizeUrl: '', tokenUrl: '', manualRedirectUri: '', consoleAuthorizeUrl: '' },
    ledger: createGrantLedger(settings),
    faults: {
      token: createFaultQueue(),
      messages: createFaultQueue(),
      profile: createFaultQueue(),
      usage: createFaultQueue(),
      apiKey: createFaultQueue(),
    },
    subscription: createSubscription(settings.plan, settings.usage),
    stats: { authorizationCode: 0, refresh: 0, invalidGrant: 0, messages: 0, unauthorized: 0 },
    log: createRequestLog(),
    apiKeys: new Map(),
    nextId: (prefix) => `${prefix}_emu${idTag}${(idCounter++).toString(36).padStart(6, '0')}`,
  };
}

/** Where the emulator answers, once its server listens at `origin`. */
export function setOrigin(state: EmulatorState, origin: string): void {
  Object.assign(state.urls, {
    origin,
    authorizeUrl: `${origin}${PATHS.authorize}`,
    tokenUrl: `${origin}${PATHS.token}`,
    manualRedirectUri: `${origin}${PATHS.manualCallback}`,
    consoleAuthorizeUrl: `${origin}${PATHS.consoleAuthorize}`,
  } satisfies EmulatorUrls);
}
