// Text table of one engine benchmark result (the shape bench/engine.ts returns), for plain-JS scripts.
export function formatEngineBenchText(b) {
  return [
    `Engine on ${b.backend} (${b.config})`,
    'path          context  prefill tok/s  decode tok/s  cache B/token',
    ...b.rows.map((r) => `${r.path.padEnd(13)} ${String(r.context).padStart(7)}  ${r.prefillTokensPerSec.toFixed(0).padStart(13)}  ${r.decodeTokensPerSec.toFixed(0).padStart(12)}  ${String(r.cacheBytesPerToken).padStart(13)}`),
    `speculative (MTP drafter, gamma ${b.speculative.gamma}, untrained weights): ${b.speculative.speculativeTokensPerSec.toFixed(0)} tok/s vs plain ${b.speculative.plainTokensPerSec.toFixed(0)} tok/s, acceptance ${(100 * b.speculative.acceptanceRate).toFixed(1)}%`,
  ].join('\n');
}
