// `npm start`: build the site if build/ is missing or older than the sources, then serve it on
// 127.0.0.1 (PORT, default 4173, or the next free port) and print the URL last. The build runs
// quietly (its output only on failure; VERBOSE=1 shows it).
import { BUILD_DIR, ensureBuildOrExit, serveStatic } from './serve.mjs';

const port = process.env.PORT ? Number(process.env.PORT) : 4173;
const host = process.env.HOST || '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`[nanoseek] PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}

await ensureBuildOrExit({ quiet: !process.env.VERBOSE });

const { url, close } = await serveStatic({ dir: BUILD_DIR, host, port, quiet: !process.env.VERBOSE });
console.log(`\n  nanoseek is being served at ${url}\n  (static files from build/; Ctrl+C to stop)\n`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (closing) process.exit(1);
    closing = true;
    await close();
    process.exit(0);
  });
}
