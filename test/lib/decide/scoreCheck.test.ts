import { describe, expect, it } from 'vitest';
import { checkedScore } from '../../../lib/decide/scoreCheck.js';
import { InputError } from '../../../lib/errors.js';

describe('checkedScore', () => {
  it('passes every silhouette in [-1, 1], the bounds included', () => {
    for (const score of [-1, -0.25, 0, 0.4, 1]) expect(checkedScore(score, 6, '/a/e.arrow')).toBe(score);
  });

  it.each([
    ['NaN', Number.NaN, 'NaN'],
    ['null (NaN after JSON)', null, 'null'],
    ['an infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['a value above 1', 1.5, '1.5'],
    ['a value below -1', -1.01, '-1.01'],
    ['a missing value', undefined, 'undefined'],
  ])('rejects %s as bad input naming the layer and the embedding file', (_, score, shown) => {
    const call = () => checkedScore(score, 6, '/a/e.arrow');
    expect(call).toThrow(InputError);
    expect(call).toThrow(`/a/e.arrow: the score of layer 6 is ${shown}, not a silhouette in [-1, 1]`);
  });
});
