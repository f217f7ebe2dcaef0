import { PolykomosError } from '../../src/modules/polykomos/polykomos.errors.ts';
import { PolykomosCreateQueryExecutionDocument } from '../generated/graphql.ts';
import { answer } from './answer.ts';
import { graphql, group } from './policy.ts';

/** The REST status of each recorded failure (the execution row's `error_code`). */
const statusByCode: Record<string, number> = {
  query_execution_failed: 500,
  generated_sql_invalid: 422,
  multiple_statements: 422,
  sql_not_read_only: 422,
  nl_query_unavailable: 422,
  llm_rate_limited: 429,
  llm_unavailable: 429,
};

/**
 * POST /api/v1/query_executions: flat `{success, sql, result, query_id, request_id}` (not wrapped in `data`; the
 * result's keys are camelCase as the contract has them). A recorded failure is the contract's ApiError with
 * `details: {sql, query_id}`: 500 query_execution_failed when the database refused the statement, 422 when the SQL
 * was refused before running or the model is unavailable, 429 with Retry-After when the provider failed.
 */
const createQueryExecution = graphql({
  policy: { scope: 'queries:write' },
  document: PolykomosCreateQueryExecutionDocument,
  variables: (req) => {
    const b = req.body as Record<string, unknown>;
    // The contract requires both as strings (400 from validation otherwise); re-checked for GraphQL's sake.
    if (typeof b?.database_uuid !== 'string' || typeof b.query !== 'string') {
      throw new PolykomosError('INVALID_PARAMETER', 422, 'database_uuid and query are required strings');
    }
    return { input: { databaseUuid: b.database_uuid, query: b.query } };
  },
  respond: ({ createPolykomosQueryExecution: r }, req) =>
    answer(r, req, ({ execution: e, result }) => {
      if (e.status === 'succeeded' && result) {
        return {
          status: 200,
          body: {
            success: true,
            sql: e.sql,
            result: {
              type: result.type,
              rows: result.rows,
              rowCount: result.rowCount,
              truncated: result.truncated,
              maxRows: result.maxRows,
            },
            query_id: e.queryId,
            request_id: req.requestId,
          },
        };
      }
      const code = e.errorCode ?? 'query_execution_failed';
      const status = statusByCode[code] ?? 500;
      return {
        status,
        ...(status === 429 ? { headers: { 'retry-after': String(e.retryAfterSeconds ?? 30) } } : {}),
        body: {
          error: {
            code,
            message: e.errorMessage ?? 'The query execution failed',
            details: { ...(e.sql !== null ? { sql: e.sql } : {}), query_id: e.queryId },
          },
          request_id: req.requestId,
        },
      };
    }),
});

/** Natural-language query executions. */
export const polykomosQueryOperations = group('queries', 'test/polykomos/query-executions.test.ts', {
  createQueryExecution,
});
