export * from './ports';
export { createDrachtioSipEdge, type DrachtioSipEdgeOptions, type EdgeLogger } from './edges/drachtio/drachtio-edge';
