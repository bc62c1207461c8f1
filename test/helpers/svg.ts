/** The vertices of every area mark's path in an SVG (or a page of them), in drawing order. */
export function areaVertices(svg: string): Array<Array<[number, number]>> {
  return [...svg.matchAll(/<g class="mark-area role-mark layer_0_marks"[^>]*><path d="([^"]*)"/g)].map((path) =>
    [...path[1].matchAll(/[ML]([-\d.]+),([-\d.]+)/g)].map((m): [number, number] => [Number(m[1]), Number(m[2])]),
  );
}
