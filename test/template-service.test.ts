// TemplateService (src/services/template-service.ts) on an in-memory SQLite store: the bodies it
// accepts and the fields it names when it refuses, versions, retire and delete, and how submits
// that name a template are expanded (and refused: 422 issues, or 409 for a retired template).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SqliteTemplateStore } from '../src/adapters/sqlite/sqlite-template-store.js';
import { DocketError, NotFoundError, PayloadTooLargeError, ValidationError } from '../src/domain/errors.js';
import { TemplateService } from '../src/services/template-service.js';
import { insert } from './conformance/fixtures.js';

let store: SqliteStore;
let templates: SqliteTemplateStore;
let clock: ManualClock;
let service: TemplateService;

beforeEach(async () => {
  store = new SqliteStore({ path: ':memory:' });
  await store.migrate();
  templates = new SqliteTemplateStore(store);
  clock = new ManualClock(Date.parse('2026-02-01T10:00:00Z'));
  service = new TemplateService(templates, clock, { maxPayloadBytes: 200 });
});
afterEach(async () => {
  await store.close();
});

/** What a call is refused with: the error's class and its `path: message` lines (or its message). */
async function refusal(call: Promise<unknown>): Promise<{ kind: string; code: string; issues: string[] }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof DocketError)) throw err;
    const listed = 'issues' in err && Array.isArray(err.issues) ? err.issues.map((i: { path: string; message: string }) => `${i.path}: ${i.message}`) : [];
    const issues = listed.length > 0 ? listed : [err.message];
    return { kind: err.constructor.name, code: err.code, issues };
  }
  throw new Error('not refused');
}

const welcome = { id: 'welcome', description: 'welcome mail', defaults: { type: 'email.send', queue: 'email', payload: { from: 'noreply@example.com' }, labels: { team: 'growth' } } };

describe('create and versions', () => {
  it('creates version 1 and reads it back with its versions', async () => {
    const created = await service.create('t1', welcome);
    expect(created).toMatchObject({ id: 'welcome', latestVersion: 1, retiredAt: null, usedAt: null });
    expect(created.versions.map((v) => [v.version, v.description, v.defaults])).toEqual([[1, 'welcome mail', welcome.defaults]]);
  });

  it('keeps no description when none is given', async () => {
    const created = await service.create('t1', { id: 'plain', defaults: { type: 'x' } });
    expect(created.latest.description).toBeNull();
  });

  it('refuses a taken id with 409 naming /id, in the same tenant only', async () => {
    await service.create('t1', welcome);
    expect(await refusal(service.create('t1', welcome))).toEqual({ kind: 'ConflictError', code: 'template_exists', issues: ['/id: taken'] });
    expect((await service.create('t2', welcome)).id).toBe('welcome');
  });

  it('names every bad field of a body', async () => {
    expect(await refusal(service.create('t1', [welcome]))).toEqual({
      kind: 'ValidationError',
      code: 'invalid_input',
      issues: [': a template must be a JSON object: {"id", "defaults", "description"}'],
    });
    expect((await refusal(service.create('t1', { name: 'x', description: 7 }))).issues).toEqual([
      '/name: unknown field',
      '/id: required',
      '/description: must be text of at most 1000 characters',
      '/defaults: required',
    ]);
    expect((await refusal(service.create('t1', { id: 'no spaces', defaults: { type: 'x' }, description: 'd'.repeat(1001) }))).issues).toEqual([
      '/id: "no spaces" is not a valid name (letters, digits and _ . : -, up to 128)',
      '/description: must be text of at most 1000 characters',
    ]);
    // A version body has no id.
    await service.create('t1', welcome);
    expect((await refusal(service.addVersion('t1', 'welcome', { id: 'welcome', defaults: { type: 'x' } }))).issues).toEqual(['/id: unknown field']);
    expect((await refusal(service.addVersion('t1', 'welcome', null))).issues).toEqual([': a template must be a JSON object: {"defaults", "description"}']);
  });

  it('checks the defaults as a job: fields a template cannot hold, ranges, and the payload limit', async () => {
    expect((await refusal(service.create('t1', { id: 'a', defaults: { type: 'x', runAt: '2026-03-01T00:00:00Z', priority: 11 } }))).issues).toEqual([
      '/defaults/runAt: not part of a template: an absolute time; use delayMs in the template, or give runAt when submitting',
    ]);
    expect((await refusal(service.create('t1', { id: 'a', defaults: { type: 'x', priority: 11 } }))).issues).toEqual([
      '/defaults/priority: Expected integer to be less or equal to 10 (got 11)',
    ]);
    await expect(service.create('t1', { id: 'a', defaults: { type: 'x', payload: 'p'.repeat(300) } })).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('adds versions; a missing template is 404 and a retired one 409', async () => {
    await service.create('t1', welcome);
    const v2 = await service.addVersion('t1', 'welcome', { description: 'v2', defaults: { type: 'email.send', priority: 2 } });
    expect(v2.latestVersion).toBe(2);
    expect(v2.versions.map((v) => v.description)).toEqual(['welcome mail', 'v2']);
    await expect(service.addVersion('t1', 'nope', { defaults: { type: 'x' } })).rejects.toThrow(new NotFoundError('template', 'nope'));
    await service.retire('t1', 'welcome');
    expect(await refusal(service.addVersion('t1', 'welcome', { defaults: { type: 'x' } }))).toMatchObject({ kind: 'ConflictError', code: 'template_retired' });
  });

  it('reads a version: the latest, an older one, and names the range of a missing one', async () => {
    await service.create('t1', welcome);
    await service.addVersion('t1', 'welcome', { defaults: { type: 'email.send', priority: 2 } });
    expect((await service.version('t1', 'welcome', 2)).version.defaults).toEqual({ type: 'email.send', priority: 2 });
    expect((await service.version('t1', 'welcome', 1)).version.defaults).toEqual(welcome.defaults);
    await expect(service.version('t1', 'welcome', 3)).rejects.toThrow('version 3 of template welcome (it has versions 1 to 2) not found');
    await expect(service.version('t1', 'other', 1)).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.get('t2', 'welcome')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists by id, a page at a time', async () => {
    for (const id of ['b', 'a', 'c']) await service.create('t1', { id, defaults: { type: 'x' } });
    const first = await service.list('t1', 2);
    expect(first.templates.map((t) => t.id)).toEqual(['a', 'b']);
    expect((await service.list('t1', 2, first.nextCursor!)).templates.map((t) => t.id)).toEqual(['c']);
  });
});

describe('retire and delete', () => {
  it('retires (idempotent); a missing template is 404', async () => {
    await service.create('t1', welcome);
    const retired = await service.retire('t1', 'welcome');
    expect(retired.retiredAt).toBe(clock.now());
    expect((await service.retire('t1', 'welcome')).retiredAt).toBe(retired.retiredAt);
    await expect(service.retire('t1', 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('deletes an unused template; a missing one is 404', async () => {
    await service.create('t1', welcome);
    await service.delete('t1', 'welcome');
    await expect(service.get('t1', 'welcome')).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.delete('t1', 'welcome')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses to delete a used template: retire it, or (retired) wait until its jobs are gone', async () => {
    await service.create('t1', welcome);
    await insert(store, { tenant: 't1', templateId: 'welcome', templateVersion: 1 });
    await templates.markUsed('t1', 'welcome', clock.now());
    const inUse = await refusal(service.delete('t1', 'welcome'));
    expect(inUse).toMatchObject({ kind: 'ConflictError', code: 'template_in_use' });
    expect(inUse.issues[0]).toContain('retire it instead (POST /v1/templates/welcome/retire)');
    await service.retire('t1', 'welcome');
    const retired = await refusal(service.delete('t1', 'welcome'));
    expect(retired.issues[0]).toContain('is retired, but jobs created from it are still stored');
  });
});

describe('expand (submits that name a template)', () => {
  const NOW = Date.parse('2026-02-01T10:00:00Z');

  beforeEach(async () => {
    await service.create('t1', { id: 'welcome', defaults: { type: 'email.send', payload: { from: 'a@x', lang: 'en' }, labels: { team: 'growth' }, delayMs: 1000, expiresInMs: 60_000 } });
    await service.addVersion('t1', 'welcome', { defaults: { type: 'email.send', payload: { from: 'b@x' }, priority: 2 } });
  });

  it('merges the latest version by default and leaves plain inputs as they are', async () => {
    const plain = { type: 'other' };
    const { inputs, origins } = await service.expand([{ templateId: 'welcome', payload: { to: 'u@x' } }, plain], 't1', NOW);
    expect(inputs).toEqual([{ type: 'email.send', priority: 2, payload: { from: 'b@x', to: 'u@x' } }, plain]);
    expect(inputs[1]).toBe(plain);
    expect(origins).toEqual([{ id: 'welcome', version: 2 }, null]);
  });

  it('merges an older version when asked, with its delay, labels and expiry', async () => {
    const { inputs, origins } = await service.expand([{ templateId: 'welcome', templateVersion: 1, labels: { run: '7' }, payload: { lang: null } }], 't1', NOW);
    expect(inputs).toEqual([
      { type: 'email.send', delayMs: 1000, labels: { team: 'growth', run: '7' }, payload: { from: 'a@x' }, expiresAt: new Date(NOW + 1000 + 60_000).toISOString() },
    ]);
    expect(origins).toEqual([{ id: 'welcome', version: 1 }]);
  });

  it('marks the template used only when the submit is valid', async () => {
    await expect(service.expand([{ templateId: 'welcome', priority: 0 }], 't1', NOW)).rejects.toBeInstanceOf(ValidationError);
    expect((await service.get('t1', 'welcome')).usedAt).toBeNull();
    await service.expand([{ templateId: 'welcome' }, { templateId: 'welcome' }], 't1', NOW);
    expect((await service.get('t1', 'welcome')).usedAt).toBe(NOW);
  });

  it('names each bad reference by its index in a batch, and validates the merged jobs under the same paths', async () => {
    const { kind, issues } = await refusal(
      service.expand(
        [
          { templateVersion: 1 },
          { templateId: 'bad name' },
          { templateId: 'welcome', templateVersion: 0 },
          { templateId: 'welcome', templateVersion: 1.5 },
          { templateId: 'missing' },
          { templateId: 'welcome', templateVersion: 9 },
          { templateId: 'welcome', priority: 99 },
          { type: 'plain', queue: 'no spaces' },
        ],
        't1',
        NOW,
      ),
    );
    expect(kind).toBe('ValidationError');
    expect(issues).toEqual([
      '/0/templateVersion: give templateId with templateVersion',
      '/1/templateId: "bad name" is not a template name',
      '/2/templateVersion: must be a whole number from 1 (got 0)',
      '/3/templateVersion: must be a whole number from 1 (got 1.5)',
      '/4/templateId: no template "missing" in tenant t1; create it with POST /v1/templates',
      '/5/templateVersion: template "welcome" has versions 1 to 2 (got 9)',
      '/6/priority: Expected integer to be less or equal to 10 (got 99)',
      '/7/queue: "no spaces" is not a valid name (letters, digits and _ . : -, up to 128, starting with a letter or digit)',
    ]);
  });

  it('names a single input without an index; another tenant\'s template is not found', async () => {
    expect((await refusal(service.expand([{ templateId: 'welcome' }], 't2', NOW))).issues).toEqual([
      '/templateId: no template "welcome" in tenant t2; create it with POST /v1/templates',
    ]);
  });

  it('refuses a retired template with 409 when nothing else is wrong, else with the other issues (422)', async () => {
    await service.retire('t1', 'welcome');
    const retired = '/templateId: template "welcome" is retired: it takes no new jobs (it stays readable)';
    expect(await refusal(service.expand([{ templateId: 'welcome' }], 't1', NOW))).toEqual({ kind: 'ConflictError', code: 'template_retired', issues: [retired] });
    expect(await refusal(service.expand([{ templateId: 'welcome' }, { type: 'x', priority: 0 }], 't1', NOW))).toEqual({
      kind: 'ValidationError',
      code: 'invalid_input',
      issues: ['/1/priority: Expected integer to be greater or equal to 1 (got 0)', '/0/templateId: template "welcome" is retired: it takes no new jobs (it stays readable)'],
    });
  });

  it('lets a merged payload over the limit through as PayloadTooLargeError', async () => {
    await expect(service.expand([{ templateId: 'welcome', payload: { big: 'x'.repeat(300) } }], 't1', NOW)).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('refuses the submit when the template was deleted while it was under way', async () => {
    const racing = new TemplateService({ ...templates, get: templates.get.bind(templates), getVersion: templates.getVersion.bind(templates), markUsed: async () => false } as unknown as SqliteTemplateStore, clock);
    expect((await refusal(racing.expand([{ templateId: 'welcome' }], 't1', NOW))).issues).toEqual([
      '/templateId: template "welcome" was deleted while this submit was under way',
    ]);
  });

  it('refuses a version the store no longer has', async () => {
    const gone = new TemplateService({ get: templates.get.bind(templates), getVersion: async () => undefined } as unknown as SqliteTemplateStore, clock);
    expect((await refusal(gone.expand([{ templateId: 'welcome', templateVersion: 1 }], 't1', NOW))).issues).toEqual([
      '/templateVersion: template "welcome" has no version 1',
    ]);
  });
});
