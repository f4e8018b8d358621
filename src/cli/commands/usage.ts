/**
 * `usage`: how much of each subscription limit is used and when it resets, and the extra usage.
 *
 * One labelled bar per window the service reports (new windows too, under their own name), the
 * percent used and the time until it resets; then the extra usage (off, or spent of the monthly
 * limit, in the currency's own decimals). `--json` prints the normalized object (camelCase, times as
 * ISO 8601, amounts in minor units with `decimalPlaces`, no raw copy).
 * Colours only when stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
 * Server-supplied text (window names, currency) is stripped of control characters.
 */
import type { ExtraUsage, Usage, UsageWindow } from '../../account/usage.js';
import { fetchUsage } from '../../account/usage.js';
import { ENV_NO_COLOR } from '../../env-variables.js';
import { type CliContext, jsonText, oneLine } from '../context.js';
import { EXIT, type ExitCode } from '../exit.js';
import { accountOptions, failExplained, withLogin } from './account.js';
import { shortDuration } from './common.js';
import type { Target } from './target.js';

const BAR_WIDTH = 20;
const LABEL_WIDTH = 16;
const MAX_LABEL = 24;

const LABELS: Readonly<Record<string, string>> = {
  five_hour: '5-hour',
  seven_day: 'Weekly',
  seven_day_opus: 'Weekly Opus',
  seven_day_sonnet: 'Weekly Sonnet',
  seven_day_oauth_apps: 'Weekly apps',
};

/** `seven_day_cowork` → `Seven day cowork`: a window no release knows yet, named from its key. */
function labelOf(key: string): string {
  const known = LABELS[key];
  if (known) return known;
  const words = oneLine(key).replace(/_/g, ' ').trim().slice(0, MAX_LABEL);
  return words === '' ? 'Unnamed window' : words[0]?.toUpperCase() + words.slice(1);
}

type Paint = (text: string, percent: number) => string;

function painter(ctx: CliContext): Paint {
  const colour = ctx.stdout.isTTY === true && !ctx.env[ENV_NO_COLOR];
  if (!colour) return (text) => text;
  return (text, percent) => {
    const code = percent >= 90 ? 31 : percent >= 75 ? 33 : 32;
    return `\u001b[${code}m${text}\u001b[39m`;
  };
}

function bar(percent: number, paint: Paint): string {
  const filled = Math.round((Math.min(Math.max(percent, 0), 100) / 100) * BAR_WIDTH);
  return `[${paint('█'.repeat(filled), percent)}${'░'.repeat(BAR_WIDTH - filled)}]`;
}

function percentText(value: number): string {
  return `${Math.round(value)}%`.padStart(4);
}

function windowLine(ctx: CliContext, key: string, window: UsageWindow, paint: Paint): string {
  const label = labelOf(key).padEnd(LABEL_WIDTH);
  if (window.utilization === null) return `  ${label}no data`;
  const nowSeconds = ctx.now() / 1000;
  let reset = 'not used yet';
  if (window.resetsAt !== null) {
    const seconds = window.resetsAt.getTime() / 1000 - nowSeconds;
    reset = seconds > 0 ? `resets in ${shortDuration(seconds)}` : 'resets now';
  }
  return `  ${label}${bar(window.utilization, paint)} ${percentText(window.utilization)} used   ${reset}`;
}

/**
 * An amount in minor units as the currency writes it: `$12.34`, `1234 JPY`, `1.234 KWD` (the
 * decimals are the library's `decimalPlaces`); no currency sent is USD, and a code that is empty
 * once stripped still shows the amount.
 */
function money(minor: number, extra: ExtraUsage): string {
  const code = extra.currency === null ? 'USD' : oneLine(extra.currency).slice(0, 8);
  const amount = (Math.abs(minor) / 10 ** extra.decimalPlaces).toFixed(extra.decimalPlaces);
  const sign = minor < 0 ? '-' : '';
  if (code === 'USD') return `${sign}$${amount}`;
  return `${sign}${amount} ${code === '' ? '(currency not named)' : code}`;
}

function extraUsageLine(extra: ExtraUsage | null, paint: Paint): string {
  const label = 'Extra usage'.padEnd(LABEL_WIDTH);
  if (extra === null) return `  ${label}not reported`;
  if (!extra.isEnabled) return `  ${label}off (turn it on at claude.ai/settings/usage)`;
  const used = extra.usedCredits ?? 0;
  if (extra.monthlyLimit === null) return `  ${label}on, ${money(used, extra)} spent this month (no limit)`;
  const percent = extra.utilization ?? (extra.monthlyLimit > 0 ? (used / extra.monthlyLimit) * 100 : 100);
  return `  ${label}${bar(percent, paint)} ${percentText(percent)} used   ${money(used, extra)} of ${money(extra.monthlyLimit, extra)} this month`;
}

/** The usage screen, as lines (no trailing newline). */
export function usageScreen(ctx: CliContext, usage: Usage, who: string | null): string[] {
  const paint = painter(ctx);
  const lines = [who ? `Usage of ${who}` : 'Usage', ''];
  const windows = Object.entries(usage.windows);
  if (windows.length === 0) lines.push('  No usage windows reported.');
  for (const [key, window] of windows) lines.push(windowLine(ctx, key, window, paint));
  lines.push(extraUsageLine(usage.extraUsage, paint));
  return lines;
}

function windowJson(window: UsageWindow | null) {
  return window === null ? null : { utilization: window.utilization, resetsAt: window.resetsAt?.toISOString() ?? null };
}

/** The normalized object for `--json`: the library's `Usage` without its raw copies. */
export function usageJson(usage: Usage) {
  const extra = usage.extraUsage;
  return {
    fiveHour: windowJson(usage.fiveHour),
    sevenDay: windowJson(usage.sevenDay),
    sevenDayOpus: windowJson(usage.sevenDayOpus),
    sevenDaySonnet: windowJson(usage.sevenDaySonnet),
    sevenDayOauthApps: windowJson(usage.sevenDayOauthApps),
    windows: Object.fromEntries(Object.entries(usage.windows).map(([key, window]) => [key, windowJson(window)])),
    extraUsage:
      extra === null
        ? null
        : {
            isEnabled: extra.isEnabled,
            monthlyLimit: extra.monthlyLimit,
            usedCredits: extra.usedCredits,
            utilization: extra.utilization,
            currency: extra.currency,
            decimalPlaces: extra.decimalPlaces,
          },
  };
}

export async function usage(ctx: CliContext, json: boolean, target: Target): Promise<ExitCode> {
  let result: Usage;
  let who: string | null = null;
  try {
    result = await withLogin(ctx, target, (token, tokens) => {
      const account = tokens.account?.emailAddress;
      const org = tokens.organization?.name;
      if (account) who = `${oneLine(account)}${org ? ` (${oneLine(org)})` : ''}`;
      return fetchUsage(token, accountOptions(ctx));
    });
  } catch (error) {
    return failExplained(ctx, error);
  }
  if (json) {
    ctx.out(jsonText(usageJson(result)));
    return EXIT.ok;
  }
  // Each piece of the screen went through oneLine(); the only escape codes left are our colours.
  for (const line of usageScreen(ctx, result, who)) ctx.outPainted(line);
  return EXIT.ok;
}
