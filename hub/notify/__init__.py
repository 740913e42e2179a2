"""Signed webhooks: what becomes a notification, who gets it, and its delivery.

:mod:`hub.notify.notifications` turns the hub's records (accepted events, KPI values, certificate
verdicts) into CloudEvents-shaped notifications and matches them against subscriptions;
:mod:`hub.notify.signing` signs them and spaces the retries; :mod:`hub.notify.notifier` reads the
topics, stores one delivery per matching subscription and sends the due ones.
"""
