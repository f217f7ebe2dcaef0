import { builder } from '../../../core/builder.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import {
  GoClawConflictError,
  GoClawError,
  GoClawForbiddenError,
  GoClawInvalidInputError,
  GoClawNotFoundError,
} from '../goclaw.errors.ts';
import { GoClawBusyError } from '../runs.service.ts';

builder.objectType(GoClawError, {
  name: 'GoClawError',
  description: 'The base of GoClaw’s failures; fields list the specific types instead.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawNotFoundError, {
  name: 'GoClawResourceNotFoundError',
  description: 'The agent, provider, run or trace does not exist. Code NOT_FOUND.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawInvalidInputError, {
  name: 'GoClawBadRequestError',
  description: 'A malformed or missing argument, or a provider that refused or failed. Code INVALID_REQUEST.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawConflictError, {
  name: 'GoClawNameTakenError',
  description: 'The name (slug) is taken. Code ALREADY_EXISTS.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawForbiddenError, {
  name: 'GoClawForbiddenError',
  description: 'Only the agent’s owner (or an admin) may do this. Code FORBIDDEN.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawBusyError, {
  name: 'GoClawBusyError',
  description: 'Too many runs are in flight; nothing was started. Code RESOURCE_EXHAUSTED.',
  interfaces: [ErrorInterface],
});

export const NotFound = GoClawNotFoundError;
export const InvalidInput = GoClawInvalidInputError;
export const Conflict = GoClawConflictError;
export const Forbidden = GoClawForbiddenError;
export const Busy = GoClawBusyError;

/** A field's error members: exactly the failure types it can produce. */
export const errorsOf = (...types: (new (...args: any[]) => GoClawError)[]) => ({
  types,
  union: { description: 'The result, or one of the expected failures of this field.' },
  result: { description: 'The field succeeded.' },
  dataField: { description: 'The result.' },
});

/** The totalCount field of an array connection. */
export const withTotalCount = {
  description: 'A page of results, with the total.',
  fields: (c: any) => ({
    totalCount: c.int({
      description: 'All items of the list, across pages (not only this page).',
      resolve: (conn: { totalCount?: number }) => conn.totalCount ?? 0,
    }),
  }),
};

export const UsageRef = builder
  .objectRef<{ promptTokens: number; completionTokens: number; totalTokens: number; cost: number }>('GoClawRunUsage')
  .implement({
    description: 'Tokens and cost of a run, summed over its model calls from the provider’s own numbers.',
    fields: (t) => ({
      promptTokens: t.exposeInt('promptTokens', { description: 'Input tokens the provider counted.' }),
      completionTokens: t.exposeInt('completionTokens', { description: 'Output tokens the provider counted.' }),
      totalTokens: t.exposeInt('totalTokens', { description: 'Input plus output tokens.' }),
      cost: t.exposeFloat('cost', {
        description: 'USD: the provider’s reported cost, else its configured pricing; 0 when neither exists.',
      }),
    }),
  });
