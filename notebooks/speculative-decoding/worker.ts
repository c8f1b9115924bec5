// The speculative-decoding lesson's Web Worker: its speculate runs, drafter overlap and timings (jobs.ts), served by the kit.
import { serveEngineJobs } from '../_kit/engine-worker';
import { jobs } from './jobs';

serveEngineJobs(jobs);
