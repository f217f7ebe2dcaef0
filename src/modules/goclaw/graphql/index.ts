import './types.ts';
import './providers.ts';
import './agents.ts';
import './traces.ts';
import './sessions.ts';
import './memory.ts';
import './kg.ts';
