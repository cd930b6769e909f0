"""Speed of the text side, each against a baseline run in this same process.

- Knob decodes: every setting of 5 PCA knobs at 3 steps for 5 test sentences (3^5 x 5 = 1,215
  sentences) decoded greedily in one batched pass (``atlas.sentences.knob_table``) against
  decoding the same 1,215 codes one at a time; the sentences must agree.
- Training tokens per second of the sentence VAE: our loss (batch cut to its longest sentence,
  only real positions projected onto the vocabulary) against the usual full padded-logits loss
  on the same model and batches, in interleaved rounds.
- The output layer: the same network with the adaptive softmax against the full softmax (each
  with our trimmed loss, the strongest plain baseline), fresh weights, same batches,
  interleaved rounds; and the test NLL both reach is in docs/results.md (a speed that cost
  quality would not count).

Uses a trained sentence VAE when given (``--run``), else trains one for an epoch on wordnet
(or grammar when wordnet is not installed).

    python benchmarks/text_speed.py [--run runs/text-study/wn-vae] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from timing import timed

from latentatlas import fit, load
from latentatlas.atlas import Knobs, run_codes
from latentatlas.atlas.sentences import decode_texts, encode_texts, knob_table
from latentatlas.data import availability
from latentatlas.data.text import load_text_spec
from latentatlas.models import read_config
from latentatlas.models.decoding import PAD
from latentatlas.models.text import SentenceVAE, TextModelConfig


def padded_loss(model, ids):
    """The common implementation: logits for every padded position, pads masked in the loss."""
    mu, logvar = model.encode(ids)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    logits = model.logits(z, inputs).float()
    nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=PAD,
                          reduction="none").sum(1).mean()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
    return nll + kl


def ours_loss(model, ids):
    return model.loss(ids)["loss"]


def train_rate(model, ids, loss_fn, steps: int, batch: int, seed: int) -> float:
    """Target tokens per second over ``steps`` Adam steps."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(seed)
    model.train()
    tokens = 0
    t = time.perf_counter()
    for _ in range(steps):
        b = ids[torch.randint(len(ids), (batch,), generator=g)]
        loss = loss_fn(model, b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        tokens += int((b[:, 1:] != PAD).sum())
    return tokens / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a trained text-vae run (default: train one for an epoch)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=40, help="training steps per timed round")
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    run = a.run
    if run is None:
        run = tempfile.mkdtemp(prefix="latentatlas-bench-") + "/vae"
        data = "wordnet" if not availability("wordnet").startswith("missing") else "grammar"
        fit("text-vae", data, run, epochs=1, max_len=24)
    model = load(run)
    spec = read_config(run)["data"]
    data = load_text_spec(spec)
    texts = data.test[:5]

    knobs = Knobs(5).fit(run_codes(run, "train", model=model).mu)
    batched_s, table = timed(lambda: knob_table(model, knobs, texts, steps=3), repeat=3)
    batched = [t for item in table["items"] for t in item["decodes"]]

    from latentatlas.atlas.knobs import knob_positions

    _, codes = knob_positions(knobs, encode_texts(model, texts), 3)
    codes = codes.reshape(-1, codes.shape[-1])
    t = time.perf_counter()
    single = [decode_texts(model, codes[i:i + 1])[0] for i in range(len(codes))]
    single_s = time.perf_counter() - t
    agree = sum(x == y for x, y in zip(batched, single, strict=True)) / len(single)

    ids = model.vocab.batch(data.train[:20_000], model.config.max_len)
    ours, padded = [], []
    for r in range(a.rounds):  # interleaved, each from the same weights
        for fn, store in ((ours_loss, ours), (padded_loss, padded)):
            m = load(run).requires_grad_(True)  # load() gives a frozen model
            store.append(train_rate(m, ids, fn, a.steps, 128, seed=r))
    softmax: dict[str, list[float]] = {"full": [], "adaptive": []}
    if len(model.vocab) > 1002:  # a vocabulary the adaptive softmax can split
        base = {**model.config.to_dict()}
        for r in range(a.rounds):
            for name, store in softmax.items():
                torch.manual_seed(r)
                m = SentenceVAE(TextModelConfig(**{**base, "softmax": name}))
                store.append(train_rate(m, ids, ours_loss, a.steps, 128, seed=r))
    result = {
        "benchmark": "text_speed", "run": run, "data": spec["name"],
        "threads": a.threads, "torch": torch.__version__,
        "vocabulary": len(model.vocab), "hidden": model.config.hidden,
        "knob_decodes": len(single),
        "knob_batched_seconds": round(batched_s, 4),
        "knob_one_at_a_time_seconds": round(single_s, 3),
        "knob_speedup": round(single_s / batched_s, 1),
        "knob_sentences_identical": round(agree, 4),
        "train_tokens_per_s": round(statistics.median(ours)),
        "train_tokens_per_s_padded_logits": round(statistics.median(padded)),
        "train_speedup_vs_padded_logits": round(statistics.median(
            o / q for o, q in zip(ours, padded, strict=True)), 2),
        "model_softmax": model.config.softmax,
    }
    if softmax["full"]:
        result.update({
            "train_tokens_per_s_full_softmax": round(statistics.median(softmax["full"])),
            "train_tokens_per_s_adaptive_softmax": round(statistics.median(
                softmax["adaptive"])),
            "adaptive_speedup_vs_full_softmax": round(statistics.median(
                x / y for x, y in zip(softmax["adaptive"], softmax["full"], strict=True)), 2),
        })
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
