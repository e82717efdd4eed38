import type { Static } from '@sinclair/typebox';
import type { CreateTemplateInput, TemplateDefaults, TemplateVersionInput } from '../domain/template.js';
import type { TemplatesReply, TemplateVersionView, TemplateViewType } from '../interfaces/http/template-schemas.js';

export type { TemplateDefaults };
export type TemplateInfo = TemplateViewType;
export type TemplateVersionInfo = Static<typeof TemplateVersionView>;
export type TemplatePageView = Static<typeof TemplatesReply>;

/** What the client calls requests through: DocketClient.request. */
interface Requester {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

const enc = encodeURIComponent;

/**
 * The /v1/templates endpoints (docs/templates.md), as `client.templates`. Submit from a template
 * with `client.submit({ templateId, payload })`.
 */
export class TemplatesClient {
  constructor(private readonly api: Requester) {}

  /** Creates a template with its version 1. 409 when the id is taken. */
  create(input: CreateTemplateInput): Promise<TemplateInfo> {
    return this.api.request('POST', '/v1/templates', input);
  }

  /** Adds the next version (earlier versions never change). 409 when the template is retired. */
  addVersion(id: string, input: TemplateVersionInput): Promise<TemplateInfo> {
    return this.api.request('POST', `/v1/templates/${enc(id)}/versions`, input);
  }

  /** The template with its latest version and the list of every version. */
  get(id: string): Promise<TemplateInfo> {
    return this.api.request('GET', `/v1/templates/${enc(id)}`);
  }

  version(id: string, version: number): Promise<TemplateVersionInfo> {
    return this.api.request('GET', `/v1/templates/${enc(id)}/versions/${version}`);
  }

  /** By id; pass `nextCursor` back as `cursor` for the next page. */
  list(options: { limit?: number; cursor?: string } = {}): Promise<TemplatePageView> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const qs = query.toString();
    return this.api.request('GET', `/v1/templates${qs ? `?${qs}` : ''}`);
  }

  /** No new jobs or versions from it; it stays readable. */
  retire(id: string): Promise<TemplateInfo> {
    return this.api.request('POST', `/v1/templates/${enc(id)}/retire`);
  }

  /** Deletes an unused template; one jobs came from answers 409 (retire it instead). */
  async delete(id: string): Promise<void> {
    await this.api.request('DELETE', `/v1/templates/${enc(id)}`);
  }
}
