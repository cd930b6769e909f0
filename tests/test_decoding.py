import pytest
import torch

from latentatlas.models.decoding import BOS, EOS, PAD, generate
from latentatlas.models.lm import LanguageModel, LMConfig
from latentatlas.models.text import SentenceVAE, TextModelConfig


def small_vae(cell="gru", z_every_step=False, seed=0):
    torch.manual_seed(seed)
    return SentenceVAE(TextModelConfig(vocab_size=40, hidden=32, embed_dim=16, latent_dim=4,
                                       cell=cell, z_every_step=z_every_step, max_len=10)).eval()


def score(model, z, out):
    """Teacher-forced log-probability of each decoded row, up to and including </s>."""
    inputs = torch.cat([torch.full((len(out), 1), BOS), out[:, :-1]], 1)
    logits = model.logits(z, inputs)
    logits[..., PAD] = logits[..., BOS] = float("-inf")  # never a next token
    tok = torch.log_softmax(logits, -1).gather(2, out[..., None])[..., 0]
    return torch.where(out != PAD, tok, 0.0).sum(1)


@pytest.mark.parametrize("cell,z_every_step", [("gru", False), ("lstm", False), ("gru", True)])
def test_greedy_is_the_argmax_path_and_batching_does_not_change_it(cell, z_every_step):
    model = small_vae(cell, z_every_step)
    z = torch.randn(12, 4) * 2
    out = model.decode(z)
    inputs = torch.cat([torch.full((12, 1), BOS), out[:, :-1]], 1)
    logits = model.logits(z, inputs)
    logits[..., PAD] = logits[..., BOS] = float("-inf")
    best = logits.argmax(-1)
    for i in range(12):  # every emitted token is the argmax given the tokens before it
        n = int((out[i] != PAD).sum())
        assert torch.equal(out[i, :n], best[i, :n])
        assert bool((out[i, n:] == PAD).all())
        if n < out.shape[1]:
            assert int(out[i, n - 1]) == EOS
    # finished rows leave the batch as they finish: one at a time gives the same sentences
    single = torch.cat([model.decode(z[i:i + 1]) for i in range(12)])
    assert torch.equal(out, single)


def test_beam_search_finds_at_least_the_greedy_log_probability():
    model = small_vae()
    z = torch.randn(16, 4) * 2
    greedy = model.decode(z)
    beam1 = model.decode(z, method="beam", beam=1)
    assert torch.equal(beam1, greedy)
    from latentatlas.models.decoding import generate as gen

    beam = gen(model.decode_step, model.decode_start(z), 11, method="beam", beam=5,
               length_penalty=0.0)
    s_beam, s_greedy = score(model, z, beam), score(model, z, greedy)
    assert bool((s_beam >= s_greedy - 1e-4).all())
    assert bool((s_beam > s_greedy + 1e-4).any())  # and a better one somewhere


def test_sampling_follows_the_seed_and_the_temperature():
    model = small_vae()
    z = torch.zeros(200, 4)
    a = model.decode(z, method="sample", generator=torch.Generator().manual_seed(1))
    b = model.decode(z, method="sample", generator=torch.Generator().manual_seed(1))
    c = model.decode(z, method="sample", generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    cold = model.decode(z, method="sample", temperature=1e-5,
                        generator=torch.Generator().manual_seed(3))
    assert torch.equal(cold, model.decode(z))  # a near-zero temperature is greedy
    hot = model.decode(z, method="sample", temperature=5.0,
                       generator=torch.Generator().manual_seed(3))
    assert len({tuple(r) for r in hot.tolist()}) > len({tuple(r) for r in a.tolist()}) / 2
    with pytest.raises(ValueError, match="temperature"):
        model.decode(z, method="sample", temperature=0.0)
    with pytest.raises(ValueError, match="method"):
        generate(model.decode_step, model.decode_start(z), 5, method="nucleus")


def test_text_autoencoder_has_no_kl_and_no_logvar():
    torch.manual_seed(0)
    model = SentenceVAE(TextModelConfig(vocab_size=30, hidden=16, embed_dim=8, latent_dim=3,
                                        variational=False, free_bits=1.0))
    ids = torch.tensor([[BOS, 5, 6, EOS, PAD], [BOS, 7, EOS, PAD, PAD]])
    mu, logvar = model.encode(ids)
    assert logvar is None and not model.is_variational
    terms = model.loss(ids)
    assert float(terms["kl"]) == 0.0 and torch.allclose(terms["loss"], terms["recon"])


def test_language_model_conditions_every_step_on_its_context():
    torch.manual_seed(0)
    lm = LanguageModel(LMConfig(vocab_size=30, hidden=16, embed_dim=8, condition="scalar",
                                condition_name="energy", context_range=[0.0, 1.0]))
    ids = torch.tensor([[BOS, 5, 6, EOS], [BOS, 7, EOS, PAD]])
    l0 = lm.loss(ids, torch.tensor([0.0, 0.0]))["loss"]
    l1 = lm.loss(ids, torch.tensor([1.0, 1.0]))["loss"]
    assert not torch.allclose(l0, l1)
    with pytest.raises(ValueError, match="energy"):
        lm.loss(ids)
    # the padded tail and a trimmed batch give the same loss (pads are never scored)
    wide = torch.cat([ids, torch.zeros(2, 4, dtype=torch.int64)], 1)
    assert torch.allclose(lm.loss(wide, torch.tensor([0.0, 0.0]))["loss"], l0)
    out = lm.generate(6, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]), method="greedy")
    assert torch.equal(out[0], out[1]) and out.shape[0] == 6
    cat = LanguageModel(LMConfig(vocab_size=30, hidden=16, embed_dim=8, condition="category",
                                 condition_name="category", categories=["a", "b", "c"]))
    assert cat.loss(ids, torch.tensor([0, 2]))["loss"].requires_grad
    with pytest.raises(ValueError, match="2 categories"):
        LMConfig(vocab_size=30, condition="category", categories=["a"]).validate()
