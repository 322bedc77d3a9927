"""Signing requests: the signer's signature made on their own token (``client``) or by a remote service."""
