import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Principal } from '../auth/principal.ts';
import type { Context } from '../context.ts';
import { ForbiddenError } from './graphql-errors.ts';

/**
 * Platform keys (`atr_`, product `atrium`) are GraphQL credentials (docs/decisions.md): scope `read` runs queries
 * and subscriptions, scope `admin` mutations too. REST doors never accept them (`wrong_product` → the product's
 * 401). Checked once per operation here, before any resolver runs, on every GraphQL transport.
 */
export function platformKeyPlugin(): Plugin {
  const refusal = (principal: Principal, operation: string | undefined): ForbiddenError | undefined => {
    if (principal.kind !== 'apiKey' || principal.product !== 'atrium') return undefined;
    const admin = principal.scopes.includes('admin');
    if (admin) return undefined;
    if (operation === 'mutation')
      return new ForbiddenError('This platform key may not run mutations (scope admin needed)');
    if (!principal.scopes.includes('read'))
      return new ForbiddenError('This platform key has neither scope read nor admin');
    return undefined;
  };
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { contextValue: unknown; document: Parameters<typeof getOperationAST>[0]; operationName?: string | null };
    setResultAndStopExecution: (result: { errors: ForbiddenError[] }) => void;
  }) => {
    const principal = (args.contextValue as Partial<Context>).principal;
    if (!principal) return;
    const error = refusal(principal, getOperationAST(args.document, args.operationName)?.operation);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return { onExecute: check, onSubscribe: check };
}
