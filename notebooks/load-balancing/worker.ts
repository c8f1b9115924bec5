// The load-balancing lesson's Web Worker: the three playgrounds train here (jobs.ts), served by the kit.
import { serveEngineJobs } from '../_kit/engine-worker';
import { jobs } from './jobs';

serveEngineJobs(jobs);
