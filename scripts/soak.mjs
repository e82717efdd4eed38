#!/usr/bin/env node
// npm run soak -- --minutes N [--report FILE]
//
// The chaos suite's faults (test/helpers/chaos.ts: PostgreSQL crashes, a Redis outage and FLUSHALL,
// a Kafka outage, SIGKILL of the leader and of a worker, SIGSTOP of a worker past its lease) on a loop
// for N minutes (default 30) against a private PostgreSQL cluster, redis-server and Kafka broker
// (scripts/kafka.mjs on free ports, its own data dir) it starts and stops itself, then
// a report: jobs, faults injected, lost, duplicates with their explanations, events checked. Exits 1
// when any check failed. Needs `npm run build` first (npm run soak does it) and PostgreSQL 15's
// initdb/pg_ctl (DOCKET_TEST_PG_BIN, default the newest /usr/lib/postgresql/<version>/bin), redis-server
// and kcat on PATH.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, report: { type: 'string', default: 'soak-report.md' } } });
const minutes = Number(values.minutes);
if (!Number.isFinite(minutes) || minutes <= 0) {
  process.stderr.write(`--minutes: a number of minutes above 0, got ${JSON.stringify(values.minutes)}\n`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const vitest = spawnSync(process.execPath, [resolve(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/soak/vitest.config.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, DOCKET_SOAK_MINUTES: String(minutes), DOCKET_SOAK_REPORT: resolve(values.report) },
});
process.exit(vitest.status ?? 1);
