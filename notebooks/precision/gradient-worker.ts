// The precision lesson's engine worker: the gradient figures (jobs.ts), served by the kit.
import { serveEngineJobs } from '../_kit/engine-worker';
import { jobs } from './jobs';

serveEngineJobs(jobs);
