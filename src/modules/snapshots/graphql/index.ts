import './snapshots.ts';
