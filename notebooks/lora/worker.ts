// The LoRA lesson's Web Worker: LoRA and full fine-tuning side by side (train.ts), served by the kit.
import { serveJobs } from '../_kit/train-job';
import { fineTuneRunner } from './train';

serveJobs(fineTuneRunner);
