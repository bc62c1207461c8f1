/** The oracle for exact kNN tests: point i's k nearest by a plain float64 scan, ties to the smaller index. */
export function bruteForceNeighbors(features: Float32Array, n: number, d: number, k: number, i: number): number[] {
  return bruteForceScan(features, n, d, i)
    .slice(0, k)
    .map((entry) => entry.j);
}

/** Every other point with its squared distance to point i, nearest first, ties to the smaller index. */
export function bruteForceScan(features: Float32Array, n: number, d: number, i: number): { j: number; distance: number }[] {
  const all: { j: number; distance: number }[] = [];
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    let distance = 0;
    for (let a = 0; a < d; a++) distance += (features[i * d + a] - features[j * d + a]) ** 2;
    all.push({ j, distance });
  }
  return all.sort((p, q) => p.distance - q.distance || p.j - q.j);
}
