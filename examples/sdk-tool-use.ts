/**
 * The official SDK, signed in with OAuth: a tool-use loop.
 *
 *   npx anthropic-oauth login
 *   npx tsx examples/sdk-tool-use.ts
 *
 * Claude asks for a tool (`stop_reason: "tool_use"`), we run it locally and send back a
 * `tool_result`, until Claude answers in text. Nothing here is OAuth-specific beyond the client.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { AnthropicOAuth } from 'anthropic-oauth';

const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';

const tools: Anthropic.Tool[] = [
  {
    name: 'get_weather',
    description: 'The current weather in a city.',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string', description: 'The city, e.g. "Paris"' } },
      required: ['city'],
    },
  },
];

/** Our side of the tool: a real program would call a weather service here. */
function getWeather(input: { city: string }): string {
  return `Sunny and 21 C in ${input.city}`;
}

const client = new AnthropicOAuth();

const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];

// At most a few rounds: a loop that talks to a model should always have a bound.
for (let round = 0; round < 5; round++) {
  const reply = await client.messages.create({ model, max_tokens: 1024, tools, messages });
  messages.push({ role: 'assistant', content: reply.content });

  if (reply.stop_reason !== 'tool_use') {
    for (const block of reply.content) {
      if (block.type === 'text') console.log(block.text);
    }
    break;
  }

  const results: Anthropic.ToolResultBlockParam[] = [];
  for (const block of reply.content) {
    if (block.type !== 'tool_use') continue;
    console.log(`tool_use ${block.name} ${JSON.stringify(block.input)}`);
    const content =
      block.name === 'get_weather' ? getWeather(block.input as { city: string }) : `Unknown tool ${block.name}`;
    results.push({ type: 'tool_result', tool_use_id: block.id, content });
  }
  messages.push({ role: 'user', content: results });
}
