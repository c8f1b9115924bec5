// The expert-routing lesson's heavy engine work, as jobs of the kit's engine worker
// (_kit/engine-worker.ts): the untrained lift map, two traced forwards over the prose and
// arithmetic texts (liftMap in engine.ts) of a seeded random model built here. The same code runs
// in-process where there is no Worker (Node).
import type { Backend } from '$kernels/backend';
import type { HeatmapData } from '$components/charts/types';
import { lessonModel } from '../_kit/shipped';
import { liftMap } from './engine';

async function lift(q: { seed: number }, backend?: Backend): Promise<HeatmapData> {
  return liftMap(await lessonModel('random', backend, q.seed));
}

export const jobs = { lift };
