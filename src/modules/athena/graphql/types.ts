import { builder } from '../../../core/builder.ts';
import { ErrorInterface } from '../../../core/graphql/errors.ts';
import { AthenaError } from '../athena.errors.ts';

builder.objectType(AthenaError, {
  name: 'AthenaError',
  description:
    'An expected Athena failure. `code` is the stable code of Athena’s error catalog (`athenaErrorCatalog`): ' +
    'unknown_client, client_frozen, not_found, conflict, invalid_request, invalid_structured_select_request, …',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    data: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Structured context of the failure (the operation, the offending field), when there is any.',
      resolve: (e) => e.data ?? null,
    }),
  }),
});

/** The errors-plugin options of an Athena field: its failures are AthenaError (code from the catalog). */
export const athenaErrors = {
  types: [AthenaError],
  union: { description: 'The result, or an expected Athena failure.' },
  result: { description: 'The field succeeded.' },
  dataField: { description: 'The result.' },
};
