import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentProgress, type Progress } from '../../src/core/progress.js';
import { openProject, type Project } from '../../src/core/project.js';
import { buildImages, type BuildOptions, type BuildReport } from '../../src/images/build.js';
import { loadSettings } from '../../src/settings/load.js';
import { StateStore } from '../../src/state/store.js';

/** busybox-static: the only binary a FROM scratch test image needs. */
export const BUSYBOX = '/bin/busybox';

export interface TestProject {
  project: Project;
  root: string;
  /** Writes docker/<folder>/ with a Dockerfile and extra files. */
  image(folder: string, dockerfile: string, files?: Record<string, string | { copyFrom: string }>): string;
  remove(): void;
}

export function testProject(prefix = 'pcc-images-'): TestProject {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  mkdirSync(path.join(root, 'docker'));
  return {
    project: openProject({ project: root, home: root }),
    root,
    image(folder, dockerfile, files = {}) {
      const dir = path.join(root, 'docker', folder);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
      for (const [name, content] of Object.entries(files)) {
        const file = path.join(dir, name);
        mkdirSync(path.dirname(file), { recursive: true });
        if (typeof content === 'string') writeFileSync(file, content);
        else copyFileSync(content.copyFrom, file);
      }
      return dir;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A FROM scratch image with busybox, and a file that makes its content its own. */
export function scratchImage(t: TestProject, folder: string, marker = folder): string {
  return t.image(folder, 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY marker /marker\n', {
    busybox: { copyFrom: BUSYBOX },
    marker: `${marker}\n`,
  });
}

/** An image built FROM another pcc image, running a command in it (proves the base works). */
export function dependentImage(t: TestProject, folder: string, base: string, marker = folder): string {
  return t.image(
    folder,
    `ARG REGISTRY_HOST\nFROM \${REGISTRY_HOST}/${base}\nCOPY marker /marker-${folder}\nRUN ["/bin/busybox", "cp", "/marker-${folder}", "/copied"]\n`,
    { marker: `${marker}\n` },
  );
}

/** Runs the build through the API, as the CLI does, with settings from `env`. */
export function build(
  t: TestProject,
  env: NodeJS.ProcessEnv,
  options: Partial<BuildOptions> & { progress?: Progress } = {},
): Promise<BuildReport> {
  return buildImages({
    project: t.project,
    settings: loadSettings(t.project, env),
    store: new StateStore(t.project),
    progress: silentProgress,
    ...options,
  });
}

export function outcomes(report: BuildReport): Record<string, string> {
  return Object.fromEntries(report.images.map((r) => [r.image, r.result]));
}
