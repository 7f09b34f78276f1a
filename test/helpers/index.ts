export * from './log.js';
export * from './raw.js';
export * from './servers.js';
export * from './streams.js';
