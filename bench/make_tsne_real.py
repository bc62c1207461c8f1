"""Makes the model and the images whose CLS features are real-data shapes of the t-SNE benchmark
(run by bench/tsneFeatures.ts; outputs are not committed).

  python bench/make_tsne_real.py model OUT_DIR               OUT_DIR/model.onnx (+ model.onnx.data)
  python bench/make_tsne_real.py digits OUT_PATH N SIDE      OUT_PATH: N digits images at SIDE x SIDE

model: a Hugging Face ViTForImageClassification with ViTConfig's defaults but for its input
(width 768 and 12 blocks as ViT-B/16; 32 x 32 images in 8 x 8 patches, 17 tokens, so that 10,000+
images extract in minutes on 2 CPU cores: 35 to 56 images/s measured), random weights (seed 0),
exported as bench/make_vit_b16.py exports ViT-B/16.
digits: pixels FixedSizeList<f32>[3*SIDE*SIDE] and label, preprocessed as the fixture ViT's
training data (test/fixtures/make_model_fixtures.py: scikit-learn's digits in its shuffled order,
nearest-neighbour upsampled, mean 0.5, std 0.5; the first 1,000 are the split the fixture ViT was
adapted on). scikit-learn bundles 1,797 digits: rows beyond them are copies of the digits, each
copy c = 1, 2, ... shifted by up to 2 pixels (16 x 16 scale) and with Gaussian noise (std 16 of
255), seeded by c, so the first N rows are the same at every N.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "test" / "fixtures"))
sys.path.insert(0, str(HERE))

from make_model_fixtures import load_digits_u8, preprocess  # noqa: E402
from make_vit_b16 import export, write_pixels  # noqa: E402

SIDE = 32
PATCH = 8
SHIFT = 2
NOISE = 16.0


def vit768():
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    return ViTForImageClassification(
        ViTConfig(image_size=SIDE, patch_size=PATCH, num_labels=10, attn_implementation="eager")).eval()


def shifted_noisy_copy(images: np.ndarray, copy: int) -> np.ndarray:
    """Each uint8 [n, 16, 16, 3] image moved by up to SHIFT pixels (background 0 comes in), plus noise."""
    rng = np.random.default_rng(copy)
    n, side = images.shape[0], images.shape[1]
    padded = np.pad(images, ((0, 0), (SHIFT, SHIFT), (SHIFT, SHIFT), (0, 0)))
    dy, dx = rng.integers(0, 2 * SHIFT + 1, (2, n))
    moved = np.stack([padded[i, dy[i]:dy[i] + side, dx[i]:dx[i] + side] for i in range(n)])
    noisy = moved + rng.normal(0.0, NOISE, moved.shape[:3])[..., None]
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def digits(n: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """n preprocessed images [n, 3 * side * side] and their labels."""
    images, labels = load_digits_u8()  # 16 x 16
    copies = [images] + [shifted_noisy_copy(images, c) for c in range(1, -(-n // len(labels)))]
    rgb = np.concatenate(copies)[:n]
    rgb = np.kron(rgb, np.ones((1, side // 16, side // 16, 1), dtype=np.uint8))
    return preprocess(rgb).reshape(n, -1), np.resize(labels, n)


def main() -> int:
    if sys.argv[1] == "model":
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        if not (out / "model.onnx").exists():
            export(vit768(), out / "model.onnx", SIDE)
    else:
        path, n, side = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_pixels(path, *digits(n, side))
    return 0


if __name__ == "__main__":
    sys.exit(main())
