// `npm run examples`: writes config/*.env.example from the settings schema and
// their docs (src/settings/docs.ts). test/unit/cli/units.test.ts fails
// when the committed files differ, so they can never drift.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderExamples } from '../settings/docs.js';

const config = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config');
for (const [name, text] of renderExamples()) writeFileSync(path.join(config, name), text);
