/**
 * Where the benchmark finds the repository. Its compiled files run from bench/dist/bench/
 * (bench/tsconfig.json compiles bench/ and the src/ files it imports into bench/dist/), so the
 * repository root is three levels up from here.
 */
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The CLI the production systems run, on the package build (dist/, `npm run build`). */
export const BIN = `${ROOT}bin/docket`;
/** The no-op and probe handlers Docket's worker processes load (`--handlers`). */
export const HANDLERS = fileURLToPath(new URL('./handlers.js', import.meta.url));
