"""A local HTTPS fake of Coinbase Advanced Trade for tests (see ``server.py``)."""

from tests.fake_coinbase.certs import CertPaths, make_certs
from tests.fake_coinbase.server import FakeCoinbase, LoggedRequest
from tests.fake_coinbase.state import CoinbaseState

__all__ = ["CertPaths", "CoinbaseState", "FakeCoinbase", "LoggedRequest", "make_certs"]
