"""Word-substitution attacks on a grammar sentiment classifier, where the truth is known: the
adjective carries the sentiment, so an attack that keeps the adjective and the grammar keeps
the truth, and a flipped prediction is the model's error."""

import json

import pytest
import torch

import latentatlas
from latentatlas.data import grammar
from latentatlas.explain.substitution import attack_texts, substitution_groups
from latentatlas.explain.workflow import attack_run

from .conftest import assert_one_error, cli

ADJECTIVES = {w for ws in grammar.ADJECTIVES.values() for w in ws}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    run = tmp_path_factory.mktemp("words") / "clf"
    p = cli("train", "--model", "text-classifier", "--data", "grammar", "--label", "sentiment",
            "--n-train", "2000", "--n-test", "400", "--hidden", "16", "--embed-dim", "16",
            "--epochs", "2", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    return run


def test_groups_follow_roles_and_freeze_the_truth():
    itos = ["<pad>", "<unk>", "<s>", "</s>", "she", "he", "paris", "lima", "calm", "in"]
    roles = {"she": "subject", "he": "subject", "paris": "place", "lima": "place",
             "calm": "adjective"}
    g = substitution_groups(itos, roles, frozen={"calm"}).tolist()
    assert g[:4] == [-1] * 4 and g[8] == -1 and g[9] == -1  # specials, frozen, no role
    assert g[4] == g[5] != g[6] == g[7] >= 0
    assert substitution_groups(itos, None, {"calm"}).tolist() == [-1] * 4 + [0] * 4 + [-1, 0]


def test_hotflip_keeps_the_truth_and_the_grammar_and_beats_random(classifier):
    model = latentatlas.load(classifier)
    hot = attack_run(classifier, "hotflip", eps=0.5, n=200)
    rnd = attack_run(classifier, "random", eps=0.5, n=200)
    assert hot["swaps"] == "same-role" and set(hot["frozen_words"]) == ADJECTIVES | {"not"}
    assert hot["attacked"] > 120
    for r in (hot, rnd):
        rows = zip(r["texts"], r["adversarial_texts"], r["labels"], r["classes_before"],
                   r["classes_after"], r["success"].tolist(), strict=True)
        for text, adv, label, before, after, ok in rows:
            assert grammar.accepts(adv)  # still a sentence of the grammar ...
            assert text.split()[-2] == adv.split()[-2]  # ... with the same adjective: same truth
            changed = sum(a != b for a, b in zip(text.split(), adv.split(), strict=True))
            assert changed <= 4  # ceil(0.5 * 8 words)
            # the model, reading the adversarial text afresh, predicts what the attack says
            ids = torch.tensor([model.vocab.encode(adv, model.config.max_len)])
            assert model.config.classes[int(model.logits(ids).argmax())] == after
            assert ok == (before == label != after)  # untargeted: right before, wrong after
    assert hot["success_rate"] > rnd["success_rate"] + 0.05, (hot["success_rate"],
                                                              rnd["success_rate"])
    assert hot["success_rate"] == pytest.approx(int(hot["success"].sum()) / hot["attacked"],
                                                abs=1e-4)


def test_a_bigger_budget_flips_more_and_any_swaps_flip_more_than_same_role(classifier):
    rate = {eps: attack_run(classifier, "hotflip", eps=eps, n=200)["success_rate"]
            for eps in (0.125, 0.5)}
    assert rate[0.125] <= rate[0.5]
    free = attack_run(classifier, "hotflip", eps=0.5, n=200, swaps="any")
    assert free["success_rate"] >= rate[0.5]
    assert not set(w for pairs in free["swapped"] for _, w in pairs) & ADJECTIVES


def test_targeted_word_attack_reaches_the_target_only(classifier):
    r = attack_run(classifier, "hotflip", eps=1.0, n=100, target="positive")
    labels = r["labels"]
    assert r["attacked"] == sum(label != "positive" for label in labels)
    for i, ok in enumerate(r["success"].tolist()):
        if ok:
            assert r["classes_after"][i] == "positive" and labels[i] == "negative"


def test_attack_texts_by_hand_on_a_tiny_model():
    """A bag-of-embeddings model whose word 5 pushes class 1: hotflip finds it in one swap."""

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(8, 2)
            with torch.no_grad():
                self.embed.weight.zero_()
                self.embed.weight[4] = torch.tensor([1.0, 0.0])
                self.embed.weight[5] = torch.tensor([0.0, 3.0])
                self.embed.weight[6] = torch.tensor([0.5, 0.0])
            self.config = type("C", (), {"classes": ["a", "b"]})()

        def logits_from_embeddings(self, emb, mask):
            return (emb * mask[..., None]).sum(1), None

        def logits(self, ids):
            return self.logits_from_embeddings(self.embed(ids), ids != 0)[0]

    ids = torch.tensor([[2, 4, 4, 6, 3]])  # <s> w4 w4 w6 </s>: class a
    groups = torch.tensor([-1, -1, -1, -1, 0, 0, 0, 0])
    r = attack_texts(Tiny(), ids, torch.tensor([0]), "hotflip", eps=0.33, groups=groups)
    assert r["success_rate"] == 1.0 and r["words_changed_mean"] == 1.0
    assert r["adversarial"][0].tolist().count(5) == 1
    one = attack_texts(Tiny(), ids, torch.tensor([0]), "hotflip", eps=0.33,
                       groups=torch.tensor([-1, -1, -1, -1, 0, 1, 0, 0]))  # 5 not allowed
    assert one["success_rate"] == 0.0


def test_text_attack_from_the_cli(classifier, tmp_path):
    out = tmp_path / "adv.tsv"
    p = cli("attack", str(classifier), "-n", "50", "--eps", "0.5", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["method"] == "hotflip" and r["swaps"] == "same-role" and r["n"] == 50
    rows = out.read_text().splitlines()
    assert rows[0].split("\t") == ["label", "before", "after", "success", "text", "adversarial"]
    assert len(rows) == 51
    assert sum(row.split("\t")[3] == "true" for row in rows[1:]) == len(r["examples"])
    human = cli("attack", str(classifier), "-n", "20", "--eps", "0.5")
    assert human.returncode == 0 and "hotflip eps 0.5 untargeted on 20 test texts" in human.stdout
    assert_one_error(cli("attack", str(classifier), "--method", "pgd"), "hotflip")
    assert_one_error(cli("attack", str(classifier), "--noise", "--target", "positive"), "noise")
    assert_one_error(cli("attack", str(classifier), "--steps", "5"), "steps")
    assert_one_error(cli("attack", str(classifier), "--eps", "0"), "eps")
    assert_one_error(cli("attack", str(classifier), "--out", str(tmp_path / "a.png")), ".tsv")
    assert not (tmp_path / "a.png").exists()
