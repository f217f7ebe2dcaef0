/**
 * The built-in tools GoClaw agents can be given, as upstream GoClaw ships them. The catalogue is code; what an
 * operator changes (`enabled`, `settings`) is stored per tool. Executing them is the agent loop's job.
 */
export interface BuiltinToolDefinition {
  name: string;
  displayName: string;
  description: string;
  category: 'filesystem' | 'runtime' | 'web' | 'memory' | 'messaging' | 'automation';
  /** Enabled unless an operator turned it off. */
  enabledByDefault: boolean;
  /** What the tool needs to work (a sandbox, a configured provider). */
  requires: string[];
  defaultSettings: Record<string, unknown>;
}

export const builtinTools: readonly BuiltinToolDefinition[] = [
  {
    name: 'read_file',
    displayName: 'Read file',
    description: "Reads a file from the agent's workspace.",
    category: 'filesystem',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { max_bytes: 262144 },
  },
  {
    name: 'write_file',
    displayName: 'Write file',
    description: "Writes a file in the agent's workspace.",
    category: 'filesystem',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { max_bytes: 1048576 },
  },
  {
    name: 'list_files',
    displayName: 'List files',
    description: "Lists a directory of the agent's workspace.",
    category: 'filesystem',
    enabledByDefault: true,
    requires: [],
    defaultSettings: {},
  },
  {
    name: 'edit',
    displayName: 'Edit file',
    description: "Replaces text in a file of the agent's workspace.",
    category: 'filesystem',
    enabledByDefault: true,
    requires: [],
    defaultSettings: {},
  },
  {
    name: 'exec',
    displayName: 'Run command',
    description: 'Runs a shell command inside a bubblewrap sandbox; refused when no sandbox is available.',
    category: 'runtime',
    enabledByDefault: false,
    requires: ['sandbox:bubblewrap'],
    defaultSettings: { timeout_seconds: 60, max_output_bytes: 65536 },
  },
  {
    name: 'run_js',
    displayName: 'Run JavaScript',
    description: "Runs JavaScript in the platform's mcp-v8 sandbox (isolated-vm workers) and returns its value.",
    category: 'runtime',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { timeout_seconds: 30, heap_memory_max_mb: 64 },
  },
  {
    name: 'web_fetch',
    displayName: 'Fetch URL',
    description: 'Fetches a public URL through the outbound guard (no private addresses, no redirects followed).',
    category: 'web',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { max_bytes: 262144, allowed_hosts: [] },
  },
  {
    name: 'web_search',
    displayName: 'Web search',
    description: 'Searches the web through a configured search provider.',
    category: 'web',
    enabledByDefault: false,
    requires: ['provider:search'],
    defaultSettings: { max_results: 5 },
  },
  {
    name: 'memory_search',
    displayName: 'Search memory',
    description: "Hybrid (vector + full-text) search over the agent's memory documents.",
    category: 'memory',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { limit: 10 },
  },
  {
    name: 'memory_save',
    displayName: 'Save memory',
    description: 'Writes a memory document and indexes it for memory_search.',
    category: 'memory',
    enabledByDefault: true,
    requires: [],
    defaultSettings: {},
  },
  {
    name: 'memory_get',
    displayName: 'Read memory',
    description: 'Reads lines of one memory document.',
    category: 'memory',
    enabledByDefault: true,
    requires: [],
    defaultSettings: {},
  },
  {
    name: 'knowledge_graph_search',
    displayName: 'Search knowledge graph',
    description: "Finds entities and traverses relations in the agent's knowledge graph.",
    category: 'memory',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { max_depth: 2 },
  },
  {
    name: 'message',
    displayName: 'Send message',
    description: 'Sends a message on one of the channel instances.',
    category: 'messaging',
    enabledByDefault: true,
    requires: ['channel'],
    defaultSettings: {},
  },
  {
    name: 'spawn',
    displayName: 'Delegate to agent',
    description: 'Hands a task to another agent and waits for its answer (recorded as a delegation).',
    category: 'automation',
    enabledByDefault: true,
    requires: [],
    defaultSettings: { max_depth: 2 },
  },
];

export const builtinToolNames: ReadonlySet<string> = new Set(builtinTools.map((t) => t.name));
