export * from './common';
export * from './catalog';
export * from './lab-events';
export * from './flow-control';
export * from './observe-events';
export * from './classroom-events';
export * from './progress-events';
