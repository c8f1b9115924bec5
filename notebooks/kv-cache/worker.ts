// The KV-cache lesson's Web Worker: its decode runs (jobs.ts), served by the kit.
import { serveEngineJobs } from '../_kit/engine-worker';
import { jobs } from './jobs';

serveEngineJobs(jobs);
