import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { Api } from '../server.js';

/**
 * The web dashboard (docs/ui.md): the files Vite builds from ui/ into dist/ui, served at `/`.
 * The pages are routes of the browser app; each one below answers with index.html so a reload
 * or a shared link (/jobs/0199…) opens that page. They are listed one by one, so no API path
 * (/v1, /metrics, /docs, /openapi.json, /healthz) can ever be shadowed by the dashboard.
 * The files need no token: the app asks for one and sends it with every API call.
 */
export const UI_PAGES = ['sign-in', 'jobs', 'dead-letters', 'conditions', 'schedules', 'workers', 'templates', 'alerts'] as const;

/** From src/interfaces/http/routes (tests) or dist/interfaces/http/routes (built): the package root's dist/ui. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
/** Vite names assets by content hash, and index.html is never cached: assets can be cached for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const ASSET_NAME = /^[A-Za-z0-9_.-]+$/;
// The app loads its own script and styles and talks to this origin only; charts draw on canvas.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function uiRoutes(app: Api, dir: string = DEFAULT_UI_DIR): void {
  let index: string | null = null;
  const sendIndex = async (reply: FastifyReply) => {
    // Read until found, then kept: a server started before `npm run build` serves the UI once built.
    index ??= await readFile(join(dir, 'index.html'), 'utf8').catch(() => null);
    if (index === null) return reply.code(404).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT(dir));
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').send(index);
  };
  const page = { config: { public: true }, schema: { hide: true } } as const;

  app.get('/', page, (_request, reply) => sendIndex(reply));
  for (const name of UI_PAGES) {
    app.get(`/${name}`, page, (_request, reply) => sendIndex(reply));
    app.get(`/${name}/*`, page, (_request, reply) => sendIndex(reply));
  }

  app.get('/assets/:file', page, async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = TYPES[extname(file)];
    const body = ASSET_NAME.test(file) && type ? await readFile(join(dir, 'assets', file)).catch(() => null) : null;
    if (body === null) return reply.code(404).type('text/plain; charset=utf-8').send(`no dashboard asset ${file}`);
    return reply.type(type!).header('cache-control', IMMUTABLE).header('x-content-type-options', 'nosniff').send(body);
  });
}

const NOT_BUILT = (dir: string) => `<!doctype html>
<meta charset="utf-8"><title>Docket: dashboard not built</title>
<body style="font:15px system-ui,sans-serif;max-width:40rem;margin:4rem auto;color:#1f2937">
<h1 style="font-size:1.3rem">The Docket dashboard was not built</h1>
<p>The server found no <code>index.html</code> in <code>${dir.replace(/[<>&]/g, '')}</code>.
Build it with <code>npm run build</code> (it runs <code>vite build --config ui/vite.config.ts</code>) and reload this page.</p>
<p>The API works without it: <a href="/docs">/docs</a>, <a href="/openapi.json">/openapi.json</a>.</p>
</body>`;
