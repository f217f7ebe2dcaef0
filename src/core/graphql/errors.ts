import { builder } from '../builder.ts';
import { DomainError, InvalidInputError, NotFoundError } from '../errors.ts';

/** Shared error interface and the core error types, exposed as union members by the errors plugin. */
export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure of a mutation or query, returned as data rather than a top-level error.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for people.' }),
    code: t.exposeString('code', { description: 'Stable machine-readable code.' }),
  }),
});

builder.objectType(DomainError, {
  name: 'BaseError',
  description: 'An expected failure without a more specific type.',
  interfaces: [ErrorInterface],
});
builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'The object named does not exist, or the caller may not see it.',
  interfaces: [ErrorInterface],
});
builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  description: 'The input was refused; `message` says which value and why.',
  interfaces: [ErrorInterface],
});
