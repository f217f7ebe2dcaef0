import { BREAK, type DocumentNode, GraphQLError, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCodes } from '../errors.ts';
import { findNul, hasNul } from '../input-guard.ts';

/**
 * Refuses U+0000 in every GraphQL string input, at one place every transport passes (HTTP, SSE, graphql-ws and
 * the REST shim's in-process execution): string literals in the document and every string (or key) inside the
 * variables, whatever scalar they are bound to (String, ID, JSON). PostgreSQL rejects the character, so letting it
 * reach a resolver turns a caller's input into a 500. The refusal is a BAD_USER_INPUT error (HTTP 400).
 */
export function nulInputPlugin(): Plugin {
  // Whether a document has a NUL string literal, by document: yoga's parser cache and the REST shim hand the same
  // DocumentNode object to every execution of one query, so the walk happens once per document, not per request.
  const literals = new WeakMap<DocumentNode, boolean>();
  const hasNulLiteral = (document: DocumentNode): boolean => {
    const known = literals.get(document);
    if (known !== undefined) return known;
    let literal = false;
    visit(document, {
      StringValue(node) {
        if (hasNul(node.value)) {
          literal = true;
          return BREAK;
        }
        return undefined;
      },
    });
    literals.set(document, literal);
    return literal;
  };
  const refuse = (document: DocumentNode, variables: unknown): GraphQLError | undefined => {
    const inVariables = findNul(variables ?? {});
    if (inVariables !== undefined) return nulError(`variable ${inVariables}`);
    return hasNulLiteral(document) ? nulError('a string literal') : undefined;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refuse(args.document, args.variableValues);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refuse(args.document, args.variableValues);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}

function nulError(where: string): GraphQLError {
  return new GraphQLError(`String input must not contain U+0000 (NUL): ${where}`.slice(0, 300), {
    extensions: { code: ErrorCodes.badUserInput, http: { status: 400 } },
  });
}
