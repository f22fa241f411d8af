"""The Coinbase Advanced Trade adapters, on the official ``coinbase-advanced-py`` SDK.

``CoinbaseMarketData`` reads public market data (no key needed);
``CoinbaseExchange`` trades with a CDP API key. Both convert the SDK's
answers to ``market.types`` at the edge; no SDK type leaves this package.
"""

from market.coinbase.client import sdk_logging_tame
from market.coinbase.credentials import Credentials, CredentialsError, load_credentials
from market.coinbase.exchange import CoinbaseExchange, KeyPermissions
from market.coinbase.market_data import CoinbaseMarketData

sdk_logging_tame()

__all__ = [
    "CoinbaseExchange",
    "CoinbaseMarketData",
    "Credentials",
    "CredentialsError",
    "KeyPermissions",
    "load_credentials",
]
