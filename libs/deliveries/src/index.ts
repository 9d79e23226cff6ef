export * from './batcher';
export * from './delivery-journey.module';
export * from './delivery-journey.service';
export * from './inline-replies';
