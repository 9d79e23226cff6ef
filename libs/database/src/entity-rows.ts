import { DataSource, EntityMetadata } from 'typeorm';

/**
 * Every column of an entity as `alias.column AS "alias_column"`, for a hand-written statement (a prepared one on the
 * hot path) whose rows `hydrate` turns back into the entity. Built from TypeORM's metadata, so it follows the entity.
 */
export function selectColumns(metadata: EntityMetadata, alias: string): string {
  return metadata.columns.map((c) => `${alias}.${c.databaseName} AS "${alias}_${c.databaseName}"`).join(', ');
}

/**
 * The entity in a row selected with `selectColumns`, converted as TypeORM converts its own results (column
 * transformers, dates). For the SQL TypeORM's query builder would otherwise write again on every call.
 */
export function hydrate<T>(db: DataSource, metadata: EntityMetadata, row: Record<string, unknown>, alias: string): T {
  const entity = metadata.create() as T;
  for (const column of metadata.columns) {
    column.setEntityValue(entity as object, db.driver.prepareHydratedValue(row[`${alias}_${column.databaseName}`], column));
  }
  return entity;
}
