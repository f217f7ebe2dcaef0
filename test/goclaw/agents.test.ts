import { describe, it } from 'vitest';

describe('placeholder', () => {
  it.todo('agents');
});
