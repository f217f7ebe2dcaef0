import { GraphQLError } from 'graphql';
import { builder } from '../../../core/builder.ts';
import { DomainError } from '../../../core/errors.ts';
import type { DatabaseWithCounts } from '../logstore.databases.ts';
import { parseRange, parseScope, parseTimestamp } from '../logstore.input.ts';
import {
  LogDraftRef,
  LogDraftStatusEnum,
  LogJobEventRef,
  LogJobRef,
  LogJobStatusEnum,
  LogJobTypeEnum,
  LogSplitRef,
  LogSplitStateEnum,
  logStoreErrors,
  offsetConnection,
} from './types.ts';

const minTs = -8.64e15;
const maxTs = 8.64e15;

/**
 * Nested fields have no result union: an expected failure (a bad filter argument, a page above 1000) is surfaced as a
 * GraphQL error with its code instead of being masked as an internal error.
 */
async function exposed<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof DomainError) throw new GraphQLError(e.message, { extensions: { code: e.code } });
    throw e;
  }
}

/** `totalCount` of a DeepStore connection (set by offsetConnection). */
const totalOf = (conn: object) => (conn as { totalCount?: number }).totalCount ?? 0;
const totalCountDescription = 'All matching items, not only this page.';

export const LogDatabaseRef = builder.node(builder.objectRef<DatabaseWithCounts>('LogDatabase'), {
  id: { description: 'Global id for node(id)/nodes(ids).', resolve: (db) => db.databaseId },
  description:
    'A DeepStore log database: drafts, splits and the jobs that move them. Owner (or its service token) only.',
  loadOne: (id, ctx) => ctx.services.logstore.findDatabase(ctx.principal, { databaseId: id }),
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'databaseId' in v && 'draftCount' in v,
  fields: (t) => ({
    databaseId: t.exposeString('databaseId', { description: 'The id REST paths use.' }),
    name: t.exposeString('name', { description: 'Display name (not unique).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the database was created.' }),
    draftCount: t.exposeInt('draftCount', { description: 'Drafts not yet cleaned (any status).' }),
    splitCount: t.exposeInt('splitCount', { description: 'Published splits.' }),
    drafts: t.connection(
      {
        type: LogDraftRef,
        description: 'Drafts by creation time; filters: statuses, scope, overlap with [startTimestamp, endTimestamp].',
        args: {
          statuses: t.arg({ type: [LogDraftStatusEnum], required: false, description: 'Only these states.' }),
          scope: t.arg.string({ required: false, description: 'Only this scope.' }),
          startTimestamp: t.arg.string({
            required: false,
            description: 'Overlap window start: epoch milliseconds (decimal text) or ISO-8601.',
          }),
          endTimestamp: t.arg.string({
            required: false,
            description: 'Overlap window end: epoch milliseconds (decimal text) or ISO-8601.',
          }),
        },
        resolve: (db, args, ctx) =>
          exposed(() =>
            offsetConnection(args, ({ take, offset }) =>
              ctx.services.logstore.listDrafts(ctx.principal, {
                databaseId: db.databaseId,
                take,
                offset,
                filter: {
                  ...(args.statuses ? { statuses: args.statuses } : {}),
                  ...(args.scope != null ? { scope: parseScope(args.scope) } : {}),
                  ...(args.startTimestamp != null
                    ? { start: parseTimestamp(args.startTimestamp, 'startTimestamp') }
                    : {}),
                  ...(args.endTimestamp != null ? { end: parseTimestamp(args.endTimestamp, 'endTimestamp') } : {}),
                },
              }),
            ),
          ),
      },
      {
        description: 'A page of results, with the total.',
        fields: (c) => ({ totalCount: c.int({ description: totalCountDescription, resolve: totalOf }) }),
      },
      { description: 'One result and its cursor.' },
    ),
    splits: t.connection(
      {
        type: LogSplitRef,
        description: 'Splits overlapping [startTimestamp, endTimestamp] (inclusive), by time; default state published.',
        args: {
          states: t.arg({ type: [LogSplitStateEnum], required: false, description: 'Only these states.' }),
          startTimestamp: t.arg.string({
            required: false,
            description: 'Overlap window start: epoch milliseconds (decimal text) or ISO-8601.',
          }),
          endTimestamp: t.arg.string({
            required: false,
            description: 'Overlap window end: epoch milliseconds (decimal text) or ISO-8601.',
          }),
        },
        resolve: (db, args, ctx) =>
          exposed(() => {
            const [start, end] = parseRange(
              args.startTimestamp ?? minTs,
              args.endTimestamp ?? maxTs,
              'startTimestamp',
              'endTimestamp',
            );
            return offsetConnection(args, ({ take, offset }) =>
              ctx.services.logstore.listSplits(ctx.principal, {
                databaseId: db.databaseId,
                start,
                end,
                take,
                offset,
                ...(args.states ? { states: args.states } : {}),
              }),
            );
          }),
      },
      {
        description: 'A page of results, with the total.',
        fields: (c) => ({ totalCount: c.int({ description: totalCountDescription, resolve: totalOf }) }),
      },
      { description: 'One result and its cursor.' },
    ),
    jobs: t.connection(
      {
        type: LogJobRef,
        description: 'Jobs, newest lease first.',
        args: {
          status: t.arg({ type: LogJobStatusEnum, required: false, description: 'Only jobs in this state.' }),
          type: t.arg({ type: LogJobTypeEnum, required: false, description: 'Only jobs of this type.' }),
        },
        resolve: (db, args, ctx) =>
          exposed(() =>
            offsetConnection(args, ({ take, offset }) =>
              ctx.services.logstore.listJobs(ctx.principal, {
                databaseId: db.databaseId,
                take,
                offset,
                ...(args.status ? { status: args.status } : {}),
                ...(args.type ? { type: args.type } : {}),
              }),
            ),
          ),
      },
      {
        description: 'A page of results, with the total.',
        fields: (c) => ({ totalCount: c.int({ description: totalCountDescription, resolve: totalOf }) }),
      },
      { description: 'One result and its cursor.' },
    ),
  }),
});

builder.queryField('logDatabase', (t) =>
  t.field({
    type: LogDatabaseRef,
    nullable: true,
    description: 'One log database by its REST id (platform owner, or a service token bound to it).',
    errors: logStoreErrors.read,
    args: { databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }) },
    resolve: (_root, { databaseId }, ctx) => ctx.services.logstore.getDatabase(ctx.principal, { databaseId }),
  }),
);

builder.queryField('logDatabases', (t) =>
  t.connection(
    {
      type: LogDatabaseRef,
      nullable: true,
      description: "The platform caller's log databases (all of them for the admin), newest first.",
      errors: logStoreErrors.list,
      resolve: (_root, args, ctx) =>
        offsetConnection(args, (page) => ctx.services.logstore.listDatabases(ctx.principal, page)),
    },
    {
      description: 'A page of results, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: totalCountDescription, resolve: totalOf }) }),
    },
    { description: 'One result and its cursor.' },
  ),
);

builder.queryField('logDrafts', (t) =>
  t.connection(
    {
      type: LogDraftRef,
      nullable: true,
      description:
        'Drafts of a database by creation time (REST listDrafts). A query JWT sees only drafts of its scopes. At most 1000 per page.',
      errors: logStoreErrors.read,
      args: { databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }) },
      resolve: (_root, args, ctx) =>
        offsetConnection(args, ({ take, offset }) =>
          ctx.services.logstore.listDrafts(ctx.principal, { databaseId: args.databaseId, take, offset, filter: {} }),
        ),
    },
    {
      description: 'A page of results, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: totalCountDescription, resolve: totalOf }) }),
    },
    { description: 'One result and its cursor.' },
  ),
);

builder.queryField('logSplits', (t) =>
  t.connection(
    {
      type: LogSplitRef,
      nullable: true,
      description:
        'Published splits overlapping [startTimestamp, endTimestamp] (REST listSplits). A query JWT sees only splits within its scopes.',
      errors: logStoreErrors.read,
      args: {
        databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }),
        startTimestamp: t.arg.string({
          required: true,
          description: 'Window start: epoch milliseconds (decimal text) or ISO-8601.',
        }),
        endTimestamp: t.arg.string({
          required: true,
          description: 'Window end: epoch milliseconds (decimal text) or ISO-8601.',
        }),
      },
      resolve: (_root, args, ctx) => {
        const [start, end] = parseRange(args.startTimestamp, args.endTimestamp, 'startTimestamp', 'endTimestamp');
        return offsetConnection(args, ({ take, offset }) =>
          ctx.services.logstore.listSplits(ctx.principal, { databaseId: args.databaseId, start, end, take, offset }),
        );
      },
    },
    {
      description: 'A page of results, with the total.',
      fields: (c) => ({ totalCount: c.int({ description: totalCountDescription, resolve: totalOf }) }),
    },
    { description: 'One result and its cursor.' },
  ),
);

builder.subscriptionField('logJobEvents', (t) =>
  t.field({
    type: LogJobEventRef,
    description: 'Job leased/completed/expired events of one database, from every Atrium instance.',
    args: { databaseId: t.arg.string({ required: true, description: 'The database id REST paths use.' }) },
    subscribe: async (_root, { databaseId }, ctx) => {
      try {
        await ctx.services.logstore.authorizeJobEvents(ctx.principal, { databaseId });
      } catch (e) {
        // Subscriptions have no result union: surface the expected failure with its code (not masked).
        if (e instanceof DomainError) throw new GraphQLError(e.message, { extensions: { code: e.code } });
        throw e;
      }
      return ctx.services.pubsub.subscribe('logstore.jobEvent', databaseId);
    },
    resolve: (payload) => payload,
  }),
);
