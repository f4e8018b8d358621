/**
 * What the emulator's fake model says, deterministically: an echo of the start of the last user
 * message, a tool call when tools are offered, a short answer after a tool result, and a rough
 * token count. Pure functions of the request body; no HTTP, no state.
 */

import { isObject, type JsonObject } from '../http.js';

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const block of content) {
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') text += block.text;
  }
  return text;
}

/** A deterministic reply that echoes the start of the last user message, so tests can tell calls apart. */
export function replyText(messages: readonly unknown[]): string {
  const toolResult = toolResultText(messages);
  if (toolResult !== null) {
    const snippet = toolResult.length > 40 ? `${toolResult.slice(0, 40)}…` : toolResult;
    return `Hello from the emulator. The tool said: ${snippet}`;
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (!isObject(message) || message.role !== 'user') continue;
    const said = textOf(message.content).replace(/\s+/g, ' ').trim();
    if (said === '') break;
    const snippet = said.length > 40 ? `${said.slice(0, 40)}…` : said;
    return `Hello from the emulator. You said: ${snippet}`;
  }
  return 'Hello from the emulator';
}

/** The tool call the emulator makes: the named tool under `tool_choice: {type: "tool"}`, else the first. */
export interface ToolCall {
  name: string;
  input: JsonObject;
}

/**
 * Tool use, kept small: when the request has `tools` (and `tool_choice` is not `none`) and the last
 * message is a user TEXT message, the model "calls" one tool, with an input holding each required
 * string property of its schema (`"emulated <name>"`). After a `tool_result` it answers text.
 */
export function toolCallFor(body: JsonObject, messages: readonly unknown[]): ToolCall | null {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return null;
  const choice = isObject(body.tool_choice) ? body.tool_choice : {};
  if (choice.type === 'none') return null;
  const last = messages.at(-1);
  if (!isObject(last) || last.role !== 'user' || textOf(last.content).trim() === '') return null;
  if (Array.isArray(last.content) && last.content.some((b) => isObject(b) && b.type === 'tool_result')) return null;
  const tools = body.tools.filter((tool): tool is JsonObject => isObject(tool) && typeof tool.name === 'string');
  const tool = choice.type === 'tool' ? tools.find((t) => t.name === choice.name) : tools[0];
  if (tool === undefined) return null;
  const schema = isObject(tool.input_schema) ? tool.input_schema : {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  const input: JsonObject = {};
  for (const name of Array.isArray(schema.required) ? schema.required : []) {
    const property = typeof name === 'string' ? properties[name] : undefined;
    if (isObject(property) && property.type === 'string') input[name as string] = `emulated ${name}`;
  }
  return { name: tool.name as string, input };
}

/** The text of the last `tool_result` in the last user message, or null when there is none. */
function toolResultText(messages: readonly unknown[]): string | null {
  const last = messages.at(-1);
  if (!isObject(last) || last.role !== 'user' || !Array.isArray(last.content)) return null;
  const results = last.content.filter((b): b is JsonObject => isObject(b) && b.type === 'tool_result');
  const result = results.at(-1);
  if (result === undefined) return null;
  return textOf(result.content).replace(/\s+/g, ' ').trim();
}

/** A rough, deterministic token estimate (about four characters a token). */
export function estimateTokens(chars: number): number {
  return Math.max(1, Math.ceil(chars / 4));
}

export function inputChars(body: JsonObject, messages: readonly unknown[]): number {
  let chars = typeof body.system === 'string' ? body.system.length : textOf(body.system).length;
  for (const message of messages) if (isObject(message)) chars += textOf(message.content).length;
  return chars;
}
