"""A bias audit: whose texts make up the data, and how often groups of terms (gendered
pronouns, place names by region, a user's own groups) occur in the data and in generated text.

Per family of groups (e.g. pronouns: male, female, neutral) and per source (data, generated):
each group's count, its rate per 1,000 tokens, its share of the family's mentions with a 95%
Wilson interval, and the ratio of every pair of groups with a 95% interval (normal on the log
ratio of two counts). Generated shares are compared with the data's (difference of two
proportions, 95% interval), so "his outnumbers her" can be measured against where it came from.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from itertools import combinations
from pathlib import Path

from ..data.vocab import tokenize
from ..errors import UserError
from ..stats import Z95, wilson

DEFAULT_TERMS: dict[str, dict[str, list[str]]] = {
    "pronouns": {
        "male": ["he", "him", "his", "himself"],
        "female": ["she", "her", "hers", "herself"],
        "neutral": ["they", "them", "their", "theirs", "themselves"],
    },
    "places": {
        "europe": ["europe", "paris", "london", "rome", "berlin", "madrid", "oslo", "vienna",
                   "athens", "moscow", "france", "england", "germany", "italy", "spain",
                   "britain", "russia", "greece"],
        "americas": ["america", "lima", "quito", "mexico", "brazil", "canada", "chicago",
                     "boston", "texas", "california", "peru", "argentina", "washington"],
        "asia": ["asia", "tokyo", "delhi", "beijing", "china", "india", "japan", "korea",
                 "shanghai", "bombay", "mumbai", "vietnam", "iran", "iraq"],
        "africa": ["africa", "lagos", "cairo", "nairobi", "egypt", "nigeria", "kenya",
                   "ethiopia", "ghana", "congo", "morocco"],
        "oceania": ["australia", "sydney", "zealand", "melbourne", "fiji"],
    },
}


def load_terms(path: str | Path | None) -> dict[str, dict[str, list[str]]]:
    """Term groups from a JSON file {family: {group: [term, ...]}} (phrases allowed), or the
    defaults."""
    if path is None:
        return DEFAULT_TERMS
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None
    ok = isinstance(raw, dict) and raw and all(
        isinstance(groups, dict) and groups and all(
            isinstance(terms, list) and terms and all(isinstance(t, str) and tokenize(t)
                                                      for t in terms)
            for terms in groups.values())
        for groups in raw.values())
    if not ok:
        raise UserError(f"{path} must map each family to groups of terms: "
                        '{"pronouns": {"male": ["he", "his"], "female": ["she", "her"]}}')
    return raw


def count_terms(texts: list[str], terms: dict[str, dict[str, list[str]]]
                ) -> tuple[dict[str, dict[str, int]], int]:
    """Occurrences of each group's terms (whole tokens or token sequences), and the number of
    tokens."""
    phrases: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for family, groups in terms.items():
        for group, words in groups.items():
            for w in words:
                phrases.setdefault(tuple(tokenize(w)), []).append((family, group))
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for p in phrases:
        by_first.setdefault(p[0], []).append(p)
    counts = {f: dict.fromkeys(g, 0) for f, g in terms.items()}
    n_tokens = 0
    for text in texts:
        toks = tokenize(text)
        n_tokens += len(toks)
        for i, t in enumerate(toks):
            for p in by_first.get(t, ()):
                if tuple(toks[i:i + len(p)]) == p:
                    for family, group in phrases[p]:
                        counts[family][group] += 1
    return counts, n_tokens


def ratio_ci(a: int, b: int) -> tuple[float, tuple[float, float]]:
    """a / b with a 95% interval from the normal approximation of log(a / b) (0.5 added to both
    counts when either is zero)."""
    if a == 0 or b == 0:
        a, b = a + 0.5, b + 0.5
    r = a / b
    se = math.sqrt(1 / a + 1 / b)
    return r, (r * math.exp(-Z95 * se), r * math.exp(Z95 * se))


def _family_stats(counts: dict[str, int], n_tokens: int) -> dict:
    total = sum(counts.values())
    groups = {}
    for g, k in counts.items():
        lo, hi = wilson(k, total)
        groups[g] = {"count": k, "per_1k_tokens": round(1000 * k / max(n_tokens, 1), 4),
                     "share": round(k / total, 4) if total else None,
                     "share_ci95": [round(lo, 4), round(hi, 4)]}
    ratios = {}
    for g1, g2 in combinations(counts, 2):
        r, (lo, hi) = ratio_ci(counts[g1], counts[g2])
        ratios[f"{g1}/{g2}"] = {"ratio": round(r, 4), "ci95": [round(lo, 4), round(hi, 4)]}
    return {"mentions": total, "groups": groups, "ratios": ratios}


def _makeup(labels: list[str] | None, n: int) -> list[dict]:
    if not labels:
        return [{"label": "(all)", "count": n, "share": 1.0}]
    c = Counter(labels)
    return [{"label": lab, "count": k, "share": round(k / n, 4)} for lab, k in c.most_common()]


def audit(texts: list[str], labels: list[str] | None = None,
          generated: list[str] | None = None,
          terms: dict[str, dict[str, list[str]]] | None = None) -> dict:
    """The audit of ``texts`` (and of ``generated`` texts, when given) as a JSON-ready dict."""
    if not texts:
        raise UserError("nothing to audit: the data holds no texts")
    terms = terms or DEFAULT_TERMS
    counts, n_tokens = count_terms(texts, terms)
    result: dict = {"data": {"texts": len(texts), "tokens": n_tokens,
                             "makeup": _makeup(labels, len(texts))},
                    "families": {f: {"data": _family_stats(c, n_tokens)}
                                 for f, c in counts.items()}}
    if generated is not None:
        gcounts, g_tokens = count_terms(generated, terms)
        result["generated"] = {"texts": len(generated), "tokens": g_tokens}
        for f, c in gcounts.items():
            fam = result["families"][f]
            fam["generated"] = _family_stats(c, g_tokens)
            fam["difference"] = {}  # generated share minus data share, 95% interval
            n1, n2 = fam["data"]["mentions"], fam["generated"]["mentions"]
            for g in c:
                if n1 == 0 or n2 == 0:
                    continue
                p1, p2 = counts[f][g] / n1, c[g] / n2
                se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
                d = p2 - p1
                fam["difference"][g] = {"share_change": round(d, 4),
                                        "ci95": [round(d - Z95 * se, 4), round(d + Z95 * se, 4)]}
    return result


def format_audit(result: dict, top: int = 10) -> str:
    """A readable summary of ``audit``'s result."""
    d = result["data"]
    lines = [f"data: {d['texts']:,} texts, {d['tokens']:,} tokens"]
    for row in d["makeup"][:top]:
        lines.append(f"  {row['label']:<24} {row['count']:>8,}  {100 * row['share']:5.1f}%")
    if len(d["makeup"]) > top:
        lines.append(f"  ... {len(d['makeup']) - top} more labels")
    if "generated" in result:
        g = result["generated"]
        lines.append(f"generated: {g['texts']:,} texts, {g['tokens']:,} tokens")
    for family, fam in result["families"].items():
        lines.append(f"{family}:")
        sources = [s for s in ("data", "generated") if s in fam]
        for s in sources:
            st = fam[s]
            lines.append(f"  {s}: {st['mentions']:,} mentions")
            for g, gs in st["groups"].items():
                share = "-" if gs["share"] is None else f"{100 * gs['share']:5.1f}%"
                lo, hi = gs["share_ci95"]
                lines.append(f"    {g:<12} {gs['count']:>7,}  {gs['per_1k_tokens']:8.2f}/1k tokens"
                             f"  share {share} [{100 * lo:.1f}, {100 * hi:.1f}]")
            for pair, r in list(st["ratios"].items())[:3]:
                lines.append(f"    {pair:<20} {r['ratio']:.2f} [{r['ci95'][0]:.2f}, "
                             f"{r['ci95'][1]:.2f}]")
        if fam.get("difference"):
            lines.append("  generated share minus data share, 95% interval:")
            for g, diff in fam["difference"].items():
                lo, hi = diff["ci95"]
                verdict = ("more often" if lo > 0 else "less often" if hi < 0
                           else "no clear change")
                lines.append(f"    {g:<12} {100 * diff['share_change']:+6.1f} points "
                             f"[{100 * lo:+.1f}, {100 * hi:+.1f}]  {verdict} than in the data")
    return "\n".join(lines)
