// The expert-routing lesson's engine work that hangs on the seed, as jobs of the kit's engine
// worker (_kit/engine-worker.ts): the untrained lift map (two forwards over the prose and
// arithmetic texts, liftMap in engine.ts, of a seeded random model built here) and the four
// segmented models with their routing of the prompt (segRuns). The same code runs in-process
// where there is no Worker (Node).
import type { Backend } from '$kernels/backend';
import type { HeatmapData } from '$components/charts/types';
import { lessonModel } from '../_kit/shipped';
import { type SegRun, liftMap, segRuns } from './engine';

async function lift(q: { seed: number }, backend?: Backend): Promise<HeatmapData> {
  return liftMap(await lessonModel('random', backend, q.seed));
}

function seg(q: { seed: number }, backend?: Backend): SegRun[] {
  return segRuns(q.seed, backend);
}

export const jobs = { lift, seg };
