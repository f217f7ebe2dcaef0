import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { builder } from '../../../core/builder.ts';
import { DomainError } from '../../../core/errors.ts';
import type { DatabaseWithCounts } from '../logstore.databases.ts';
import {
  defaultListLimit,
  maxListLimit,
  parseBoundedInt,
  parseRange,
  parseScope,
  parseTimestamp,
} from '../logstore.input.ts';

const listLimit = (limit: number | null | undefined) =>
  parseBoundedInt(limit, 'limit', defaultListLimit, 1, maxListLimit);

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
} from './types.ts';

const minTs = -8.64e15;
const maxTs = 8.64e15;

export const LogDatabaseRef = builder.node(builder.objectRef<DatabaseWithCounts>('LogDatabase'), {
  id: { resolve: (db) => db.databaseId },
  description:
    'A DeepStore log database: drafts, splits and the jobs that move them. Owner (or its service token) only.',
  loadOne: (id, ctx) => ctx.services.logstore.findDatabase(ctx.principal, { databaseId: id }),
  isTypeOf: (v) => typeof v === 'object' && v !== null && 'databaseId' in v && 'draftCount' in v,
  fields: (t) => ({
    databaseId: t.exposeString('databaseId', { description: 'The id REST paths use.' }),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    draftCount: t.exposeInt('draftCount', { description: 'Drafts not yet cleaned (any status).' }),
    splitCount: t.exposeInt('splitCount', { description: 'Published splits.' }),
    drafts: t.connection({
      type: LogDraftRef,
      description: 'Drafts by creation time; filters: statuses, scope, overlap with [startTimestamp, endTimestamp].',
      args: {
        statuses: t.arg({ type: [LogDraftStatusEnum], required: false }),
        scope: t.arg.string({ required: false }),
        startTimestamp: t.arg.float({ required: false }),
        endTimestamp: t.arg.float({ required: false }),
      },
      resolve: (db, args, ctx) =>
        resolveOffsetConnection({ args, maxSize: 1000 }, async ({ limit, offset }) => {
          const r = await ctx.services.logstore.listDrafts(ctx.principal, {
            databaseId: db.databaseId,
            take: limit,
            offset,
            filter: {
              ...(args.statuses ? { statuses: args.statuses } : {}),
              ...(args.scope ? { scope: parseScope(args.scope) } : {}),
              ...(args.startTimestamp != null ? { start: parseTimestamp(args.startTimestamp, 'startTimestamp') } : {}),
              ...(args.endTimestamp != null ? { end: parseTimestamp(args.endTimestamp, 'endTimestamp') } : {}),
            },
          });
          return r.items;
        }),
    }),
    splits: t.connection({
      type: LogSplitRef,
      description: 'Splits overlapping [startTimestamp, endTimestamp] (inclusive), by time; default state published.',
      args: {
        states: t.arg({ type: [LogSplitStateEnum], required: false }),
        startTimestamp: t.arg.float({ required: false }),
        endTimestamp: t.arg.float({ required: false }),
      },
      resolve: (db, args, ctx) =>
        resolveOffsetConnection({ args, maxSize: 1000 }, async ({ limit, offset }) => {
          const [start, end] = parseRange(
            args.startTimestamp ?? minTs,
            args.endTimestamp ?? maxTs,
            'startTimestamp',
            'endTimestamp',
          );
          const r = await ctx.services.logstore.listSplits(ctx.principal, {
            databaseId: db.databaseId,
            start,
            end,
            take: limit,
            offset,
            ...(args.states ? { states: args.states } : {}),
          });
          return r.items;
        }),
    }),
    jobs: t.connection({
      type: LogJobRef,
      description: 'Jobs, newest lease first.',
      args: {
        status: t.arg({ type: LogJobStatusEnum, required: false }),
        type: t.arg({ type: LogJobTypeEnum, required: false }),
      },
      resolve: (db, args, ctx) =>
        resolveOffsetConnection({ args, maxSize: 1000 }, async ({ limit, offset }) => {
          const r = await ctx.services.logstore.listJobs(ctx.principal, {
            databaseId: db.databaseId,
            take: limit,
            offset,
            ...(args.status ? { status: args.status } : {}),
            ...(args.type ? { type: args.type } : {}),
          });
          return r.items;
        }),
    }),
  }),
});

builder.queryField('logDatabase', (t) =>
  t.field({
    type: LogDatabaseRef,
    description: 'One log database (platform owner, or a service token bound to it).',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }) },
    resolve: (_root, { databaseId }, ctx) => ctx.services.logstore.getDatabase(ctx.principal, { databaseId }),
  }),
);

builder.queryField('logDatabases', (t) =>
  t.connection({
    type: LogDatabaseRef,
    description: "The platform caller's log databases (all of them for the admin), newest first.",
    errors: logStoreErrors,
    resolve: (_root, args, ctx) =>
      resolveOffsetConnection({ args }, async ({ limit, offset }) => {
        const r = await ctx.services.logstore.listDatabases(ctx.principal, { take: limit, offset });
        return r.items;
      }),
  }),
);

builder.queryField('logDrafts', (t) =>
  t.field({
    type: [LogDraftRef],
    description:
      'Drafts of a database by creation time (REST listDrafts). A query JWT sees only drafts of its scopes. limit 1–1000, default 100.',
    errors: logStoreErrors,
    args: { databaseId: t.arg.string({ required: true }), limit: t.arg.int({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const r = await ctx.services.logstore.listDrafts(ctx.principal, {
        databaseId: args.databaseId,
        take: listLimit(args.limit),
        offset: 0,
        filter: {},
      });
      return r.items;
    },
  }),
);

builder.queryField('logSplits', (t) =>
  t.field({
    type: [LogSplitRef],
    description:
      'Published splits overlapping [startTimestamp, endTimestamp] (REST listSplits). Timestamps: epoch ms or ISO-8601.',
    errors: logStoreErrors,
    args: {
      databaseId: t.arg.string({ required: true }),
      startTimestamp: t.arg.string({ required: true }),
      endTimestamp: t.arg.string({ required: true }),
      limit: t.arg.int({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const [start, end] = parseRange(args.startTimestamp, args.endTimestamp, 'startTimestamp', 'endTimestamp');
      const r = await ctx.services.logstore.listSplits(ctx.principal, {
        databaseId: args.databaseId,
        start,
        end,
        take: listLimit(args.limit),
        offset: 0,
      });
      return r.items;
    },
  }),
);

builder.subscriptionField('logJobEvents', (t) =>
  t.field({
    type: LogJobEventRef,
    description: 'Job leased/completed/expired events of one database, from every Atrium instance.',
    args: { databaseId: t.arg.string({ required: true }) },
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
