// tsc compiles only .ts: copy the SQL migration files next to the compiled adapters.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const adapters = 'src/adapters';
for (const engine of readdirSync(adapters)) {
  const dir = join(adapters, engine, 'migrations');
  if (statSync(join(adapters, engine)).isDirectory() && safeIsDir(dir)) {
    cpSync(dir, join('dist/adapters', engine, 'migrations'), { recursive: true });
  }
}

function safeIsDir(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
