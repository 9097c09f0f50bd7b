import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';

/** Browser files a library reads at run time from beside its code (the sandbox's phone page). */
const ASSET_EXTENSIONS = new Set(['.html', '.css', '.js']);
const SKIPPED_DIRS = new Set(['test', 'node_modules']);

function assetsUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : assetsUnder(path);
    return ASSET_EXTENSIONS.has(extname(entry.name)) ? [path] : [];
  });
}

/**
 * tsc emits only what it compiles: copies the libraries' run-time assets to the same place
 * under outDir, so the compiled code finds them beside itself. Returns the paths copied,
 * relative to rootDir.
 */
export function copyAssets(rootDir: string, outDir: string): string[] {
  return assetsUnder(join(rootDir, 'libs')).map((source) => {
    const path = relative(rootDir, source);
    const target = join(outDir, path);
    mkdirSync(join(target, '..'), { recursive: true });
    copyFileSync(source, target);
    return path;
  });
}

if (require.main === module) {
  // npm runs the build from the repository root.
  copyAssets(process.cwd(), resolve('dist'));
}
