import type { FastifyRequest } from 'fastify';
import { CreateTemplateSchema, TemplateVersionSchema } from '../../../domain/template.js';
import type { Jobs } from '../../../services/jobs/index.js';
import type { TemplateService } from '../../../services/template-service.js';
import { owningTenant } from '../access.js';
import { NoContent, PROBLEMS } from '../schemas.js';
import {
  TemplateListQuery,
  TemplateParams,
  TemplatesReply,
  TemplateVersionParams,
  TemplateVersionView,
  TemplateView,
} from '../template-schemas.js';
import { templateVersionView, templateView } from '../template-views.js';
import type { Api, RouteDeps } from '../server.js';

const READ = { action: 'templates:read' } as const;
const MANAGE = { action: 'templates:manage' } as const;

/**
 * Job templates (docs/templates.md). A template belongs to one tenant: the caller's, or for
 * admins the one named in the docket-tenant header; another tenant's template answers 404.
 */
export function templateRoutes(app: Api, { jobs }: RouteDeps): void {
  app.get('/v1/templates', { config: READ, schema: { querystring: TemplateListQuery, response: { 200: TemplatesReply, ...PROBLEMS } } }, async (request) => {
    const page = await templatesOf(jobs).list(tenantOf(request), request.query.limit ?? 50, request.query.cursor);
    return { templates: page.templates.map(templateView), nextCursor: page.nextCursor };
  });

  app.post('/v1/templates', { config: MANAGE, schema: { body: CreateTemplateSchema, response: { 201: TemplateView, ...PROBLEMS } } }, async (request, reply) =>
    reply.code(201).send(templateView(await templatesOf(jobs).create(tenantOf(request), request.body))),
  );

  app.get('/v1/templates/:id', { config: READ, schema: { params: TemplateParams, response: { 200: TemplateView, ...PROBLEMS } } }, async (request) =>
    templateView(await templatesOf(jobs).get(tenantOf(request), request.params.id)),
  );

  app.get(
    '/v1/templates/:id/versions/:version',
    { config: READ, schema: { params: TemplateVersionParams, response: { 200: TemplateVersionView, ...PROBLEMS } } },
    async (request) => {
      const { template, version } = await templatesOf(jobs).version(tenantOf(request), request.params.id, request.params.version);
      return templateVersionView(template, version);
    },
  );

  app.post(
    '/v1/templates/:id/versions',
    { config: MANAGE, schema: { params: TemplateParams, body: TemplateVersionSchema, response: { 201: TemplateView, ...PROBLEMS } } },
    async (request, reply) => reply.code(201).send(templateView(await templatesOf(jobs).addVersion(tenantOf(request), request.params.id, request.body))),
  );

  app.post('/v1/templates/:id/retire', { config: MANAGE, schema: { params: TemplateParams, response: { 200: TemplateView, ...PROBLEMS } } }, async (request) =>
    templateView(await templatesOf(jobs).retire(tenantOf(request), request.params.id)),
  );

  app.delete('/v1/templates/:id', { config: MANAGE, schema: { params: TemplateParams, response: { 204: NoContent, ...PROBLEMS } } }, async (request, reply) => {
    await templatesOf(jobs).delete(tenantOf(request), request.params.id);
    return reply.code(204).send(null);
  });
}

/** Templates are per tenant, as submits are: the tenant a submit from this caller would go to. */
function tenantOf(request: FastifyRequest): string {
  return owningTenant(request);
}

function templatesOf(jobs: Jobs): TemplateService {
  // The engine always wires them (app/docket.ts); only a hand-built jobs may lack them.
  if (!jobs.templates) throw new Error('this server runs without job templates (Jobs built without a template jobs)');
  return jobs.templates;
}
