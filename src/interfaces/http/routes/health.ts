import type { Api } from '../server.js';
import { HealthReply } from '../schemas.js';

/** Liveness: the process answers. Outside /v1 so load balancers need no API version. */
export function healthRoutes(app: Api): void {
  app.get('/healthz', { schema: { response: { 200: HealthReply } } }, async () => ({ status: 'ok' as const }));
}
