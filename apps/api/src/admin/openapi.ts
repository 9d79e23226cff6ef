import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

export const OPENAPI_PATH = 'docs';

/** OpenAPI at /docs (the UI) and /docs-json (the document). */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Pyrus bots: admin API')
    .setDescription(
      'Audit and operations. Every /admin route needs `Authorization: Bearer <token>`: auditor tokens read, operator ' +
        'tokens also replay, retry and edit budget limits. Errors: `{statusCode, error, message, requestId}`.',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup(OPENAPI_PATH, app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: `${OPENAPI_PATH}-json` });
}
