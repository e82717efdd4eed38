// tsc compiles only .ts: copy the files adapters read at run time (SQL migrations, Lua scripts)
// to the same place under dist.
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSETS = /\.(sql|lua)$/;

function copyAssets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(path);
    else if (ASSETS.test(entry.name)) {
      const target = join('dist', relative('src', path));
      cpSync(path, target);
    }
  }
}

copyAssets('src');
