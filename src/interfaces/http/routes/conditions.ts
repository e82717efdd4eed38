import { NotFoundError } from '../../../domain/errors.js';
import type { ConditionView as Condition } from '../../../services/recovery-ops.js';
import { visibleTenant } from '../access.js';
import { ConditionActionReply, ConditionParams, ConditionsReply, ConditionView, PROBLEMS } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';

/** Recovery conditions: what jobs are parked under, and the operator's hand on them. */
export function conditionRoutes(app: Api, { recovery }: RouteDeps): void {
  app.get('/v1/conditions', { config: { action: 'recovery:read' }, schema: { response: { 200: ConditionsReply, ...PROBLEMS } } }, async (request) => ({
    conditions: (await recovery.list(visibleTenant(request))).map(conditionView),
  }));

  app.get('/v1/conditions/:key', { config: { action: 'recovery:read' }, schema: { params: ConditionParams, response: { 200: ConditionView, ...PROBLEMS } } }, async (request) => {
    const c = await recovery.get(request.params.key, visibleTenant(request));
    if (!c) throw new NotFoundError('condition', request.params.key);
    return conditionView(c);
  });

  app.post(
    '/v1/conditions/:key/release',
    { config: { action: 'recovery:manage' }, schema: { params: ConditionParams, response: { 200: ConditionActionReply, ...PROBLEMS } } },
    async (request) => {
      const { key } = request.params;
      if (!(await recovery.release(key))) throw new NotFoundError('condition', key);
      return { key, status: 'releasing' };
    },
  );

  app.post(
    '/v1/conditions/:key/drain',
    { config: { action: 'recovery:manage' }, schema: { params: ConditionParams, response: { 200: ConditionActionReply, ...PROBLEMS } } },
    async (request) => {
      const { key } = request.params;
      const released = await recovery.drain(key);
      if (released === undefined) throw new NotFoundError('condition', key);
      return { key, status: 'closed', released };
    },
  );

  app.post(
    '/v1/conditions/:key/fail',
    { config: { action: 'recovery:manage' }, schema: { params: ConditionParams, response: { 200: ConditionActionReply, ...PROBLEMS } } },
    async (request) => {
      const { key } = request.params;
      const failed = await recovery.fail(key);
      if (failed === undefined) throw new NotFoundError('condition', key);
      return { key, status: 'closed', failed };
    },
  );
}

function conditionView(c: Condition) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    ...c,
    firstSeenAt: iso(c.firstSeenAt),
    lastSeenAt: iso(c.lastSeenAt),
    nextProbeAt: iso(c.nextProbeAt),
    releasingSince: c.releasingSince === null ? null : iso(c.releasingSince),
  };
}
