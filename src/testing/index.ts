/**
 * `anthropic-oauth/testing`: a local emulator of Anthropic's OAuth and Messages endpoints for tests
 * and offline demos. Loopback only, no outbound requests, fake tokens; see `emulator.ts`.
 */

export { startEmulator } from './emulator.js';
export type {
  Emulator,
  EmulatorFaults,
  EmulatorOptions,
  EmulatorRequest,
  EmulatorStats,
  IssuedTokens,
} from './types.js';
