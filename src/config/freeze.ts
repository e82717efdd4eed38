/**
 * Freezes plain objects and arrays, all the way down, and returns the same value. Class instances
 * (the roles' Set, compiled regular expressions) are left as they are: freezing a RegExp breaks
 * its `lastIndex`, and a frozen Set still accepts `add`; their types are read-only instead.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
