// The linear-attention lesson's Web Worker: its swapped-layer forwards and Performer's error curves (jobs.ts), served by the kit.
import { serveEngineJobs } from '../_kit/engine-worker';
import { jobs } from './jobs';

serveEngineJobs(jobs);
