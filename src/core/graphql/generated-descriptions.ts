import {
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isObjectType,
  isUnionType,
} from 'graphql';

const blank = (d: string | null | undefined) => d === undefined || d === null || d.trim() === '';

/**
 * Describes the definitions the Pothos plugins generate from a declaration — Relay connections and edges, their
 * page arguments, and the errors plugin's `…Result` unions and `…Success` wrappers — from what they wrap, so that
 * every definition of the schema carries a description without each module repeating the same sentences. Only
 * blank descriptions are filled: anything a module wrote wins.
 */
export function describeGeneratedDefinitions(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const target = getNamedType(field.type);
      if (isObjectType(target) && isConnection(target)) describeConnection(target, field);
      if (isUnionType(target) && target.name.endsWith('Result')) {
        const where = `\`${type.name}.${field.name}\``;
        if (blank(target.description)) {
          target.description = `The outcome of ${where}: its success, or one of the errors it can produce.`;
        }
        for (const member of target.getTypes()) {
          if (!member.name.endsWith('Success')) continue;
          if (blank(member.description)) member.description = `${where} succeeded.`;
          const data = member.getFields().data;
          if (data && blank(data.description)) data.description = field.description ?? `What ${where} returns.`;
          // A connection behind an errors union: the page arguments are the outer field's.
          const wrapped = data ? getNamedType(data.type) : undefined;
          if (wrapped && isObjectType(wrapped) && isConnection(wrapped)) describeConnection(wrapped, field);
        }
      }
    }
  }
}

function isConnection(type: GraphQLObjectType): boolean {
  const fields = type.getFields();
  return fields.edges !== undefined && fields.pageInfo !== undefined;
}

const pageArguments: Record<string, string> = {
  first: 'Return at most this many items from the start of the list (after `after`).',
  last: 'Return at most this many items from the end of the list (before `before`).',
  after: 'Return the items after this cursor (an `endCursor` or an edge `cursor`).',
  before: 'Return the items before this cursor (a `startCursor` or an edge `cursor`).',
};

function describeConnection(connection: GraphQLObjectType, field: GraphQLField<unknown, unknown>): void {
  for (const arg of field.args) {
    const text = pageArguments[arg.name];
    if (text && blank(arg.description)) arg.description = text;
  }
  const fields = connection.getFields();
  const edge = fields.edges ? getNamedType(fields.edges.type) : undefined;
  const node = edge && isObjectType(edge) ? edge.getFields().node : undefined;
  const item = node ? getNamedType(node.type).name : 'item';
  if (blank(connection.description)) connection.description = `A page of ${item} objects (a Relay connection).`;
  const describe = (name: string, text: string) => {
    const f = fields[name];
    if (f && blank(f.description)) f.description = text;
  };
  describe('edges', `The ${item} objects of this page, each with its cursor.`);
  describe('pageInfo', 'Where this page sits in the whole list.');
  describe('totalCount', `How many ${item} objects the whole list holds, over all pages.`);
  describe('nodes', `The ${item} objects of this page.`);
  if (edge && isObjectType(edge)) {
    if (blank(edge.description)) edge.description = `One ${item} in a page, with its cursor.`;
    const edgeFields = edge.getFields();
    if (edgeFields.node && blank(edgeFields.node.description)) edgeFields.node.description = `The ${item}.`;
    if (edgeFields.cursor && blank(edgeFields.cursor.description)) {
      edgeFields.cursor.description = 'An opaque cursor for this item: pass it as `after` or `before`.';
    }
  }
}
