import { GraphQLError } from 'graphql';
import { builder } from '../../../core/builder.ts';
import { DomainError, ErrorCodes } from '../../../core/errors.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import {
  GoClawConflictError,
  GoClawInvalidInputError,
  GoClawMcpUnavailableError,
  GoClawNotFoundError,
  GoClawToolRunError,
} from '../agent-tools.errors.ts';

builder.objectType(GoClawNotFoundError, {
  name: 'GoClawNotFoundError',
  description: 'No such GoClaw MCP server, tool or skill.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawInvalidInputError, {
  name: 'GoClawInvalidInputError',
  description: 'A field is missing, malformed or out of bounds; the message names it.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawConflictError, {
  name: 'GoClawConflictError',
  description: 'The name is taken (custom tools may not reuse a built-in tool name either).',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawMcpUnavailableError, {
  name: 'GoClawMcpUnavailableError',
  description: 'The MCP server could not be reached, refused the handshake, or did not answer in time.',
  interfaces: [ErrorInterface],
});
builder.objectType(GoClawToolRunError, {
  name: 'GoClawToolRunError',
  description: 'A custom tool run failed: bad arguments, a throw, a timeout or a busy sandbox; the message says which.',
  interfaces: [ErrorInterface],
});

/** For fields without a result union (connections): an expected failure is a BAD_USER_INPUT error. */
export async function userInput<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof DomainError) throw new GraphQLError(e.message, { extensions: { code: ErrorCodes.badUserInput } });
    throw e;
  }
}
