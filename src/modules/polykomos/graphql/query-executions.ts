import { builder } from '../../../core/builder.ts';
import { invalidParameter, PolykomosError } from '../polykomos.errors.ts';
import type { QueryErrorCode, QueryExecutionRow, QueryOutcome, QueryResult } from '../queries.service.ts';
import {
  connectionDescriptions,
  errorsOf,
  Forbidden,
  InvalidInput,
  keyedConnection,
  NotFound,
  PolykomosDatabaseRef,
  Rejected,
  withTotalCount,
} from './types.ts';

export const PolykomosQueryExecutionStatusEnum = builder.enumType('PolykomosQueryExecutionStatus', {
  description: 'What became of a natural-language query.',
  values: {
    succeeded: { description: 'The generated statement ran (read-only) and returned its rows.' },
    failed: {
      description: 'The model call or the statement failed (errorCode says which); nothing was changed.',
    },
    refused: { description: 'The generated SQL was not one read-only statement; it never ran.' },
  } as const,
});
type ExecutionStatus = 'succeeded' | 'failed' | 'refused';

export const PolykomosQueryResultTypeEnum = builder.enumType('PolykomosQueryResultType', {
  description: 'What kind of statement ran (only read-only ones run).',
  values: {
    select: { description: 'A SELECT (WITH … SELECT, VALUES, a UNION): its rows.' },
    explain: { description: 'An EXPLAIN of a SELECT (Postgres): the plan as rows.' },
  } as const,
});

export const PolykomosQueryErrorCodeEnum = builder.enumType('PolykomosQueryErrorCode', {
  description: 'Why a natural-language query did not succeed (the REST `error.code`).',
  values: {
    query_execution_failed: {
      description: 'The database refused or aborted the statement (an error, the statement timeout). REST 500.',
    },
    generated_sql_invalid: { description: 'The answer held no statement, or one that does not parse. REST 422.' },
    multiple_statements: { description: 'The model answered several statements (Postgres). REST 422.' },
    sql_not_read_only: { description: 'The statement writes or is not a query (DML, DDL, SET, …). REST 422.' },
    nl_query_unavailable: {
      description: 'The configured provider is missing, disabled or refuses the server’s credentials. REST 422.',
    },
    llm_rate_limited: { description: 'The provider rate-limited the call. REST 429 with Retry-After.' },
    llm_unavailable: {
      description: 'The provider failed, could not be reached or timed out. REST 429 with Retry-After.',
    },
  } as const,
});

/** A query execution id from a node id or a cursor (decimal text), or undefined. */
function executionId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= 2_147_483_647 ? id : undefined;
}

export const PolykomosQueryExecutionRef = builder.node(
  builder.objectRef<QueryExecutionRow>('PolykomosQueryExecution'),
  {
    description:
      'One natural-language query on one of the caller’s databases: the question, the SQL the model wrote and what ' +
      'became of it (rows are not kept). Owner only; scope queries:write.',
    id: { description: connectionDescriptions.nodeId, resolve: (q) => String(q.id) },
    authScopes: { product: 'polykomos' },
    loadOne: async (id, ctx) => {
      const key = executionId(id);
      if (key === undefined) return null;
      try {
        return await ctx.services.polykomos.queries.get(ctx.principal, key);
      } catch (err) {
        if (!(err instanceof PolykomosError)) throw err;
        // Missing, another owner's and a missing scope are all null (indistinguishable).
        return null;
      }
    },
    isTypeOf: (v) => typeof v === 'object' && v !== null && 'naturalQuery' in v && 'llmModel' in v,
    fields: (t) => ({
      queryId: t.exposeInt('id', { description: 'The integer id REST answers with (`query_id`).' }),
      databaseInstanceId: t.exposeInt('databaseId', { description: 'The target database’s integer id.' }),
      naturalQuery: t.exposeString('naturalQuery', { description: 'The question as asked.' }),
      sql: t.exposeString('generatedSql', {
        nullable: true,
        description: 'The statement taken from the model’s answer; null when it held none or the model failed.',
      }),
      status: t.field({
        type: PolykomosQueryExecutionStatusEnum,
        description: 'What became of it.',
        resolve: (q) => q.status as ExecutionStatus,
      }),
      resultType: t.field({
        type: PolykomosQueryResultTypeEnum,
        nullable: true,
        description: 'The kind of statement that ran; null unless it succeeded.',
        resolve: (q) => (q.resultType as 'select' | 'explain' | null) ?? null,
      }),
      rowCount: t.exposeInt('rowCount', { nullable: true, description: 'Rows returned; null unless it succeeded.' }),
      truncated: t.exposeBoolean('truncated', {
        nullable: true,
        description: 'Whether more rows existed than maxRows; null unless it succeeded.',
      }),
      maxRows: t.exposeInt('maxRows', { description: 'Most rows one execution returns.' }),
      errorCode: t.field({
        type: PolykomosQueryErrorCodeEnum,
        nullable: true,
        description: 'Why it did not succeed; null when it did.',
        resolve: (q) => (q.errorCode as QueryErrorCode | null) ?? null,
      }),
      errorMessage: t.exposeString('errorMessage', { nullable: true, description: 'The failure, in words.' }),
      retryAfterSeconds: t.exposeInt('retryAfterSeconds', {
        nullable: true,
        description: 'Seconds to wait before retrying (provider failures); null otherwise.',
      }),
      llmProvider: t.exposeString('llmProvider', { description: 'The GoClaw provider that wrote the SQL.' }),
      llmModel: t.exposeString('llmModel', { description: 'The model that wrote the SQL.' }),
      inputTokens: t.exposeInt('inputTokens', { description: 'Prompt tokens the provider counted.' }),
      outputTokens: t.exposeInt('outputTokens', { description: 'Answer tokens the provider counted.' }),
      traceId: t.exposeString('traceId', {
        nullable: true,
        description: 'The GoClaw trace of the model call (goClawTrace); null when no call was made.',
      }),
      durationMs: t.exposeInt('durationMs', { description: 'Milliseconds the whole execution took.' }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it ran.' }),
    }),
  },
);

const QueryResultRef = builder.objectRef<QueryResult>('PolykomosQueryResult').implement({
  description: 'The rows of a succeeded execution (REST `result`).',
  fields: (t) => ({
    type: t.field({
      type: PolykomosQueryResultTypeEnum,
      description: 'The kind of statement.',
      resolve: (r) => r.type,
    }),
    rows: t.field({
      type: ['JSON'],
      description: 'One object per row, keyed by column name (a repeated name gets `_2`, `_3`, …).',
      resolve: (r) => r.rows,
    }),
    rowCount: t.exposeInt('rowCount', { description: 'Rows returned (at most maxRows).' }),
    truncated: t.exposeBoolean('truncated', { description: 'Whether the statement had more rows than maxRows.' }),
    maxRows: t.exposeInt('maxRows', { description: 'Most rows one execution returns.' }),
  }),
});

const ExecutionPayload = builder.objectRef<QueryOutcome>('CreatePolykomosQueryExecutionPayload').implement({
  description: 'The recorded execution and, when it succeeded, its rows.',
  fields: (t) => ({
    execution: t.field({
      type: PolykomosQueryExecutionRef,
      description: 'The execution as recorded (status, SQL, failure).',
      resolve: (p) => p.execution,
    }),
    result: t.field({
      type: QueryResultRef,
      nullable: true,
      description: 'The rows; null unless the execution succeeded.',
      resolve: (p) => p.result,
    }),
  }),
});

const CreateInput = builder.inputType('CreatePolykomosQueryExecutionInput', {
  description: 'A question about one of the caller’s databases.',
  fields: (t) => ({
    databaseUuid: t.string({ required: true, description: 'The database (active, postgres or mysql).' }),
    query: t.string({ required: true, description: 'The question in natural language, at most 2000 characters.' }),
  }),
});

builder.mutationField('createPolykomosQueryExecution', (t) =>
  t.field({
    type: ExecutionPayload,
    description:
      'Asks the configured model for one read-only SQL statement answering the question, checks it, runs it on ' +
      'the database (READ ONLY transaction, statement timeout, row cap) and records the execution. Scope ' +
      'queries:write. Failures after the model was asked are recorded executions (status failed or refused), not ' +
      'errors.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound, InvalidInput, Rejected),
    args: { input: t.arg({ type: CreateInput, required: true, description: 'The question.' }) },
    resolve: (_r, { input }, ctx) => ctx.services.polykomos.queries.execute(ctx.principal, input),
  }),
);

builder.queryField('polykomosQueryExecution', (t) =>
  t.field({
    type: PolykomosQueryExecutionRef,
    nullable: true,
    description: 'One of the caller’s query executions by its integer id (REST’s query_id). Scope queries:write.',
    authScopes: { product: 'polykomos' },
    errors: errorsOf(Forbidden, NotFound),
    args: { queryId: t.arg.int({ required: true, description: 'The execution’s integer id.' }) },
    resolve: (_r, { queryId }, ctx) => ctx.services.polykomos.queries.get(ctx.principal, queryId),
  }),
);

builder.objectField(PolykomosDatabaseRef, 'queryExecutions', (t) =>
  t.connection(
    {
      type: PolykomosQueryExecutionRef,
      description:
        'Natural-language query executions on this database, newest first. Cursors are execution ids. first ' +
        '1–100, default 25. Scope queries:write.',
      errors: errorsOf(Forbidden, InvalidInput),
      resolve: async (db, args, ctx) => {
        let after: number | null = null;
        if (args.after != null) {
          const id = executionId(args.after);
          if (id === undefined) throw invalidParameter(`after: "${args.after}" is not a query execution id`);
          after = id;
        }
        const page = await ctx.services.polykomos.queries.listForDatabase(ctx.principal, db, args.first ?? 25, after);
        return keyedConnection(page, args.after, (q) => String(q.id));
      },
    },
    withTotalCount,
    { description: connectionDescriptions.edge },
  ),
);
