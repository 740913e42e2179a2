"""Tests of the certificate-of-origin package (``hub.domain.certificates``) and its test PKI."""
