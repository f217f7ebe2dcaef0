import './errors.ts';
import './mcp.ts';
import './tools.ts';
import './skills.ts';
