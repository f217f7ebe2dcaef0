import './errors.ts';
import './mcp.ts';
import './tools.ts';
import './skills.ts';
import './channels.ts';
import './workspace.ts';
