"""The Grafana dashboard and the Prometheus config speak the metrics the hub exports."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client import Metric
from prometheus_client.metrics import MetricWrapperBase

from hub.api import metrics as api_metrics
from hub.settings import PROJECT_ROOT, setting_field
from streams import metrics as worker_metrics

MONITORING = PROJECT_ROOT / "monitoring"


def exported_names() -> set[str]:
    """Every series name the worker and the API export (with _total, _bucket, … suffixes)."""
    names = {"up"}
    for module in (worker_metrics, api_metrics):
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                for metric in value.collect():
                    assert isinstance(metric, Metric)
                    names |= {sample.name for sample in metric.samples} | {metric.name}
                    # Families without samples yet (labelled, never incremented) still have these.
                    names |= {
                        f"{metric.name}{suffix}"
                        for suffix in ("_total", "_bucket", "_count", "_sum")
                    }
    return names


def test_every_dashboard_query_uses_an_exported_metric() -> None:
    dashboard = json.loads((MONITORING / "grafana/dashboards/hub-overview.json").read_text())
    known = exported_names()
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(expressions) >= 8
    for expression in expressions:
        used = set(re.findall(r"\b(hub_[a-z_]+|up)\b", expression))
        assert used and used <= known, (expression, used - known)


def test_prometheus_scrapes_the_api_and_the_workers_metrics_port() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    default_port = setting_field("worker.metrics_port").default
    assert targets["hub-worker"] == [f"worker:{default_port}"]
    assert targets["hub-api"] == ["api:8080"]
