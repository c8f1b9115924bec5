// The speculation-trees lesson's Web Worker: its drafter runs, sweep and rule comparison (jobs.ts), served by the kit.
import { serveEngineJobs } from '../_kit/engine-worker';
import { jobs } from './jobs';

serveEngineJobs(jobs);
