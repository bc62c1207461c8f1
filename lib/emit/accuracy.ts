/** Top-1 accuracy of logits against labels. */

/** The fraction of rows whose highest logit (the first, on ties) is at the row's label. */
export function topOneAccuracy(logits: Float32Array, classes: number, labels: Int32Array): number {
  if (labels.length === 0 || logits.length !== labels.length * classes) {
    throw new RangeError(`${logits.length} logits do not make ${labels.length} rows of ${classes} classes`);
  }
  let correct = 0;
  for (let row = 0; row < labels.length; row++) {
    const offset = row * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[offset + c] > logits[offset + best]) best = c;
    if (best === labels[row]) correct++;
  }
  return correct / labels.length;
}
