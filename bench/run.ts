/**
 * `npm run bench`: the side-by-side suite (Docket embedded and production, BullMQ,
 * graphile-worker, pg-boss; bench/suite.ts). With `--mode embedded|production|all`: Docket
 * alone, with the detailed CPU accounting of production mode (bench/modes.ts).
 */
const legacy = process.argv.slice(2).some((a) => a === '--mode' || a.startsWith('--mode='));
await import(legacy ? './modes.js' : './suite.js');
