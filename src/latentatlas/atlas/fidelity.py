"""How much of each sentence a sentence model's code carries.

Each sentence is encoded to its posterior mean, decoded greedily, and compared with itself
(after the model's tokenizer and length cut, rare words being <unk> on both sides):

- ``exact``: the decode is the sentence, word for word, ending where it ends;
- ``token_accuracy``: the share of the sentence's words and its end that the decode has in the
  same place (a decode that drifts after a wrong word loses the rest);
- ``recon``: -log p(x | z = mean), nats per sentence (teacher-forced, the number a rate-
  distortion table reads), and ``kl``: KL(q(z|x) || N(0, I)), nats (0 for an autoencoder);
- ``in_vocab``: whether every word is in the vocabulary (an <unk> reconstructed as <unk> counts
  as right, so the share over in-vocabulary sentences is the stricter figure).

``summarise`` turns the rows into shares with 95% intervals, corpus BLEU and active units;
``by_length`` does it per length bucket (source document 001: reconstructions break down past
one sentence); ``best_reconstructed`` ranks sentences exact first, then by NLL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import torch

from ..models.decoding import EOS, PAD, UNK
from ..stats import mean_ci, wilson
from .sentences import token_ids
from .units import unit_stats

LENGTH_BUCKETS = ((1, 4), (5, 8), (9, 12), (13, 16), (17, 24), (25, 48), (49, 10**6))


@torch.no_grad()
def sentence_scores(model, texts: Sequence[str], batch_size: int = 256) -> dict:
    """Per sentence (lists of len(texts)): ``length`` (words after the cut), ``in_vocab``,
    ``exact``, ``token_accuracy``, ``recon`` and ``kl`` (nats), the ``decoded`` text, the
    ``hyp`` and ``ref`` word ids; and ``mu``, the (N, D) posterior means."""
    out: dict = {k: [] for k in ("length", "in_vocab", "exact", "token_accuracy", "recon",
                                 "kl", "decoded", "hyp", "ref")}
    mus = []
    for i in range(0, len(texts), batch_size):
        ids = token_ids(model, list(texts[i:i + batch_size]), given=False)
        mu, logvar = model.encode(ids)
        inputs, targets = ids[:, :-1], ids[:, 1:]
        mask = targets != PAD
        token_nll = model.out.token_nll(model.states(mu, inputs)[mask], targets[mask])
        rows = mask.nonzero()[:, 0]
        recon = torch.zeros(len(ids)).index_add_(0, rows, token_nll.float())
        kl = (torch.zeros(len(ids)) if logvar is None else
              0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1))
        decoded = model.decode(mu)
        for b in range(len(ids)):
            target = targets[b][mask[b]].tolist()  # the words, then </s>
            n = len(target)
            guess = decoded[b].tolist()[:n]
            guess += [PAD] * (n - len(guess))
            right = sum(g == t for g, t in zip(guess, target, strict=True))
            words = target[:-1]
            hyp = _words(decoded[b].tolist())
            out["length"].append(n - 1)
            out["in_vocab"].append(UNK not in words)
            out["exact"].append(right == n)
            out["token_accuracy"].append(right / n)
            out["recon"].append(float(recon[b]))
            out["kl"].append(float(kl[b]))
            out["decoded"].append(model.vocab.decode(hyp))
            out["hyp"].append(hyp)
            out["ref"].append(words)
        mus.append(mu)
    out["mu"] = torch.cat(mus) if mus else torch.zeros(0, model.latent_dim)
    return out


def _words(ids: list[int]) -> list[int]:
    return ids[:ids.index(EOS)] if EOS in ids else [i for i in ids if i != PAD]


def corpus_bleu(hyps: Sequence[Sequence[int]], refs: Sequence[Sequence[int]],
                max_n: int = 4) -> float:
    """Corpus BLEU (Papineni et al. 2002) of token sequences against one reference each, in
    [0, 1]: the geometric mean of clipped 1..max_n-gram precisions times the brevity penalty.
    0 when some order has no match at all."""
    matched, total = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for h, r in zip(hyps, refs, strict=True):
        hyp_len, ref_len = hyp_len + len(h), ref_len + len(r)
        for n in range(1, max_n + 1):
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            matched[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            total[n - 1] += max(0, len(h) - n + 1)
    if hyp_len == 0 or min(matched) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matched, total, strict=True)) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return brevity * math.exp(log_p)


def _share(flags: list[bool]) -> dict:
    k, n = sum(flags), len(flags)
    lo, hi = wilson(k, n)
    return {"share": round(k / n, 4) if n else None, "ci95": [round(lo, 4), round(hi, 4)],
            "n": n}


def _mean(values: list[float]) -> dict:
    if not values:  # no such sentences (JSON has no NaN)
        return {"mean": None, "ci95": [None, None]}
    m, (lo, hi) = mean_ci(values)
    return {"mean": round(m, 4), "ci95": [round(lo, 4), round(hi, 4)]}


def summarise(scores: dict) -> dict:
    """The rows' summary: exact-match share and token accuracy over all sentences and over the
    in-vocabulary ones (95% intervals), mean recon, KL and -ELBO (nats per sentence), corpus
    BLEU of the decodes, and active units (``atlas.units``)."""
    iv = [i for i, ok in enumerate(scores["in_vocab"]) if ok]

    def pick(key: str) -> list:
        return [scores[key][i] for i in iv]

    recon, kl = scores["recon"], scores["kl"]
    mus = scores["mu"]
    return {
        "sentences": len(recon), "in_vocab_sentences": len(iv),
        "exact": _share(scores["exact"]), "exact_in_vocab": _share(pick("exact")),
        "token_accuracy": _mean(scores["token_accuracy"]),
        "token_accuracy_in_vocab": _mean(pick("token_accuracy")),
        "recon": round(sum(recon) / len(recon), 4), "kl": round(sum(kl) / len(kl), 4),
        "neg_elbo": round((sum(recon) + sum(kl)) / len(recon), 4),
        "bleu": round(corpus_bleu(scores["hyp"], scores["ref"]), 4),
        "active_units": unit_stats(mus).n_active if len(mus) > 1 else 0,
        "words_per_sentence": round(sum(scores["length"]) / len(recon), 2),
    }


def by_length(scores: dict, buckets=LENGTH_BUCKETS) -> list[dict]:
    """Exact-match share and token accuracy (95% intervals) per sentence-length bucket (words
    after the model's cut), empty buckets left out."""
    rows = []
    for lo, hi in buckets:
        idx = [i for i, n in enumerate(scores["length"]) if lo <= n <= hi]
        if not idx:
            continue
        rows.append({"words": f"{lo}-{hi}" if hi < 10**6 else f"{lo}+", "n": len(idx),
                     "exact": _share([scores["exact"][i] for i in idx]),
                     "token_accuracy": _mean([scores["token_accuracy"][i] for i in idx]),
                     "recon": round(sum(scores["recon"][i] for i in idx) / len(idx), 4)})
    return rows


def best_reconstructed(scores: dict, texts: Sequence[str], n: int,
                       min_words: int = 1) -> list[dict]:
    """The ``n`` texts reconstructed best: exact matches first, then lower NLL (nats per
    sentence); texts of fewer than ``min_words`` words are passed over. Rows: index (into
    ``texts``), input, mean (the decode), exact, token_accuracy, recon."""
    order = sorted((i for i, w in enumerate(scores["length"]) if w >= min_words),
                   key=lambda i: (not scores["exact"][i], scores["recon"][i], i))
    return [{"index": i, "input": texts[i], "mean": scores["decoded"][i],
             "exact": scores["exact"][i],
             "token_accuracy": round(scores["token_accuracy"][i], 4),
             "recon": round(scores["recon"][i], 4)} for i in order[:n]]
