"""What ``--precision auto`` measures and chooses on this machine, for the image VAEs.

    python benchmarks/precision_choice.py [--threads 2]

Runs ``latentatlas.train.precision.auto_precision`` (no cache: measured now) on the 784-400-20
VAE and the small conv VAE with the first 128 Fashion-MNIST training images (shapes' images
where Fashion-MNIST is missing) and prints, per model, the record a run keeps in config.json
(``train.precision_measured``) and the seconds the decision took.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from latentatlas.data import availability, load_dataset
from latentatlas.models.image import PRESETS, ImageModelConfig, ImageVAE
from latentatlas.train.precision import auto_precision
from latentatlas.train.trainer import make_optimizers


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    name = "fashion-mnist" if not availability("fashion-mnist").startswith("missing") \
        else "shapes"
    data = load_dataset(name)
    x = data.train_x[:128]
    models = {"mlp 784-400-20": ImageModelConfig(image_shape=data.image_shape),
              "conv small": ImageModelConfig(arch="conv", hidden=PRESETS[("conv", "small")],
                                             image_shape=data.image_shape)}
    out = {"benchmark": "precision_choice", "data": name, "threads": a.threads, "models": {}}
    for label, config in models.items():
        torch.manual_seed(0)
        t = time.perf_counter()
        record = auto_precision(ImageVAE(config), (x,), torch.device("cpu"),
                                lambda m: make_optimizers(m, 1e-3), cache=False)
        out["models"][label] = {**record, "seconds": round(time.perf_counter() - t, 2)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
