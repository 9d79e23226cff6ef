import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, Delivery, DeliveryStatus, hydrate, ProcessedOutcome, ProcessedTask, selectColumns } from '@app/database';
import { TEST_DATABASE_URL } from './support/test-env';

/** A hand-written read (the worker's, prepared) gives the entities TypeORM's own read gives. */
describe('entity rows', () => {
  let db: DataSource;
  beforeAll(async () => {
    db = await new DataSource(buildDataSourceOptions(TEST_DATABASE_URL, {}, 1)).initialize();
  });
  afterAll(async () => {
    await db?.query(`DELETE FROM processed_tasks WHERE bot = 'entity-rows'`);
    await db?.query(`DELETE FROM deliveries WHERE bot = 'entity-rows'`);
    await db?.destroy();
  });

  it('hydrates a delivery and its record as TypeORM does: numbers from bigints, dates, JSON, nulls', async () => {
    const taskId = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    const delivery = await db.getRepository(Delivery).save({
      bot: 'entity-rows',
      taskId,
      event: 'comment',
      dedupeKey: randomUUID(),
      retryHeader: null,
      userAgent: 'Pyrus-Bot/4',
      requestId: 'r-1',
      status: DeliveryStatus.Processed,
      bodyBytes: 42,
      payload: { task_id: taskId, task: { id: taskId, text: 'Счёт' } },
    });
    await db.getRepository(ProcessedTask).save({
      deliveryId: delivery.id,
      bot: 'entity-rows',
      taskId,
      handler: 'auto-reply',
      outcome: ProcessedOutcome.Posted,
      reason: 'ok',
      comment: { text: 'Hello', approval_choice: 'approved' },
      pyrusStatus: 200,
      pyrusCommentId: 12_345_678_901,
      attempts: 1,
      receivedAt: new Date('2026-12-01T10:00:00.123Z'),
      startedAt: new Date('2026-12-01T10:00:01Z'),
      postedAt: new Date(),
      finishedAt: new Date(),
    });
    const sql = `SELECT ${selectColumns(db.getMetadata(Delivery), 'd')}, ${selectColumns(db.getMetadata(ProcessedTask), 'p')}
                 FROM deliveries d LEFT JOIN processed_tasks p ON p.delivery_id = d.id WHERE d.id = $1`;
    const [row] = await db.query(sql, [delivery.id]);

    const viaTypeorm = await db.getRepository(Delivery).findOneByOrFail({ id: delivery.id });
    const record = await db.getRepository(ProcessedTask).findOneByOrFail({ deliveryId: delivery.id });
    const mine = hydrate<Delivery>(db, db.getMetadata(Delivery), row, 'd');
    expect(mine).toBeInstanceOf(Delivery);
    expect(mine).toStrictEqual(viaTypeorm);
    expect(mine.taskId).toBe(taskId);
    expect(mine.queuedAt).toBeNull();
    expect(hydrate<ProcessedTask>(db, db.getMetadata(ProcessedTask), row, 'p')).toStrictEqual(record);
    expect(record.pyrusCommentId).toBe(12_345_678_901);
  });
});
