/**
 * Which plan a login is on and how much of its limits is left: `client.getProfile()` and
 * `client.getUsage()`, after one `messages.create` call.
 *
 *   npx anthropic-oauth login          # once (the scope user:profile is asked by default)
 *   npx tsx examples/plan-and-usage.ts
 *
 * Both go through the client's own token: refreshed when close to expiry, refreshed and retried
 * once after a 401, as for `messages`. Utilization is a percentage of each window's limit; extra
 * usage is in minor units of its currency (`decimalPlaces` says how many decimals: 2 for USD cents).
 * A login without user:profile (a `setup-token` token) gets a 403 here; `describeApiError` names it.
 */
import { AnthropicOAuth } from 'anthropic-oauth';

const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';

const client = new AnthropicOAuth();

const message = await client.messages.create({
  model,
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
});
for (const block of message.content) {
  if (block.type === 'text') console.log(block.text);
}

const profile = await client.getProfile();
console.log(`plan=${profile.plan ?? 'unknown'} organization=${profile.organization?.name ?? 'none'}`);

const usage = await client.getUsage();
for (const [name, window] of Object.entries(usage.windows)) {
  const resets = window.resetsAt ? `resets ${window.resetsAt.toISOString()}` : 'not used yet';
  console.log(`${name} ${Math.round(window.utilization ?? 0)}% used, ${resets}`);
}

const extra = usage.extraUsage;
if (extra?.isEnabled) {
  const amount = (minor: number) =>
    `${(minor / 10 ** extra.decimalPlaces).toFixed(extra.decimalPlaces)} ${extra.currency ?? 'USD'}`;
  const limit = extra.monthlyLimit === null ? 'no limit' : amount(extra.monthlyLimit);
  console.log(`extra usage: ${amount(extra.usedCredits ?? 0)} spent of ${limit} this month`);
} else {
  console.log('extra usage: off');
}
