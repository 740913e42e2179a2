"""Event contracts of the hub: the models of what ports publish, and the reasons input is refused.

Knows nothing about faust, HTTP or PostgreSQL.
"""
