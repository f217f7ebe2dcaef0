import { GraphQLError } from 'graphql';
import type { Context } from '../context.ts';
import { ErrorCodes } from '../errors.ts';

/**
 * Authorization failures. Anonymous callers get UNAUTHENTICATED (REST maps it to 401), authenticated
 * callers without the right get FORBIDDEN (403). Both pass yoga's error masking.
 */
export class ForbiddenError extends GraphQLError {
  constructor(message: string, ctx?: Pick<Context, 'principal'>) {
    const anonymous = ctx?.principal.kind === 'anonymous';
    super(message, {
      extensions: { code: anonymous ? ErrorCodes.unauthenticated : ErrorCodes.forbidden },
    });
    this.name = 'ForbiddenError';
  }
}
