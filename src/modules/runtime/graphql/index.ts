import './executions.ts';
