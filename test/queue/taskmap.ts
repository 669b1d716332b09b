/** The CLI from source, for tests that need `taskmap` as a separate process (queue workers, a coordinator to kill). */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
