"""The Python side of bench/e2e.ts: its images, and the reference walk it is timed against.

  python bench/e2e.py data OUT.arrow N [FIRST]
      N scikit-learn digits from the FIRST (0) (8 x 8, bundled, no download) upscaled bilinearly to 3 x 224 x 224 and
      normalised with mean = std = 0.5: images with real class structure, as pixels Arrow.
  python bench/e2e.py reference PIXELS.arrow --layers 12,11,... [--seed 0] [--batch 32]
      The SLS reference code's walk on the model of bench/make_vit_b16.py --adapters (rebuilt here
      from the same seeds): a PyTorch forward pass over the data, taking the CLS token of each
      block; then per layer scikit-learn's TSNE (its defaults, random_state=seed), MinMaxScaler and
      silhouette_score. Prints one JSON line: the forward pass's wall and CPU seconds, and per
      layer the t-SNE + score seconds and SC.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def make_data(out: Path, n: int, first: int) -> None:
    from make_vit_b16 import write_pixels
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images[first:first + n] / 16.0, dtype=torch.float32).unsqueeze(1)
    upscaled = torch.nn.functional.interpolate(images, size=(224, 224), mode="bilinear", align_corners=False)
    pixels = ((upscaled.repeat(1, 3, 1, 1) - 0.5) / 0.5).reshape(n, -1).numpy()
    write_pixels(out, pixels, digits.target[first:first + n])


def read_pixels(path: Path) -> tuple[torch.Tensor, np.ndarray]:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    flat = table.column("pixels").combine_chunks().values.to_numpy(zero_copy_only=False)
    labels = table.column("label").to_numpy()
    return torch.from_numpy(flat.reshape(len(labels), 3, 224, 224).copy()), labels


@torch.no_grad()
def cls_per_block(model, pixels: torch.Tensor, batch: int) -> list[np.ndarray]:
    chunks = []
    for start in range(0, len(pixels), batch):
        hidden = model(pixel_values=pixels[start:start + batch], output_hidden_states=True).hidden_states
        chunks.append([h[:, 0].numpy() for h in hidden[1:]])
    return [np.concatenate([c[layer] for c in chunks]) for layer in range(len(chunks[0]))]


def reference(path: Path, layers: list[int], seed: int, batch: int) -> dict:
    from make_vit_b16 import vit_b16
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import MinMaxScaler

    model = vit_b16(adapters=True)
    pixels, labels = read_pixels(path)
    wall, cpu = time.perf_counter(), time.process_time()
    features = cls_per_block(model, pixels, batch)
    forward = {"wallS": time.perf_counter() - wall, "cpuS": time.process_time() - cpu}
    per_layer = []
    for layer in layers:
        wall, cpu = time.perf_counter(), time.process_time()
        embedding = TSNE(n_components=2, random_state=seed).fit_transform(features[layer - 1])
        sc = float(silhouette_score(MinMaxScaler().fit_transform(embedding), labels))
        per_layer.append({"layer": layer, "sc": sc, "wallS": time.perf_counter() - wall,
                          "cpuS": time.process_time() - cpu})
    return {"images": len(labels), "threads": torch.get_num_threads(), "forward": forward, "layers": per_layer}


def main() -> int:
    if sys.argv[1] == "data":
        make_data(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
        return 0
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("pixels", type=Path)
    parser.add_argument("--layers", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    layers = [int(v) for v in args.layers.split(",")]
    print(json.dumps(reference(args.pixels, layers, args.seed, args.batch)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
