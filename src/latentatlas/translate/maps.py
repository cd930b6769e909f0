"""Maps T: Z_A -> Z_B between two latent spaces, fitted on codes of the same items.

Same small surface as the concept finders: ``fit(codes_a, codes_b)``, ``transform(z)``, fitted
state ending in ``_``, and ``score(codes_a, codes_b)`` on held-out pairs.
"""

from __future__ import annotations

import torch

from ..errors import OptionError
from ..train.adam import Adam


def _pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if a.ndim != 2 or b.ndim != 2 or len(a) != len(b):
        raise ValueError(f"need paired codes (N, D_A) and (N, D_B), got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if len(a) < 2:
        raise ValueError("need at least 2 pairs")
    return a.double(), b.double()


class _Map:
    method = ""

    def transform(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, float]:
        """R^2 (over all of B's dimensions), mean cosine and MSE of T(a) against b."""
        a, b = _pair(a, b)
        pred = self.transform(a).double()
        sse = ((pred - b) ** 2).sum()
        sst = ((b - b.mean(0)) ** 2).sum().clamp_min(1e-300)
        cos = torch.nn.functional.cosine_similarity(pred, b, dim=1)
        return {"r2": float(1 - sse / sst), "cosine": float(cos.mean()),
                "mse": float(((pred - b) ** 2).mean())}


class LinearMap(_Map):
    """Least squares b ~ a W (``affine=True``: b ~ a W + c); any widths."""

    method = "linear"

    def __init__(self, affine: bool = False):
        self.affine = affine
        if affine:
            self.method = "affine"

    def fit(self, a: torch.Tensor, b: torch.Tensor) -> LinearMap:
        a, b = _pair(a, b)
        if self.affine:
            self.mean_a_, self.mean_b_ = a.mean(0), b.mean(0)
            a, b = a - self.mean_a_, b - self.mean_b_
        else:
            self.mean_a_ = torch.zeros(a.shape[1], dtype=torch.float64)
            self.mean_b_ = torch.zeros(b.shape[1], dtype=torch.float64)
        self.weight_ = torch.linalg.lstsq(a, b).solution  # (D_A, D_B)
        return self

    def transform(self, z: torch.Tensor) -> torch.Tensor:
        return ((z.double() - self.mean_a_) @ self.weight_ + self.mean_b_).float()


class ProcrustesMap(_Map):
    """The best rotation between the standardised spaces (orthogonal Procrustes).

    Both spaces are centred and scaled to unit mean squared norm on the fitting set; the
    narrower one is zero-padded to the wider width; R = U V^T from the SVD of A^T B.
    """

    method = "procrustes"

    def fit(self, a: torch.Tensor, b: torch.Tensor) -> ProcrustesMap:
        a, b = _pair(a, b)
        self.mean_a_, self.mean_b_ = a.mean(0), b.mean(0)
        self.scale_a_ = ((a - self.mean_a_) ** 2).sum(1).mean().sqrt().clamp_min(1e-12)
        self.scale_b_ = ((b - self.mean_b_) ** 2).sum(1).mean().sqrt().clamp_min(1e-12)
        self.width_ = max(a.shape[1], b.shape[1])
        u, _, vt = torch.linalg.svd(self._pad((a - self.mean_a_) / self.scale_a_).T
                                    @ self._pad((b - self.mean_b_) / self.scale_b_))
        self.rotation_ = u @ vt  # (width, width), orthogonal
        self.d_b_ = b.shape[1]
        return self

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(x, (0, self.width_ - x.shape[1]))

    def transform(self, z: torch.Tensor) -> torch.Tensor:
        za = self._pad((z.double() - self.mean_a_) / self.scale_a_)
        return ((za @ self.rotation_)[:, : self.d_b_] * self.scale_b_ + self.mean_b_).float()


class MLPMap(_Map):
    """A small MLP (one hidden layer), Adam, early-stopped on a held-out tenth of the pairs."""

    method = "mlp"

    def __init__(self, hidden: int = 256, epochs: int = 200, lr: float = 1e-3,
                 batch_size: int = 512, patience: int = 10, seed: int = 0):
        self.hidden, self.epochs, self.lr = hidden, epochs, lr
        self.batch_size, self.patience, self.seed = batch_size, patience, seed

    def fit(self, a: torch.Tensor, b: torch.Tensor) -> MLPMap:
        a, b = _pair(a, b)
        a, b = a.float(), b.float()
        gen = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(len(a), generator=gen)
        n_val = max(1, len(a) // 10)
        val, tr = order[:n_val], order[n_val:]
        self.mean_a_, self.std_a_ = a[tr].mean(0), a[tr].std(0).clamp_min(1e-6)
        self.mean_b_, self.std_b_ = b[tr].mean(0), b[tr].std(0).clamp_min(1e-6)
        xa, xb = (a - self.mean_a_) / self.std_a_, (b - self.mean_b_) / self.std_b_
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = torch.nn.Sequential(torch.nn.Linear(a.shape[1], self.hidden), torch.nn.ReLU(),
                                      torch.nn.Linear(self.hidden, b.shape[1]))
        opt = Adam(net.parameters(), lr=self.lr)
        best, best_state, waited, ran = float("inf"), None, 0, 0
        for _ in range(self.epochs):
            ran += 1
            perm = tr[torch.randperm(len(tr), generator=gen)]
            for i in range(0, len(perm), self.batch_size):
                idx = perm[i:i + self.batch_size]
                loss = torch.nn.functional.mse_loss(net(xa[idx]), xb[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                val_loss = float(torch.nn.functional.mse_loss(net(xa[val]), xb[val]))
            if val_loss < best - 1e-6:
                best, waited = val_loss, 0
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        net.load_state_dict(best_state)
        self.net_, self.epochs_run_, self.val_loss_ = net.eval(), ran, best
        return self

    def transform(self, z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = self.net_((z.float() - self.mean_a_) / self.std_a_)
        return out * self.std_b_ + self.mean_b_


METHODS = {"linear": lambda: LinearMap(), "affine": lambda: LinearMap(affine=True),
           "procrustes": ProcrustesMap, "mlp": MLPMap}


def make_map(method: str) -> _Map:
    if method not in METHODS:
        raise OptionError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    return METHODS[method]()


def map_state(t_map: _Map) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A fitted map as tensors and string metadata (for safetensors); ``map_from_state``
    rebuilds it."""
    meta = {"method": t_map.method}
    if isinstance(t_map, MLPMap):
        tensors = {f"net.{k}": v for k, v in t_map.net_.state_dict().items()}
        tensors.update({k: getattr(t_map, k) for k in ("mean_a_", "std_a_", "mean_b_",
                                                        "std_b_")})
        return tensors, meta
    tensors = {k: v for k, v in vars(t_map).items() if isinstance(v, torch.Tensor)}
    meta.update({k: str(v) for k, v in vars(t_map).items()
                 if k.endswith("_") and isinstance(v, int)})
    return tensors, meta


def map_from_state(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> _Map:
    """The fitted map that ``map_state`` wrote."""
    t_map = make_map(meta["method"])
    if isinstance(t_map, MLPMap):
        w0, w2 = tensors["net.0.weight"], tensors["net.2.weight"]  # (H, D_A), (D_B, H)
        net = torch.nn.Sequential(torch.nn.Linear(w0.shape[1], w0.shape[0]), torch.nn.ReLU(),
                                  torch.nn.Linear(w2.shape[1], w2.shape[0]))
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        t_map.net_ = net.eval()
    for k, v in tensors.items():
        if not k.startswith("net."):
            setattr(t_map, k, v)
    for k, v in meta.items():
        if k.endswith("_"):
            setattr(t_map, k, int(v))
    return t_map
