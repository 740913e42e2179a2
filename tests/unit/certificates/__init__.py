"""Tests of the certificate-of-origin package (``streams.certificates``) and its test PKI."""
