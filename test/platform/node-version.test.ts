import { describe, expect, it } from 'vitest';
import { minimumNodeMajor, nodeVersionProblem } from '../../src/node-version.ts';

describe('nodeVersionProblem', () => {
  it('accepts Node 24 and newer', () => {
    expect(minimumNodeMajor).toBe(24);
    expect(nodeVersionProblem('v24.0.0', '/x/node', 'linux-x64')).toBeUndefined();
    expect(nodeVersionProblem('v26.12.1', '/x/node', 'darwin-arm64')).toBeUndefined();
  });

  it('names the version found, where it runs from, and the fix for a platform with a bundled Node', () => {
    const problem = nodeVersionProblem('v20.20.2', '/usr/bin/node', 'linux-x64');
    expect(problem).toContain('Atrium needs Node.js 24 or newer, but this is Node v20.20.2 (/usr/bin/node)');
    expect(problem).toContain('node_modules/.bin/node');
    expect(problem).toContain('npm start');
  });

  it('tells other platforms to install Node 24 themselves', () => {
    const problem = nodeVersionProblem('v22.12.0', '/opt/node', 'darwin-x64');
    expect(problem).toContain('this is Node v22.12.0');
    expect(problem).toContain('No Node binary is installed for darwin-x64');
    expect(problem).toContain('install Node.js 24 or newer');
  });

  it('runs this suite on a supported Node', () => {
    expect(nodeVersionProblem()).toBeUndefined();
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
