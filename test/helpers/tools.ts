// Tools a test needs from the machine (Chromium, Python). Missing, the test is skipped with a
// warning on a developer's machine; under CI=true (.ci/run sets it) the run fails instead, so CI
// can never pass by skipping what it was meant to check.

/** Whether `tool` is there; when it is not, warns (and skip) or, under CI=true, throws. */
export function needTool(file: string, tool: string, available: boolean, install: string): boolean {
  if (available) return true;
  const message = `${file}: ${tool} is missing (${install})`;
  if (process.env.CI === 'true') throw new Error(`${message}; under CI=true a missing tool fails the run`);
  console.warn(`${message}: skipped`);
  return false;
}
