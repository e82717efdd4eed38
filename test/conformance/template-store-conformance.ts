import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TemplateDefaults } from '../../src/domain/template.js';
import type { Store } from '../../src/ports/store.js';
import type { NewTemplateVersion, TemplateStore } from '../../src/ports/template-store.js';
import { T0, insert } from './fixtures.js';

export interface OpenedTemplateStore {
  /** The job store the template store lives beside (migrated by the suite). */
  store: Store;
  templates: TemplateStore;
  cleanup(): Promise<void>;
}

/**
 * The TemplateStore port's contract, written only against the ports: the SQLite and PostgreSQL
 * adapters both run it (test/template-store.test.ts).
 */
export function describeTemplateStoreConformance(name: string, open: () => Promise<OpenedTemplateStore>): void {
  describe(`TemplateStore conformance: ${name}`, () => {
    let opened: OpenedTemplateStore | undefined;
    const t = () => opened!.templates;
    const store = () => opened!.store;
    beforeEach(async () => {
      opened = await open();
      await opened.store.migrate();
    });
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    const defaults = (overrides: Partial<TemplateDefaults> = {}): TemplateDefaults => ({ type: 'email.send', payload: { from: 'noreply@example.com' }, ...overrides });
    const version = (overrides: Partial<NewTemplateVersion> & { defaults?: TemplateDefaults } = {}): NewTemplateVersion => {
      const { defaults: d, ...rest } = overrides;
      return { tenant: 't1', id: 'welcome', description: null, defaultsJson: JSON.stringify(d ?? defaults()), now: T0, ...rest };
    };

    it('creates version 1 and reads it back whole; an id is unique per tenant, not across tenants', async () => {
      const d = defaults({ queue: 'email', priority: 2, labels: { team: 'growth' }, payload: { greeting: 'Grüß dich 👋', nested: { list: [1, null, 'x'] } } });
      expect(await t().create(version({ description: 'welcome mail', defaults: d }))).toBe(true);
      expect(await t().create(version({ description: 'again' }))).toBe(false);
      expect(await t().create(version({ tenant: 't2' }))).toBe(true);
      const got = await t().get('t1', 'welcome');
      expect(got).toEqual({
        tenant: 't1',
        id: 'welcome',
        latestVersion: 1,
        retiredAt: null,
        usedAt: null,
        createdAt: T0,
        updatedAt: T0,
        latest: { tenant: 't1', id: 'welcome', version: 1, description: 'welcome mail', defaults: d, createdAt: T0 },
      });
      expect((await t().get('t2', 'welcome'))!.latest.description).toBeNull();
      expect(await t().get('t3', 'welcome')).toBeUndefined();
    });

    it('adds versions n+1 and leaves earlier ones as they were', async () => {
      await t().create(version());
      expect(await t().addVersion(version({ defaults: defaults({ priority: 1 }), description: 'v2', now: T0 + 1 }))).toEqual({ ok: true, version: 2 });
      expect(await t().addVersion(version({ defaults: defaults({ priority: 3 }), now: T0 + 2 }))).toEqual({ ok: true, version: 3 });
      expect((await t().getVersion('t1', 'welcome', 1))!.defaults).toEqual(defaults());
      expect((await t().getVersion('t1', 'welcome', 2))!).toMatchObject({ version: 2, description: 'v2', createdAt: T0 + 1, defaults: { priority: 1 } });
      expect(await t().getVersion('t1', 'welcome', 4)).toBeUndefined();
      const latest = await t().get('t1', 'welcome');
      expect(latest).toMatchObject({ latestVersion: 3, createdAt: T0, updatedAt: T0 + 2, latest: { version: 3, defaults: { priority: 3 } } });
      expect((await t().listVersions('t1', 'welcome')).map((v) => v.version)).toEqual([1, 2, 3]);
      expect(await t().addVersion(version({ id: 'nope' }))).toEqual({ ok: false, reason: 'not_found' });
      expect(await t().addVersion(version({ tenant: 't2' }))).toEqual({ ok: false, reason: 'not_found' });
    });

    it('numbers concurrent new versions one after the other', async () => {
      await t().create(version());
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => t().addVersion(version({ description: `v${i}` }))));
      const numbers = results.map((r) => (r.ok ? r.version : 0)).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
      expect((await t().listVersions('t1', 'welcome')).length).toBe(13);
    });

    it('retires: readable, no new version, the first retirement time kept', async () => {
      await t().create(version());
      const retired = await t().retire('t1', 'welcome', T0 + 5);
      expect(retired).toMatchObject({ retiredAt: T0 + 5, updatedAt: T0 + 5, latestVersion: 1 });
      expect((await t().retire('t1', 'welcome', T0 + 9))!.retiredAt).toBe(T0 + 5);
      expect(await t().addVersion(version())).toEqual({ ok: false, reason: 'retired' });
      expect((await t().getVersion('t1', 'welcome', 1))!.defaults).toEqual(defaults());
      expect(await t().retire('t1', 'missing', T0)).toBeUndefined();
    });

    it('marks a template used once, keeping the first time; a missing one answers false', async () => {
      await t().create(version());
      expect(await t().markUsed('t1', 'welcome', T0 + 1)).toBe(true);
      expect(await t().markUsed('t1', 'welcome', T0 + 2)).toBe(true);
      expect(await t().get('t1', 'welcome')).toMatchObject({ usedAt: T0 + 1, updatedAt: T0 + 1 });
      expect(await t().markUsed('t2', 'welcome', T0)).toBe(false);
    });

    it('deletes an unused template with its versions; the id can be taken again from version 1', async () => {
      await t().create(version());
      await t().addVersion(version());
      expect(await t().delete('t1', 'welcome')).toEqual({ ok: true });
      expect(await t().get('t1', 'welcome')).toBeUndefined();
      expect(await t().getVersion('t1', 'welcome', 2)).toBeUndefined();
      expect(await t().delete('t1', 'welcome')).toEqual({ ok: false, reason: 'not_found' });
      expect(await t().markUsed('t1', 'welcome', T0)).toBe(false);
      expect(await t().create(version())).toBe(true);
      expect((await t().get('t1', 'welcome'))!.latestVersion).toBe(1);
      expect(await t().listVersions('t1', 'welcome')).toHaveLength(1);
    });

    it('refuses to delete a used template until it is retired and no stored job came from it', async () => {
      await t().create(version());
      await t().create(version({ tenant: 't2' }));
      await t().markUsed('t1', 'welcome', T0);
      const job = await insert(store(), { tenant: 't1', templateId: 'welcome', templateVersion: 1 });
      // Another tenant's job from its own template of the same id does not count for t1.
      const other = await insert(store(), { tenant: 't2', templateId: 'welcome', templateVersion: 1 });
      expect(await t().delete('t1', 'welcome')).toEqual({ ok: false, reason: 'in_use', retired: false });
      await t().retire('t1', 'welcome', T0);
      expect(await t().delete('t1', 'welcome')).toEqual({ ok: false, reason: 'in_use', retired: true });
      await store().deleteJobs([job.id]);
      expect(await t().delete('t1', 'welcome')).toEqual({ ok: true });
      expect(await store().getJob(other.id)).toBeDefined();
      expect(await t().get('t2', 'welcome')).toBeDefined();
    });

    it('never lets a first use and a delete both succeed when they race', async () => {
      for (let i = 0; i < 15; i++) {
        const id = `race-${i}`;
        await t().create(version({ id }));
        const [used, deleted] = await Promise.all([t().markUsed('t1', id, T0), t().delete('t1', id)]);
        // Either the use came first (the delete refuses) or the delete did (the use finds nothing).
        expect(used && deleted.ok, `round ${i}: used ${used}, deleted ${JSON.stringify(deleted)}`).toBe(false);
        expect(used || deleted.ok).toBe(true);
      }
    });

    it('lists a tenant\'s templates by id, with their latest version, a page at a time', async () => {
      for (const id of ['c', 'a', 'b', 'd']) await t().create(version({ id }));
      await t().create(version({ tenant: 't2', id: 'zz' }));
      await t().addVersion(version({ id: 'b', description: 'second' }));
      const first = await t().list('t1', 3);
      expect(first.templates.map((x) => x.id)).toEqual(['a', 'b', 'c']);
      expect(first.templates[1]).toMatchObject({ latestVersion: 2, latest: { version: 2, description: 'second' } });
      expect(first.nextCursor).toBe('c');
      const second = await t().list('t1', 3, first.nextCursor!);
      expect(second).toMatchObject({ templates: [{ id: 'd' }], nextCursor: null });
      expect((await t().list('t3', 10)).templates).toEqual([]);
    });

    describe('the job columns', () => {
      it('records the template and version a job came from, null for others, and filters on it', async () => {
        const a = await insert(store(), { templateId: 'welcome', templateVersion: 2 });
        const b = await insert(store(), { templateId: 'welcome', templateVersion: 3 });
        const c = await insert(store(), { templateId: 'other', templateVersion: 1 });
        const plain = await insert(store());
        expect(await store().getJob(a.id)).toMatchObject({ templateId: 'welcome', templateVersion: 2 });
        expect(await store().getJob(plain.id)).toMatchObject({ templateId: null, templateVersion: null });
        const listed = await store().listJobs({ templateId: 'welcome' }, 10);
        expect(listed.jobs.map((j) => j.id)).toEqual([b.id, a.id]);
        expect((await store().listJobs({ templateId: 'other', tenant: 't1' }, 10)).jobs.map((j) => j.id)).toEqual([c.id]);
        expect((await store().listJobs({ templateId: 'welcome', tenant: 't2' }, 10)).jobs).toEqual([]);
      });

      it('keeps the origin through claims and transitions', async () => {
        const job = await insert(store(), { templateId: 'welcome', templateVersion: 4 });
        const { claimed } = await store().claimJobs([{ id: job.id, leaseToken: 'tok' }], 'w1', T0 + 30_000, T0);
        expect(claimed[0]).toMatchObject({ templateId: 'welcome', templateVersion: 4 });
        const [moved] = await store().transition([{ id: job.id, from: ['running'], leaseToken: 'tok', to: 'retrying', patch: { runAt: T0 + 1000 }, now: T0 }]);
        expect(moved).toMatchObject({ ok: true, job: { templateId: 'welcome', templateVersion: 4 } });
      });
    });
  });
}
