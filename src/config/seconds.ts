import { Type } from '@sinclair/typebox';

/** A year: the longest time any entry of the configuration file may hold. */
export const MAX_SECONDS = 31_536_000;

/**
 * A time in the configuration file: seconds, fractions allowed, like every time in the file.
 * @defaultValue range above 0 up to a year; `range` narrows it (a `minimum` replaces "above 0").
 */
export function Seconds(description: string, range: { minimum?: number; maximum?: number } = {}) {
  const low = range.minimum !== undefined ? { minimum: range.minimum } : { exclusiveMinimum: 0 };
  return Type.Number({ ...low, maximum: range.maximum ?? MAX_SECONDS, description });
}

/** Seconds of the file to the milliseconds the engine counts in. */
export function msOf(seconds: number): number {
  return Math.round(seconds * 1000);
}
