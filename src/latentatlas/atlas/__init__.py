"""Latent operations over any model that follows the protocol: encoding, sampling."""

from .sampling import encode_all, sample

__all__ = ["encode_all", "sample"]
