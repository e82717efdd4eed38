import { Type, type Static } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../domain/job-input.js';
import { TemplateDefaultsSchema } from '../../domain/template.js';

/** Request and response shapes of /v1/templates (docs/templates.md). */

const Iso = (description: string) => Type.String({ format: 'date-time', description });

export const TemplateParams = Type.Object({ id: Type.String({ pattern: NAME_PATTERN, description: 'template id' }) }, { additionalProperties: false });

export const TemplateVersionParams = Type.Object(
  { id: Type.String({ pattern: NAME_PATTERN }), version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) },
  { additionalProperties: false },
);

export const TemplateListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type TemplateListQueryType = Static<typeof TemplateListQuery>;

const VersionSummary = Type.Object({
  version: Type.Integer(),
  description: Type.Union([Type.String(), Type.Null()]),
  createdAt: Iso('when the version was created'),
});

export const TemplateView = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    version: Type.Integer({ description: 'the latest version: what a submit without templateVersion uses' }),
    description: Type.Union([Type.String(), Type.Null()], { description: "the latest version's" }),
    defaults: TemplateDefaultsSchema,
    retired: Type.Boolean({ description: 'a retired template takes no new jobs or versions; it stays readable' }),
    retiredAt: Type.Union([Iso('when it was retired'), Type.Null()]),
    usedAt: Type.Union([Iso('when the first job was created from it'), Type.Null()], { description: 'null: never used, so it may be deleted' }),
    createdAt: Iso('when version 1 was created'),
    updatedAt: Iso('last new version, retirement or first use'),
    versions: Type.Optional(Type.Array(VersionSummary, { description: 'every version, oldest first (single-template reads)' })),
  },
  { description: 'a job template, with its latest version' },
);
export type TemplateViewType = Static<typeof TemplateView>;

export const TemplateVersionView = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  version: Type.Integer(),
  latest: Type.Boolean({ description: 'whether this is the latest version' }),
  retired: Type.Boolean(),
  description: Type.Union([Type.String(), Type.Null()]),
  defaults: TemplateDefaultsSchema,
  createdAt: Iso('when the version was created'),
});

export const TemplatesReply = Type.Object({
  templates: Type.Array(TemplateView, { description: 'by id' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null on the last page' }),
});
