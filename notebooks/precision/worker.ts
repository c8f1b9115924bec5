// The precision lesson's Web Worker: the three loss-scaling runs (train.ts), served by the kit.
import { serveJobs } from '../_kit/train-job';
import { lossScaleRunner } from './train';

serveJobs(lossScaleRunner);
