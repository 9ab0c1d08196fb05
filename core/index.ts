export * from './errors';
export * from './ids';
export * from './time';
export * from './phone';
export * from './events';
export * from './actor';
export * from './ticket-kinds';
