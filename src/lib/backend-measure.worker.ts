// The page's kernel measurement, off the main thread: the same selectBackend a page runs, in a
// dedicated worker, so the lesson computes its figures at full speed meanwhile. Only the CPU kernel
// sets are measured here (the page sends this work only when it has no GPU for gpu.js to win on);
// the page then builds the chosen routing from this report (selectBackend's `reuse`).
import { selectBackend } from '$kernels/select';

export interface MeasureRequest { gpujsSkipped: string }
export type MeasureReply = { report: import('$kernels/select').SelectionReport } | { error: string };

self.onmessage = async (e: MessageEvent<MeasureRequest>) => {
  let reply: MeasureReply;
  try {
    const selected = await selectBackend({ gpujsSkipped: e.data.gpujsSkipped });
    // a plain-JSON copy: the live report belongs to a backend that dies with this worker
    reply = { report: JSON.parse(JSON.stringify(selected.report)) };
    selected.destroy();
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  (self as unknown as { postMessage(m: MeasureReply): void }).postMessage(reply);
};
