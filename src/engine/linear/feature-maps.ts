// Feature maps phi for linear attention ("Transformers are RNNs", Katharopoulos et al. 2020): the
// similarity sim(q, k) = phi(q) . phi(k) must be non-negative for the normalised average to be a
// weighted mean, so phi maps into the non-negative orthant.
export type FeatureMapName = 'elu1' | 'relu';

/** elu(x) + 1: x + 1 for x > 0, exp(x) otherwise; positive everywhere, smooth at 0. */
export function elu1(x: number): number {
  return x > 0 ? x + 1 : Math.exp(x);
}

export function relu(x: number): number {
  return x > 0 ? x : 0;
}

/**
 * phi applied elementwise to rows [T, d] after multiplying by sqrt(scale), so that the feature dot
 * product sees the same scaled q . k as softmax(scale q . k) does.
 */
export function applyFeatureMap(name: FeatureMapName, x: ArrayLike<number>, scale = 1): Float64Array {
  const f = name === 'elu1' ? elu1 : relu;
  const s = Math.sqrt(scale);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i] * s);
  return out;
}
