"""Pixel likelihoods for the image VAE: the study behind docs/results.md, "Per-pixel variance".

    python scripts/likelihood_study.py table [--epochs 10] [--retrain]

Trains the canonical 784-400-20 VAE on Fashion-MNIST once per observation model (Bernoulli,
continuous Bernoulli, Gaussian and Laplace with a fixed, a learned shared and a per-pixel scale)
under runs/likelihoods/ and measures each through the Python API: test loss terms and the
importance-weighted NLL with k = 100, nats per image; for the densities, the same on the test
images dequantised (x + U(0, 1) / 256 on the 256 grey levels), which plus 784 log 256 bounds
the negative log-probability of the discrete images, also in bits per pixel; the mean
predicted scale of the per-pixel models on the background and on the object; the squared
error of the reconstructions' means. Writes
runs/likelihoods/table.json and draws docs/figures/likelihood-samples.png: for each model
eight prior samples shown as their means, as draws x ~ p(x | z) and as each pixel's scale.
2 torch threads; run it alone.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from study import table_main, trained_run

from latentatlas import Run
from latentatlas.atlas.workflow import sample_images
from latentatlas.plotting import save_image_rows
from latentatlas.train.evaluate import iw_nll

ROOT = Path("runs/likelihoods")
FIGURES = Path("docs/figures")
MODELS = {  # label -> (likelihood, obs_scale)
    "bernoulli": ("bernoulli", 0.1),
    "continuous-bernoulli": ("continuous-bernoulli", 0.1),
    "gaussian 0.1": ("gaussian", 0.1),
    "gaussian learned": ("gaussian", "learned"),
    "gaussian per-pixel": ("gaussian", "per-pixel"),
    "laplace learned": ("laplace", "learned"),
    "laplace per-pixel": ("laplace", "per-pixel"),
}
IW_K = 100


def reconstruction_error(run: Run) -> float:
    """The squared error of the reconstructions' means E[x | mu(x)] of 1,000 test images,
    summed over the pixels, averaged over the images."""
    model = run.model
    x = run.dataset.test_x[:1000]
    with torch.no_grad():
        return round(float((model.decode(model.encode(x)[0]) - x).pow(2).flatten(1).sum(1)
                           .mean()), 3)


def scale_where(run: Run) -> dict[str, float]:
    """The mean predicted scale (pixel units) of the reconstructions of 1,000 test images, on
    their background (pixels at 0) and on the object (the rest)."""
    model = run.model
    x = run.dataset.test_x[:1000]
    with torch.no_grad():
        mu, _ = model.encode(x)
        sigma = model.likelihood.scale(model.decoder_output(mu).float())
    background = x == 0
    return {"scale_background": round(float(sigma[background].mean()), 4),
            "scale_object": round(float(sigma[~background].mean()), 4)}


def discrete_bound(run: Run) -> dict[str, float]:
    """The IW NLL of the dequantised test images and the bound it gives on -log P of the
    discrete ones: nats per image and bits per pixel."""
    x = run.dataset.test_x
    g = torch.Generator().manual_seed(0)
    levels = 256
    dequantised = (torch.round(x * (levels - 1)) + torch.rand(x.shape, generator=g)) / levels
    torch.manual_seed(0)
    nll = iw_nll(run.model, dequantised, IW_K)
    pixels = x[0].numel()
    bound = nll + pixels * math.log(levels)
    return {f"iw_nll_k{IW_K}_dequantised": round(nll, 2), "discrete_nll_bound": round(bound, 2),
            "bits_per_pixel": round(bound / (pixels * math.log(2)), 4)}


def table(epochs: int, retrain: bool) -> dict:
    rows, strips = {}, []
    for label, (likelihood, scale) in MODELS.items():
        name = label.replace(" ", "-").replace(".", "")
        run = Run.open(trained_run(ROOT, name, "vae", "fashion-mnist", retrain, quiet=True,
                                   likelihood=likelihood, obs_scale=scale, latent_dim=20,
                                   size="small", epochs=epochs))
        ev = run.evaluate(iw=IW_K)
        row = {"run": str(run.path), "likelihood": likelihood, "obs_scale": scale,
               "epochs": len(run.metrics), "loss": ev["loss"], "recon": ev["recon"],
               "kl": ev["kl"], f"iw_nll_k{IW_K}": ev[f"iw_nll_k{IW_K}"],
               "reconstruction_squared_error": reconstruction_error(run)}
        if likelihood != "bernoulli":  # a pmf over {0, 1}: no density to dequantise
            row |= discrete_bound(run)
        if scale == "learned":
            row["learned_scale"] = round(float(run.model.likelihood.log_scale.exp()), 4)
        if scale == "per-pixel":
            row |= scale_where(run)
        rows[label] = row
        for pixels in ("mean", "draw", "scale"):
            if pixels == "scale" and likelihood not in ("gaussian", "laplace"):
                continue
            images, _ = sample_images(run.path, 8, seed=0, pixels=pixels)
            if pixels == "scale":
                images = images / 0.5  # one shared display range: sigma 0.5 is white
            strips.append((f"{label}: {pixels}" if pixels == "mean" else pixels, images))
    save_image_rows(strips, FIGURES / "likelihood-samples.png",
                    "8 prior samples per likelihood: mean E[x|z], draw x ~ p(x|z),\n"
                    "pixel scale (white = 0.5)")
    return {"data": "fashion-mnist", "iw_k": IW_K, "rows": rows}


def main() -> None:
    table_main("likelihood_study.py", __doc__, ROOT, lambda a: table(a.epochs, a.retrain),
               epochs={"type": int, "default": 10})


if __name__ == "__main__":
    main()
