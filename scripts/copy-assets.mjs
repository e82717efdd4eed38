// tsc compiles only .ts: copy the files adapters read at run time (SQL migrations, Lua scripts)
// to the same place under dist (or under the directory given: the benchmark's build compiles src
// into bench/dist/src, `node scripts/copy-assets.mjs bench/dist/src`).
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSETS = /\.(sql|lua)$/;
const TARGET = process.argv[2] ?? 'dist';

function copyAssets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(path);
    else if (ASSETS.test(entry.name)) {
      const target = join(TARGET, relative('src', path));
      cpSync(path, target);
    }
  }
}

copyAssets('src');
