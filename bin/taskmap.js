#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci` via `prepare`).

// A reader that stops early (`taskmap measures | head`) closes the pipe: that is not an error worth a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist')) throw err;
  process.stderr.write(
    `taskmap: the CLI is not built (${err.message.split('\n')[0]}); run \`npm run build\` (or \`npm ci\`) in ${new URL('..', import.meta.url).pathname}\n`,
  );
  process.exit(1);
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`taskmap: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
