import './api-keys.ts';
import './audit.ts';
import './tokens.ts';
import './viewer.ts';
