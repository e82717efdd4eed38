import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAdmin, isClusterWorker, may, PERMISSIONS, type Action, type Principal } from '../../auth/roles.js';
import { AuthenticationError, type Authenticator } from '../../auth/tokens.js';
import { ForbiddenError } from '../../domain/errors.js';
import { NAME_PATTERN } from '../../domain/job-input.js';
import { problemOf, sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route does, checked against the caller's roles (src/auth/roles.ts). */
    action?: Action;
    /** Answers without a token (health, the API document). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Admins act for a tenant by naming it in this header. */
export const TENANT_HEADER = 'docket-tenant';
const TENANT = new RegExp(NAME_PATTERN);

/**
 * Authentication and authorization for every route: a route is either public or names its action,
 * and a route that does neither stops the server at start-up (no endpoint is open by oversight).
 */
export function installAccess(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { action?: Action; public?: boolean };
    // Routes hidden from the API document (the docs page's assets) are not API.
    if ((route.schema as { hide?: boolean } | undefined)?.hide) return;
    if (!config.public && !config.action) throw new Error(`route ${String(route.method)} ${route.url} declares neither an action nor public access`);
  });
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    // Unknown routes (404) and public ones need no token.
    if (config.public || !config.action) return;
    const header = request.headers.authorization;
    if (!header) return unauthorized(request, reply, 'missing Authorization header: send "Authorization: Bearer <token>"');
    const [scheme, token, extra] = header.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !token || extra !== undefined) {
      return unauthorized(request, reply, 'the Authorization header must be "Bearer <token>"');
    }
    try {
      request.principal = await auth.verify(token);
    } catch (err) {
      if (err instanceof AuthenticationError) return unauthorized(request, reply, err.message);
      throw err;
    }
    const principal = request.principal;
    if (!may(principal, config.action)) {
      const allowed = PERMISSIONS[config.action].join(', ');
      return sendProblem(reply, problemOf(request, 403, 'forbidden', 'Forbidden', `role ${principal.roles.join(', ')} may not ${describe(config.action)}; it needs one of: ${allowed}`));
    }
    const acting = request.headers[TENANT_HEADER];
    if (acting !== undefined) {
      if (typeof acting !== 'string' || !TENANT.test(acting)) {
        return sendProblem(reply, problemOf(request, 400, 'invalid-input', 'Invalid input', `the ${TENANT_HEADER} header must be a tenant name`));
      }
      if (!isAdmin(principal) && acting !== principal.tenant) {
        return sendProblem(reply, problemOf(request, 403, 'forbidden', 'Forbidden', `only admins may act for another tenant (${TENANT_HEADER}: ${acting})`));
      }
    }
  });
}

function unauthorized(request: FastifyRequest, reply: FastifyReply, detail: string) {
  // RFC 6750 §3: tell the client which scheme to use and why the token was refused.
  reply.header('www-authenticate', `Bearer realm="docket", error="invalid_token", error_description="${detail.replace(/"/g, "'")}"`);
  return sendProblem(reply, problemOf(request, 401, 'unauthorized', 'Unauthorized', detail));
}

function describe(action: Action): string {
  const [what, verb] = action.split(':') as [string, string];
  return verb === 'work' ? 'run the worker protocol' : verb === 'manage' ? `manage ${what}` : `${verb} ${what}`;
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`route ${request.url} read the caller without authenticating`);
  return request.principal;
}

/**
 * The tenant whose jobs this request may see: the caller's own, or for admins the one named in
 * the docket-tenant header, or null (every tenant).
 */
export function visibleTenant(request: FastifyRequest): string | null {
  const principal = principalOf(request);
  const acting = request.headers[TENANT_HEADER] as string | undefined;
  if (isAdmin(principal)) return acting ?? null;
  return principal.tenant;
}

/**
 * The tenant a listing is limited to: the caller's own (a non-admin naming another is refused),
 * or for admins the one they name or act for; undefined means every tenant.
 */
export function listedTenant(request: FastifyRequest, requested: string | undefined, what: string): string | undefined {
  const visible = visibleTenant(request);
  if (visible === null) return requested;
  if (requested !== undefined && requested !== visible) {
    throw new ForbiddenError(`this request sees only tenant ${visible}'s ${what} (tenant=${requested}); only admins, not acting for a tenant, may pick another`);
  }
  return visible;
}

/**
 * The tenant whose workers, claims and leases a worker-protocol request acts on: the token's own
 * for workers; null (every tenant) for cluster workers and for admins not acting for a tenant.
 */
export function workerTenant(request: FastifyRequest): string | null {
  const principal = principalOf(request);
  if (isAdmin(principal)) return (request.headers[TENANT_HEADER] as string | undefined) ?? null;
  if (isClusterWorker(principal)) return null;
  return principal.tenant;
}

/** The tenant new jobs belong to: the caller's, or for admins the one they act for. */
export function owningTenant(request: FastifyRequest): string {
  return visibleTenant(request) ?? principalOf(request).tenant;
}

/** Whether the caller may see a job of `tenant`; callers answer 404 when not (no existence leak). */
export function canSee(request: FastifyRequest, tenant: string): boolean {
  const visible = visibleTenant(request);
  return visible === null || visible === tenant;
}

export function caller(request: FastifyRequest): Principal {
  return principalOf(request);
}
