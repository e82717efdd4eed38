// loadHandlers: what `docket worker --handlers` and `docket server --handlers` accept, and the
// error each wrong module gets, naming the module and what is wrong with it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHandlers } from '../src/sdk/handlers-module.js';

const dir = mkdtempSync(join(tmpdir(), 'docket-handlers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A handlers module with `source` as its text, at a path of its own (imports are cached by URL). */
function moduleOf(source: string): string {
  const path = join(dir, `handlers-${++n}.mjs`);
  writeFileSync(path, source);
  return path;
}

describe('loadHandlers', () => {
  it('takes `handlers` with queues, concurrency and a filter', async () => {
    const path = moduleOf(`
      export const handlers = { resize: async (job) => ({ w: job.payload.w }) };
      export const queues = ['images', 'thumbs'];
      export const concurrency = { '1-3': 4, '4-10': 2 };
      export const filter = { types: ['resize'], labels: { region: 'eu' } };`);
    const mod = await loadHandlers(path);
    expect(Object.keys(mod.handlers)).toEqual(['resize']);
    expect(await mod.handlers.resize!({ payload: { w: 3 } } as never, {} as never)).toEqual({ w: 3 });
    expect(mod).toMatchObject({ queues: ['images', 'thumbs'], concurrency: { '1-3': 4, '4-10': 2 }, filter: { types: ['resize'], labels: { region: 'eu' } } });
  });

  it('takes a default export as the handlers, and leaves out what the module does not set', async () => {
    const mod = await loadHandlers(moduleOf(`export default { email: () => 'sent' };`));
    expect(Object.keys(mod.handlers)).toEqual(['email']);
    expect(mod).not.toHaveProperty('queues');
    expect(mod).not.toHaveProperty('concurrency');
    expect(mod).not.toHaveProperty('filter');
  });

  it('keeps a filter of types only, or of labels only', async () => {
    expect((await loadHandlers(moduleOf(`export const handlers = {}; export const filter = { types: ['a'] };`))).filter).toEqual({ types: ['a'] });
    expect((await loadHandlers(moduleOf(`export const handlers = {}; export const filter = { labels: { k: 'v' } };`))).filter).toEqual({ labels: { k: 'v' } });
  });

  it('names a path that does not load, and why', async () => {
    const missing = join(dir, 'nowhere.mjs');
    await expect(loadHandlers(missing)).rejects.toThrow(`handlers module ${missing}: could not be loaded: `);
    const broken = moduleOf(`export const handlers = {;`);
    await expect(loadHandlers(broken)).rejects.toThrow(/could not be loaded: .+/);
  });

  it('refuses a module without handlers, or whose handlers are not an object', async () => {
    const none = moduleOf(`export const queues = ['q'];`);
    await expect(loadHandlers(none)).rejects.toThrow(`handlers module ${none}: export \`handlers\` (or a default export): an object mapping job types to functions`);
    await expect(loadHandlers(moduleOf(`export const handlers = 'resize';`))).rejects.toThrow(/export `handlers` \(or a default export\)/);
  });

  it('names the job type whose handler is not a function', async () => {
    const path = moduleOf(`export const handlers = { ok: () => 1, resize: 'resize.js' };`);
    await expect(loadHandlers(path)).rejects.toThrow(`handlers module ${path}: handlers["resize"] is string, not a function`);
  });

  it('refuses queues that are not an array of names', async () => {
    for (const queues of [`'images'`, `['images', 3]`]) {
      await expect(loadHandlers(moduleOf(`export const handlers = {}; export const queues = ${queues};`))).rejects.toThrow('`queues` must be an array of queue names');
    }
  });

  it('says what is wrong with a filter', async () => {
    const cases: [string, string][] = [
      [`'resize'`, '`filter` must be an object'],
      [`null`, '`filter` must be an object'],
      [`[]`, '`filter` must be an object'],
      [`{ types: ['a'], region: 'eu', size: 1 }`, '`filter` has unknown fields: region, size'],
      [`{ types: [] }`, '`filter` types must be a non-empty array of job types'],
      [`{ types: 'resize' }`, '`filter` types must be a non-empty array of job types'],
      [`{ types: ['a', ''] }`, '`filter` types must be a non-empty array of job types'],
      [`{ labels: null }`, '`filter` labels must map label keys to string values'],
      [`{ labels: ['eu'] }`, '`filter` labels must map label keys to string values'],
      [`{ labels: 'eu' }`, '`filter` labels must map label keys to string values'],
      [`{ labels: { region: 1 } }`, '`filter` labels must map label keys to string values'],
    ];
    for (const [filter, message] of cases) {
      const path = moduleOf(`export const handlers = {}; export const filter = ${filter};`);
      await expect(loadHandlers(path), filter).rejects.toThrow(`handlers module ${path}: ${message} (e.g. { types: ['resize'], labels: { region: 'eu' } })`);
    }
  });
});
