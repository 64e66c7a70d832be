"""Moved to tracker.http.client_ip; kept while branches that import it here are merged."""

from tracker.http.client_ip import TrustedProxies, client_ip, parse_ip

__all__ = ["TrustedProxies", "client_ip", "parse_ip"]
