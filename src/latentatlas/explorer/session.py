"""What the explorer serves, as plain Python: the open runs, each with its test codes, knobs, a
2-D map, concepts, and decoding of codes into PNG images or sentences.

The FastAPI app (``explorer.app``) and the static export (``explorer.export``) both call this;
so can a notebook: ``Explorer(["runs/a"]).runs["a"].decode_png(z)``.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..atlas import Knobs, interpolate, run_codes, unit_stats
from ..atlas.codes import split_items
from ..atlas.maps import linear_map_2d
from ..concepts import LinearProbe, MeanDifference
from ..concepts.store import check_name, load_concepts, save_concept
from ..errors import UserError
from ..fileio import check_output, note_once
from ..models.rundir import load, load_run_data, run_kind

MAX_BATCH = 4096
MAX_VALUE = 1e4  # |z| beyond this is refused: decodes of such codes overflow to inf/NaN
MAP_POINTS = 2000  # test items shown on the map
BEST_POOL, BEST_SHOWN, BEST_MIN_WORDS = 2000, 40, 4  # text runs' well-reconstructed sentences


def png_bytes(image: torch.Tensor) -> bytes:
    """One (C, H, W) image in [0, 1] -> PNG bytes (grayscale or RGB)."""
    a = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    arr = a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


@dataclass
class RunView:
    """One open run: its model and what the page needs to show it."""

    id: str
    path: Path
    kind: str  # "image" or "text"
    model: torch.nn.Module
    codes: torch.Tensor  # (N, D) test posterior means
    labels: list[int] | None
    classes: list[str] | None
    items: object  # test images (N, C, H, W) or test texts
    knobs: Knobs
    unit_order: list[int]
    unit_sd: torch.Tensor  # (D,) sd of each coordinate over the training codes
    map_xy: np.ndarray  # (M, 2) for the first M test items
    map_method: str
    map_projection: tuple[torch.Tensor, torch.Tensor] | None = None  # mean (D,), axes (2, D)
    writable: bool = True  # False: a read-only run folder (concepts cannot be saved)
    # text runs: the test sentences reconstructed best, [{"index", "text", "exact"}], best first
    best: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def latent_dim(self) -> int:
        return int(self.codes.shape[1])

    def check_z(self, z: list[list[float]] | torch.Tensor) -> torch.Tensor:
        """A batch of codes from a client -> (B, D) float tensor, or a UserError."""
        if isinstance(z, list) and z and isinstance(z[0], list) and len({len(r) for r in z}) > 1:
            raise UserError(f"every code must have {self.latent_dim} numbers; the rows have "
                            f"{sorted({len(r) for r in z})[:5]}")
        t = torch.as_tensor(z, dtype=torch.float32)
        if t.ndim == 1:
            t = t[None]
        if t.ndim != 2 or t.shape[1] != self.latent_dim:
            raise UserError(f"a latent of this run has {self.latent_dim} numbers, got shape "
                            f"{list(t.shape)}")
        if len(t) > MAX_BATCH:
            raise UserError(f"at most {MAX_BATCH} codes per request, got {len(t)}")
        if not bool(torch.isfinite(t).all()):
            raise UserError("the latent holds NaN or infinite values")
        if float(t.abs().max()) > MAX_VALUE:
            raise UserError(f"the latent holds values beyond +-{MAX_VALUE:g}; codes live within "
                            "a few units of 0")
        return t

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> list[bytes] | list[str]:
        """Codes (B, D) -> PNG bytes per image, or one sentence per code (greedy)."""
        with self.lock:  # one decode at a time per model: torch threads stay bounded
            if self.kind == "text":
                from ..atlas.sentences import decode_texts

                return decode_texts(self.model, z)
            images = self.model.decode(z)
        return [png_bytes(im) for im in images]

    def item(self, index: int) -> bytes | str:
        """A test item as PNG bytes or text."""
        self.check_index(index)
        if self.kind == "text":
            return self.items[index]
        return png_bytes(self.items[index])

    def check_index(self, index: int) -> int:
        if not 0 <= index < len(self.codes):
            raise UserError(f"item {index} is out of range: the test split has "
                            f"{len(self.codes)} items")
        return index

    def interpolate(self, a: int, b: int, steps: int, method: str) -> torch.Tensor:
        if not 2 <= steps <= 64:
            raise UserError(f"steps must be between 2 and 64, got {steps}")
        return interpolate(self.codes[self.check_index(a)], self.codes[self.check_index(b)],
                           steps, method)

    def describe(self) -> dict:
        """The run as the page sees it: knobs, raw-dimension ranges, classes."""
        k = self.knobs
        return {"id": self.id, "name": self.path.name, "kind": self.kind,
                "latent_dim": self.latent_dim, "n_items": len(self.codes),
                "classes": self.classes,
                "knobs": {"components": k.components_.tolist(), "mean": k.mean_.tolist(),
                          "scale": k.scale_.tolist(),
                          # codes that do not vary at all give 0/0 ratios: JSON has no NaN
                          "explained": k.explained_variance_ratio_.nan_to_num(0.0).tolist()},
                "units": {"order": self.unit_order,
                          "sd": self.unit_sd.nan_to_num(0.0).tolist()},
                "best": self.best}

    def map_points(self) -> dict:
        """The map's points ([x, y, label, item]) and the linear projection that places any
        code on it (``xy = (z - mean) @ axes.T``), so the page can show where z is."""
        labels = self.labels or [-1] * len(self.map_xy)
        out = {"method": self.map_method, "classes": self.classes,
               "points": [[round(float(x), 4), round(float(y), 4), int(labels[i]), i]
                          for i, (x, y) in enumerate(self.map_xy)]}
        if self.map_projection is not None:
            mean, axes = self.map_projection
            out["projection"] = {"mean": mean.tolist(), "axes": axes.tolist()}
        return out

    def project(self, z: torch.Tensor) -> list[list[float]]:
        """(B, D) codes -> their [x, y] on the map."""
        mean, axes = self.map_projection
        xy = (z.double() - mean) @ axes.T
        return [[round(float(x), 4), round(float(y), 4)] for x, y in xy]

    def concepts(self) -> list[dict]:
        out = []
        for c in load_concepts(self.path).values():
            if len(c.vector) != self.latent_dim:
                continue
            leaks = {k[8:]: v for k, v in c.scores.items() if k.startswith("leakage_")}
            worst = max(leaks, key=lambda k: abs(leaks[k])) if leaks else None
            out.append({"name": c.name, "method": c.method, "vector": c.vector.tolist(),
                        "leakage": leaks[worst] if worst else None, "leaks_into": worst,
                        "scores": c.scores})
        return out

    def create_concept(self, name: str, positive: list[int], negative: list[int],
                       method: str = "groups") -> dict:
        """A concept from two groups of map points (test items), saved to the run."""
        check_name(name)
        if not self.writable:
            raise UserError(f"{self.path} is read-only: a concept cannot be saved to it")
        pos = self.codes[[self.check_index(i) for i in positive]]
        neg = self.codes[[self.check_index(i) for i in negative]]
        finder = MeanDifference() if method == "groups" else LinearProbe()
        finder.fit(pos, neg)
        concept = finder.to_concept(name, source="explorer selection",
                                    positive=len(positive), negative=len(negative))
        save_concept(self.path, concept)
        return {"name": concept.name, "method": concept.method,
                "vector": concept.vector.tolist(), "leakage": None, "leaks_into": None,
                "scores": concept.scores}


def open_run(run_dir: str | Path, run_id: str, data_dir: str | Path | None = None) -> RunView:
    """Load a run and everything the explorer shows about it (codes are cached in the run)."""
    path = Path(run_dir)
    kind = run_kind(path)
    if not kind.latent:
        raise UserError(f"{path} holds {kind.named}, which has no latent space to explore")
    text = kind.text
    try:
        check_output(path, folder=True)
        writable = True
    except UserError:
        writable = False
        note_once(f"{path} is read-only: its codes are not cached and concepts made in the "
                  "page cannot be saved")
    model = load(path)
    data = load_run_data(path, data_dir)
    codes = run_codes(path, "test", model=model, data=data)
    train = run_codes(path, "train", model=model, data=data)
    items, _ = split_items(data, "test")
    if len(train.mu) < 2 or len(codes.mu) < 1:
        raise UserError(f"{path} was trained on {len(train.mu)} items and tested on "
                        f"{len(codes.mu)}: the explorer needs at least 2 training items and 1 "
                        "test item (train with a larger --n-train / --n-test)")
    # knobs and unit ranges come from the training codes (the test split may hold one item);
    # n items span at most n - 1 directions around their mean
    knobs = Knobs(min(5, train.mu.shape[1], len(train.mu) - 1)).fit(train.mu)
    stats = unit_stats(train.mu, train.logvar)
    m = min(MAP_POINTS, len(codes.mu))
    map_mean, map_axes, method = linear_map_2d(codes.mu[:m])
    xy = ((codes.mu[:m].double() - map_mean) @ map_axes.T).numpy()
    labels = codes.labels.tolist() if codes.labels is not None else None
    best = _well_reconstructed(model, items) if text else []
    return RunView(id=run_id, path=path, kind="text" if text else "image", model=model,
                   codes=codes.mu, labels=labels, classes=data.classes, items=items,
                   knobs=knobs, unit_order=[int(u) for u in stats.order()],
                   unit_sd=train.mu.std(0), map_xy=xy, map_method=method,
                   map_projection=(map_mean, map_axes), writable=writable, best=best)


def _well_reconstructed(model, texts: list[str]) -> list[dict]:
    """The test sentences (of the first BEST_POOL) the model reconstructs best, as the first
    source's demo offers them: exact first, then by NLL; sentences of BEST_MIN_WORDS words or
    more when there are any."""
    from ..atlas.fidelity import best_reconstructed, sentence_scores

    pool = list(texts[:BEST_POOL])
    scores = sentence_scores(model, pool)
    rows = (best_reconstructed(scores, pool, BEST_SHOWN, BEST_MIN_WORDS)
            or best_reconstructed(scores, pool, BEST_SHOWN))
    return [{"index": r["index"], "text": r["input"], "exact": r["exact"]} for r in rows]


class Explorer:
    """The runs one explorer serves, by id (the run folder's name, made unique)."""

    def __init__(self, run_dirs: list[str | Path], data_dir: str | Path | None = None):
        if not run_dirs:
            raise UserError("give at least one run")
        self.runs: dict[str, RunView] = {}
        for d in run_dirs:
            base = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in Path(d).name)
            rid, n = base or "run", 2
            while rid in self.runs:
                rid, n = f"{base}-{n}", n + 1
            self.runs[rid] = open_run(d, rid, data_dir)
        self._maps: dict[tuple[str, str], object] = {}

    def get(self, run_id: str) -> RunView:
        if run_id not in self.runs:
            raise KeyError(run_id)
        return self.runs[run_id]

    def translation(self, a: str, b: str):
        """The affine map from run a's codes to run b's that ``translate`` saved, or one fitted
        once on their paired training codes (the runs must share a dataset)."""
        if (a, b) not in self._maps:
            from ..translate.workflow import translation_map

            self._maps[(a, b)] = translation_map(self.get(a).path, self.get(b).path, "affine")
        return self._maps[(a, b)]
