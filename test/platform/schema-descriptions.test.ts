import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema.ts';

/** Every type, field, argument, input field and enum value the schema defines, without a description. */
function undocumented(): string[] {
  const missing: string[] = [];
  const blank = (d: string | null | undefined) => d === undefined || d === null || d.trim() === '';
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    // The root operation types are containers; their fields carry the descriptions.
    const root = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].includes(
      type as never,
    );
    if (!root && blank(type.description)) missing.push(`type ${type.name}`);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`field ${type.name}.${field.name}`);
        for (const arg of field.args) {
          if (blank(arg.description)) missing.push(`argument ${type.name}.${field.name}(${arg.name})`);
        }
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`input field ${type.name}.${field.name}`);
      }
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) {
        if (blank(value.description)) missing.push(`enum value ${type.name}.${value.name}`);
      }
    }
  }
  return missing;
}

const missing = undocumented();

describe('schema descriptions', () => {
  // Fails on any undocumented type, field, argument, input field or enum value (the list says which).
  it('every type, field, argument, input field and enum value has a description', () => {
    console.log(`undocumented GraphQL definitions: ${missing.length}`);
    expect(missing).toEqual([]);
  });
});
