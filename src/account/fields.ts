/**
 * Reading the fields of an account answer, strictly: a documented field is absent, `null` or of its
 * documented type, anything else is `invalid_response` naming the field. Unknown fields are never
 * looked at (they stay in `raw`).
 */
import { type AccountEndpoint, invalidField } from './http.js';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * ISO 8601 date-time as the service writes it (`2026-07-19T03:39:59.570750+00:00`, or with `Z`).
 * Not `Date.parse`, which takes `"1"` for the year 2001.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})$/;

export function parseIsoDate(text: string): Date | null {
  const match = ISO_DATE_TIME.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour, minute, second = '0', fraction = '0', zone = 'Z'] = match;
  const ms = Math.floor(Number(`0.${fraction}`) * 1000);
  let time = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), ms);
  const check = new Date(time);
  // Date.UTC rolls 2026-02-30 over to March: such a date is not a date.
  if (check.getUTCMonth() !== Number(month) - 1 || check.getUTCDate() !== Number(day)) return null;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    time -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return new Date(time);
}

/** Reads the documented fields of one object of an answer; `where` names it in errors (`account`). */
export function fieldReader(endpoint: AccountEndpoint, object: JsonObject, where: string) {
  const fail = (key: string, expected: string) => invalidField(endpoint, `${where}.${key}`, expected);
  return {
    string(key: string): string | null {
      const value = object[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'string') throw fail(key, 'a string');
      return value;
    },
    requiredString(key: string): string {
      const value = object[key];
      if (typeof value !== 'string' || value === '') throw fail(key, 'a non-empty string');
      return value;
    },
    boolean(key: string): boolean | null {
      const value = object[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'boolean') throw fail(key, 'true or false');
      return value;
    },
    /** A finite number, at least `min`. */
    number(key: string, min = Number.NEGATIVE_INFINITY): number | null {
      const value = object[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
        throw fail(key, min === 0 ? 'a number of 0 or more' : 'a number');
      }
      return value;
    },
    date(key: string): Date | null {
      const value = object[key];
      if (value === undefined || value === null) return null;
      const date = typeof value === 'string' ? parseIsoDate(value) : null;
      if (date === null) throw fail(key, 'an ISO 8601 date and time');
      return date;
    },
  };
}
