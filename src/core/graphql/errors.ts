import { builder } from '../builder.ts';
import { DomainError, InvalidInputError, NotFoundError } from '../errors.ts';

/** Shared error interface and the core error types, exposed as union members by the errors plugin. */
export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'An expected failure of a mutation or query, returned as data rather than a top-level error.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', { description: 'Stable machine-readable code.' }),
  }),
});

builder.objectType(DomainError, { name: 'BaseError', interfaces: [ErrorInterface] });
builder.objectType(NotFoundError, { name: 'NotFoundError', interfaces: [ErrorInterface] });
builder.objectType(InvalidInputError, { name: 'InvalidInputError', interfaces: [ErrorInterface] });
