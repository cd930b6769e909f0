"""Text statistics: the words a model favours per context (weighted log-odds with an
informative Dirichlet prior), generation under contexts, and a bias audit of data and samples."""

from .audit import DEFAULT_TERMS, audit, load_terms
from .generation import generate_texts, parse_contexts
from .words import content_words, log_odds, word_counts

__all__ = ["DEFAULT_TERMS", "audit", "content_words", "generate_texts", "load_terms",
           "log_odds", "parse_contexts", "word_counts"]
