"""``grammar``: synthetic sentences from a small grammar with known factors.

    SENTENCE := SUBJECT VERB "in" PLACE "and" FEEL ADJECTIVE "."

Factors, drawn independently: ``subject`` he / she / they; ``tense`` past / present (sets the
verb form and felt / feel(s)); ``sentiment`` positive / negative (the adjective's);
``place`` one of ten place names; ``energy`` uniform in [0, 1], which shifts the choice of verb
and adjective: a high-energy word is drawn with probability ``energy``, a low-energy one
otherwise. So a model conditioned on energy should favour HIGH_ENERGY words at 1 and
LOW_ENERGY words at 0, and the analysis can be checked against that.

``negation`` (the ``negation`` dataset) says every feeling with a copula, "and was elated", "and
are calm", and negates a share of them, "and was not elated": a negated sentence's
``sentiment`` is the opposite of its adjective's, and "not" is the only word that marks it, so
the label rests on two words, the adjective and "not".
"""

from __future__ import annotations

import re

import numpy as np

SUBJECTS = ["he", "she", "they"]
PLACES = ["paris", "london", "tokyo", "lagos", "lima", "cairo", "delhi", "oslo", "quito", "rome"]
VERBS = {  # base form -> (past, present 3rd person singular); high energy first
    "high": {"ran": ("ran", "runs"), "danced": ("danced", "dances"),
             "shouted": ("shouted", "shouts"), "jumped": ("jumped", "jumps")},
    "low": {"sat": ("sat", "sits"), "slept": ("slept", "sleeps"),
            "whispered": ("whispered", "whispers"), "waited": ("waited", "waits")},
}
PRESENT_PLURAL = {"runs": "run", "dances": "dance", "shouts": "shout", "jumps": "jump",
                  "sits": "sit", "sleeps": "sleep", "whispers": "whisper", "waits": "wait"}
ADJECTIVES = {
    ("positive", "high"): ["thrilled", "elated"], ("positive", "low"): ["calm", "content"],
    ("negative", "high"): ["furious", "frantic"], ("negative", "low"): ["tired", "gloomy"],
}
HIGH_ENERGY = {w for forms in VERBS["high"].values() for w in forms} | {
    w for (s, e), ws in ADJECTIVES.items() if e == "high" for w in ws} | {
    PRESENT_PLURAL[f[1]] for f in VERBS["high"].values()}
LOW_ENERGY = {w for forms in VERBS["low"].values() for w in forms} | {
    w for (s, e), ws in ADJECTIVES.items() if e == "low" for w in ws} | {
    PRESENT_PLURAL[f[1]] for f in VERBS["low"].values()}


COPULA = {"felt": ("was", "were"), "feel": ("are", "are"), "feels": ("is", "is")}
BE = {"was": ("past", False), "were": ("past", True), "is": ("present", False),
      "are": ("present", True)}
OPPOSITE = {"positive": "negative", "negative": "positive"}


def sentence(subject: str, tense: str, sentiment: str, place: str, verb_energy: str,
             adj_energy: str, verb_i: int, adj_i: int, negated: bool | None = None) -> str:
    """One sentence of ``sentiment``. ``negated`` not None: the feeling with a copula ("was",
    "are"), and when True negated, with the opposite adjective ("was not furious" is
    positive)."""
    past, present = list(VERBS[verb_energy].values())[verb_i % 4]
    if tense == "past":
        verb, feel = past, "felt"
    elif subject == "they":
        verb, feel = PRESENT_PLURAL[present], "feel"
    else:
        verb, feel = present, "feels"
    if negated is not None:
        feel = COPULA[feel][subject == "they"] + (" not" if negated else "")
        sentiment = OPPOSITE[sentiment] if negated else sentiment
    adj = ADJECTIVES[(sentiment, adj_energy)][adj_i % 2]
    return f"{subject} {verb} in {place} and {feel} {adj} ."


def parse_weights(text: str) -> dict[str, float]:
    """``he=0.6,she=0.2,they=0.2`` -> subject probabilities (normalised; missing ones are 0)."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in SUBJECTS:
            raise ValueError(f"unknown subject {name!r} (known: {', '.join(SUBJECTS)})")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"subject weight {part!r} is not NAME=NUMBER") from None
        if not weights[name] >= 0:
            raise ValueError(f"subject weight {part!r} is negative")
    total = sum(weights.values())
    if not total > 0:
        raise ValueError("the subject weights sum to zero")
    return {s: weights.get(s, 0.0) / total for s in SUBJECTS}


def generate(n: int, seed: int = 0, subject_weights: dict[str, float] | None = None,
             negation: float = 0.0) -> tuple[list[str], dict[str, list]]:
    """``n`` sentences and their factors (subject, tense, sentiment, place, energy).
    ``subject_weights`` (default uniform) plants a known skew in who the sentences are about;
    ``negation`` > 0 says every feeling with a copula and negates that share of them (factor
    ``negated``; a negated sentence's ``sentiment`` is the opposite of its adjective's). With
    none, the sentences are those of earlier versions, draw for draw."""
    rng = np.random.default_rng([seed, 0x6A])
    who = rng.integers(3, size=n) if subject_weights is None else rng.choice(
        3, size=n, p=[subject_weights.get(s, 0.0) for s in SUBJECTS])
    f = {
        "subject": [SUBJECTS[i] for i in who],
        "tense": [("past", "present")[i] for i in rng.integers(2, size=n)],
        "sentiment": [("positive", "negative")[i] for i in rng.integers(2, size=n)],
        "place": [PLACES[i] for i in rng.integers(len(PLACES), size=n)],
        "energy": rng.random(n).round(4).tolist(),
    }
    verb_high = rng.random(n) < np.array(f["energy"])
    adj_high = rng.random(n) < np.array(f["energy"])
    verb_i, adj_i = rng.integers(4, size=n), rng.integers(2, size=n)
    negated: list[bool | None] = [None] * n
    if negation > 0:
        negated = (rng.random(n) < negation).tolist()
        f["negated"] = negated
    texts = [sentence(f["subject"][k], f["tense"][k], f["sentiment"][k], f["place"][k],
                      "high" if verb_high[k] else "low", "high" if adj_high[k] else "low",
                      int(verb_i[k]), int(adj_i[k]), negated[k]) for k in range(n)]
    return texts, f


_ALL_VERBS = [w for e in VERBS.values() for forms in e.values() for w in forms]
_ACCEPT = re.compile(
    r"^(he|she|they) (" + "|".join(sorted(set(_ALL_VERBS) | set(PRESENT_PLURAL.values())))
    + r") in (" + "|".join(PLACES) + r") and (felt|feel|feels|was|were|are|is)(?: not)? ("
    + "|".join(w for ws in ADJECTIVES.values() for w in ws) + r") \.$")


def accepts(text: str) -> bool:
    """Whether the grammar generates ``text`` (tense and agreement checked)."""
    m = _ACCEPT.match(" ".join(text.lower().split()))
    if not m:
        return False
    subject, verb, _, feel, _ = m.groups()
    plural = subject == "they"
    if feel in BE:  # a copula agrees as the feel form it stands for
        tense, be_plural = BE[feel]
        if be_plural != plural:
            return False
        feel = "felt" if tense == "past" else ("feel" if plural else "feels")
    elif " not " in f" {text.lower()} ":
        return False  # only a copula is negated
    past_verbs = {forms[0] for e in VERBS.values() for forms in e.values()}
    if verb in past_verbs:
        return feel == "felt"
    if feel == "felt":
        return False
    return (verb in PRESENT_PLURAL.values()) == plural and (feel == "feel") == plural


def word_roles() -> dict[str, str]:
    """Each content word's slot in the sentence: subject, verb, place, feel or adjective (the
    words a grammatical substitution may swap for one another; "in", "and", "." have none)."""
    roles = {w: "subject" for w in SUBJECTS} | {w: "place" for w in PLACES}
    roles |= {w: "verb" for w in {*_ALL_VERBS, *PRESENT_PLURAL.values()}}
    roles |= {w: "feel" for w in ("felt", "feel", "feels", *BE)}
    return roles | {w: "adjective" for ws in ADJECTIVES.values() for w in ws}


def truth_words(factor: str) -> set[str]:
    """The words that carry a categorical factor's value in a sentence: change one and the
    truth may change (sentiment: the adjective and a negation's "not"; subject: the subject
    and the present-tense verb and feel that agree with it; tense: every verb and feel;
    place: the place)."""
    verbs = {*_ALL_VERBS, *PRESENT_PLURAL.values()}
    feel = {"felt", "feel", "feels"}
    words = {"sentiment": {w for ws in ADJECTIVES.values() for w in ws} | {"not"},
             "subject": set(SUBJECTS) | (verbs - {f[0] for e in VERBS.values()
                                                   for f in e.values()}) | {"feel", "feels"}
             | set(BE),
             "tense": verbs | feel | set(BE), "place": set(PLACES)}
    if factor not in words:
        raise ValueError(f"grammar has no categorical factor {factor!r}")
    return words[factor]


# ---- clauses: a harder grammar, number agreement across a relative clause ----------------
#
#     SENTENCE := NP VP ["and" VERB ADVERB] "."     NP := DET NOUN ["that" TVERB DET NOUN]
#     VP := VERB "in" PLACE
#
# Every main verb agrees in number with the head noun, not with the nearer noun of the relative
# clause (an "attractor", the classic trap for sequence models; Linzen et al. 2016), and each
# determiner agrees with its noun ("a" singular, "some" plural, "the" either).

NOUNS = ["dog", "cat", "girl", "boy", "teacher", "farmer", "bird", "horse"]
TVERBS = ["chased", "saw", "liked", "helped", "followed"]
IVERBS = {"runs": "run", "sleeps": "sleep", "sings": "sing", "waits": "wait",
          "dances": "dance", "jumps": "jump"}
ADVERBS = ["quickly", "slowly", "loudly", "quietly"]
DETERMINERS = {"singular": ["the", "a"], "plural": ["the", "some"]}


def _noun_phrase(rng, number: str) -> str:
    det = DETERMINERS[number][rng.integers(2)]
    noun = NOUNS[rng.integers(len(NOUNS))]
    return f"{det} {noun}{'s' if number == 'plural' else ''}"


def _verb(rng, number: str) -> str:
    singular = list(IVERBS)[rng.integers(len(IVERBS))]
    return singular if number == "singular" else IVERBS[singular]


def generate_clauses(n: int, seed: int = 0) -> tuple[list[str], dict[str, list]]:
    """``n`` sentences of the clauses grammar and their factors: ``number`` of the head noun,
    ``relative`` (whether a relative clause follows it), ``attractor`` (its noun's number, or
    "none"), ``second_verb`` (whether a second verb phrase follows)."""
    rng = np.random.default_rng([seed, 0xC1])
    texts: list[str] = []
    factors: dict[str, list] = {"number": [], "relative": [], "attractor": [],
                                "second_verb": []}
    for _ in range(n):
        number = ("singular", "plural")[rng.integers(2)]
        words = [_noun_phrase(rng, number)]
        relative = bool(rng.integers(2))
        attractor = "none"
        if relative:
            attractor = ("singular", "plural")[rng.integers(2)]
            words += ["that", TVERBS[rng.integers(len(TVERBS))], _noun_phrase(rng, attractor)]
        words += [_verb(rng, number), "in", PLACES[rng.integers(len(PLACES))]]
        second = bool(rng.integers(2))
        if second:
            words += ["and", _verb(rng, number), ADVERBS[rng.integers(len(ADVERBS))]]
        texts.append(" ".join(words + ["."]))
        for key, value in (("number", number), ("relative", relative),
                           ("attractor", attractor), ("second_verb", second)):
            factors[key].append(value)
    return texts, factors


_NP = r"(the|a|some) (" + "|".join(NOUNS) + r")(s?)"
_IV = "|".join([*IVERBS, *IVERBS.values()])
_ACCEPT_CLAUSES = re.compile(
    rf"^{_NP}(?: that (?:{'|'.join(TVERBS)}) {_NP})? ({_IV}) in (?:{'|'.join(PLACES)})"
    rf"(?: and ({_IV}) (?:{'|'.join(ADVERBS)}))? \.$")


def accepts_clauses(text: str) -> bool:
    """Whether the clauses grammar generates ``text`` (every agreement checked)."""
    m = _ACCEPT_CLAUSES.match(" ".join(text.lower().split()))
    if not m:
        return False
    det, _, plural, det2, noun2, plural2, verb, verb2 = m.groups()

    def det_agrees(d: str, is_plural: bool) -> bool:
        return d in DETERMINERS["plural" if is_plural else "singular"]

    head_plural = plural == "s"
    if not det_agrees(det, head_plural):
        return False
    if noun2 is not None and not det_agrees(det2, plural2 == "s"):
        return False
    return all(v is None or (v in IVERBS.values()) == head_plural for v in (verb, verb2))
