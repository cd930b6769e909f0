"""How right are the explanations?

- Text, with ground truth: on `grammar` the sentiment label is set by the adjective alone, so
  each method's precision at 1 (is the top token the adjective?) is measured.
- Images, without ground truth: a small CNN on fashion-mnist; each method's mean deletion and
  insertion areas over test images (the target probability as pixels are blacked out, or put
  back, in attribution order: low deletion and high insertion are faithful) and the
  model-randomisation check (Spearman of the attribution against that of a re-initialised
  model: near 0 passes), plus activation maximisation of every class from noise.
- The attention language model: on `grammar`, against a plain LSTM LM of the same size, its
  test perplexity, and where its attention goes while it generates (the mean weight at each
  distance back from the newest input), with one heatmap.

    python scripts/explain_study.py [--out runs/explain-study] [--n 200] [--images 100]
                                    [--parts text,images,attention]

Each part writes PART.json under --out; the whole writes study.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from latentatlas import fit, load
from latentatlas.data import grammar
from latentatlas.data.text import load_text
from latentatlas.explain import IMAGE_METHODS, METHODS, explain_image, explain_text
from latentatlas.explain.faithfulness import deletion_insertion, randomization
from latentatlas.explain.maximize import maximize_image
from latentatlas.plotting import save_grid

ADJECTIVES = {w for ws in grammar.ADJECTIVES.values() for w in ws}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/explain-study")
    p.add_argument("--n", type=int, default=200, help="test sentences to explain")
    p.add_argument("--images", type=int, default=100, help="test images to explain")
    p.add_argument("--parts", default="text,images,attention",
                   help="which parts to run, comma-separated")
    a = p.parse_args()
    parts = a.parts.split(",")
    if not set(parts) <= {"text", "images", "attention"}:
        raise SystemExit(f"unknown part in {a.parts!r}: text, images, attention")
    torch.set_num_threads(2)
    out = Path(a.out)
    result: dict = {"command": "python scripts/explain_study.py"
                    + (f" --parts {a.parts}" if len(parts) < 3 else "")}
    for part, make in (("text", lambda: text_study(out, a.n)),
                       ("images", lambda: image_study(out, a.images)),
                       ("attention", lambda: attention_study(out))):
        if part in parts:
            result[part] = make()
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{part}.json").write_text(json.dumps(result[part], indent=1) + "\n")
    print(json.dumps(result, indent=1))
    if len(parts) == 3:
        (out / "study.json").write_text(json.dumps(result, indent=1) + "\n")


def text_study(out: Path, n: int) -> dict:
    run = str(out / "grammar-sentiment")
    fit("text-classifier", "grammar", run, label="sentiment", hidden=(64,), embed_dim=32,
        epochs=3, force=True)
    model = load(run)
    texts = load_text("grammar").test[:n]
    result: dict = {"run": run, "sentences": len(texts), "methods": {}}
    for method in METHODS:
        t = time.perf_counter()
        hits = sum(r.tokens[r.top(1)[0]] in ADJECTIVES
                   for r in (explain_text(model, x, method) for x in texts))
        result["methods"][method] = {
            "precision_at_1": round(hits / len(texts), 3),
            "ms_per_explanation": round((time.perf_counter() - t) / len(texts) * 1000, 2)}
    return result


def image_study(out: Path, n: int) -> dict:
    run = str(out / "fmnist-cnn")
    trained = fit("image-classifier", "fashion-mnist", run, epochs=3, force=True, threads=2)
    model = trained.model
    test = trained.data("test")[:n]
    metrics = trained.metrics[-1]
    result: dict = {"run": run, "test_accuracy": round(metrics["test_accuracy"], 4),
                    "images": len(test), "methods": {}}
    variants = [(m, {}) for m in IMAGE_METHODS] + [("lime", {"segments": "superpixels"})]
    for method, kw in variants:
        t = time.perf_counter()
        dels, ins, rhos = [], [], []
        for x in test:
            r = explain_image(model, x, method, **kw)
            curves = deletion_insertion(model, x, r)
            dels.append(curves["deletion_auc"])
            ins.append(curves["insertion_auc"])
            rhos.append(randomization(model, x, method, r.target, **kw)[
                "spearman_vs_randomized_model"])
        name = method + (" superpixels" if kw else "")
        result["methods"][name] = {
            "deletion_auc": round(sum(dels) / len(dels), 4),
            "insertion_auc": round(sum(ins) / len(ins), 4),
            "spearman_vs_randomized_model": round(sum(rhos) / len(rhos), 4),
            "ms_per_image_with_checks": round((time.perf_counter() - t) / len(test) * 1000, 1)}
    rows = [maximize_image(model, c) for c in model.config.classes]
    save_grid(torch.stack([r.image for r in rows]), out / "maximize.png", nrow=10, scale=4)
    result["maximize"] = {c: round(r.probability, 4)
                          for c, r in zip(model.config.classes, rows, strict=True)}
    result["maximize_figure"] = str(out / "maximize.png")
    return result


def attention_study(out: Path, window: int = 8, n: int = 200) -> dict:
    from latentatlas.explain.attention import attention_png, generate_with_attention

    result: dict = {"window": window}
    for kind in ("lm", "attn-lm"):
        run = str(out / f"grammar-{kind}")
        last = fit(kind, "grammar", run, hidden=(64,), embed_dim=32, window=window, epochs=3,
                   force=True, threads=2).metrics[-1]
        result[f"{kind}_test_perplexity"] = round(last["test_perplexity"], 3)
    model = load(run)
    by_distance = torch.zeros(window)
    rows = 0
    for seed in range(n):
        trace = generate_with_attention(model, "she", 12, seed=seed)
        for k, row in enumerate(trace.weights):
            newest = k + 1 + window - 1  # column of the newest input of generated token k
            by_distance += torch.tensor(row[newest - window + 1:newest + 1][::-1].copy())
            rows += 1
    trace = generate_with_attention(model, "she danced in", 12, seed=0)
    attention_png(trace, out / "attention.png", "grammar attn-lm: she danced in ...")
    result.update({"generated_tokens": rows,
                   "mean_weight_by_distance": [round(float(v), 4) for v in by_distance / rows],
                   "example": " ".join(trace.prompt + trace.generated),
                   "figure": str(out / "attention.png")})
    return result


if __name__ == "__main__":
    main()
