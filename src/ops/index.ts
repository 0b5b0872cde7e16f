export { check } from './check.js';
export { command, type CommandOptions } from './command.js';
export { blockInFile, lineInFile, renderTemplate, template, templateFile } from './edit.js';
export type { BlockOptions, LineOptions, TemplateOptions } from './edit.js';
export { directory, file, writeFileCommand, type FileOptions, type Ownership } from './files.js';
export { ANYTHING, SYSTEM, type Change, type FactReader, type Operation, type PlanContext } from './operation.js';
export { packages } from './packages.js';
export { service, systemdUnit, type ExistingServiceOptions, type ServiceOptions, type UnitOptions } from './systemd.js';
export { jsonFile, withListEntries } from './json.js';
