// Imported first by src/main.ts: on an unsupported Node, say so and exit before anything else loads.
import { nodeVersionProblem } from './node-version.ts';

const problem = nodeVersionProblem();
if (problem) {
  console.error(problem);
  process.exit(1);
}
