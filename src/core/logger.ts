import { type Logger, pino } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/** The process logger. Secrets never reach it: credential headers are redacted. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'atrium' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.apikey',
        'req.headers["x-api-key"]',
        'req.headers["x-atrium-admin-key"]',
        'req.headers.cookie',
      ],
      censor: '[redacted]',
    },
  });
}
