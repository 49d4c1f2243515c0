"""The Grafana dashboard and the alert rules name metrics and labels that exist.

docs/grafana/nexus_shop.json and docs/prometheus/nexus_shop_alerts.yml are PromQL over
nexus_shop's metric names. Nothing runs them in CI (no Prometheus, no Grafana), so a
renamed metric, label or outcome would leave an empty panel and an alert that never
fires. These tests read every expression and check each name against the instruments
themselves (:mod:`nexus_shop.instruments`), and that every instrument has a panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from nexus_shop import instruments

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "nexus_shop.json"
ALERTS = ROOT / "docs" / "prometheus" / "nexus_shop_alerts.yml"
SOURCE = ROOT / "src" / "nexus_shop"

# The series each metric type exposes (the exposition format; ``_created`` is left out:
# prometheus-client's multiprocess mode does not export it).
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}

SELECTOR = re.compile(r"\b(nexus_shop_[a-z0-9_]+)\b(?:\{([^}]*)\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LABEL_VALUES = re.compile(r"label_values\(\s*(\w+)\s*,\s*(\w+)\s*\)")


def _series() -> dict[str, frozenset[str]]:
    """Every series name nexus_shop exposes, with the labels it may carry."""
    series: dict[str, frozenset[str]] = {}
    for metric in vars(instruments).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        # prometheus-client has no public accessor for a metric's label names.
        labels = frozenset(metric._labelnames)
        for family in metric.describe():
            for suffix in SUFFIXES[family.type]:
                extra = {"le"} if suffix == "_bucket" else set()
                series[family.name + suffix] = labels | extra
    return series


SERIES = _series()


def _literals() -> str:
    return "\n".join(path.read_text() for path in SOURCE.rglob("*.py"))


LITERALS = _literals()


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard_expressions() -> list[tuple[str, str]]:
    found = [
        (f"panel {panel['title']!r}", target["expr"])
        for panel in _panels(_dashboard()["panels"])
        for target in panel.get("targets", [])
    ]
    for variable in _dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            found.append((f"variable {variable['name']!r}", variable["definition"]))
    return found


def _alert_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [
        (f"alert {rule['alert']!r}", rule["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
    ]


EXPRESSIONS = _dashboard_expressions() + _alert_expressions()


def test_the_instruments_are_read() -> None:
    # A guard for the tests below: an empty registry would make every check vacuous.
    assert "nexus_shop_http_requests_total" in SERIES
    assert SERIES["nexus_shop_http_request_duration_seconds_bucket"] >= {"operation", "le"}


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_every_name_and_label_exists(where: str, expr: str) -> None:
    selectors = SELECTOR.findall(expr)
    assert selectors, f"{where} reads no nexus_shop metric"
    labels: set[str] = set()
    for name, matchers in selectors:
        assert name in SERIES, f"{where}: no metric {name}"
        labels |= SERIES[name]
        for label, operator, value in MATCHER.findall(matchers):
            assert label in SERIES[name], f"{where}: {name} has no label {label}"
            if operator in {"=", "=~", "!~"} and not value.startswith("$"):
                # A value from a fixed set in the code: each alternative is a literal there.
                for alternative in value.split("|"):
                    assert f'"{alternative}"' in LITERALS, f"{where}: {label}={alternative}?"
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            assert label in labels, f"{where}: grouped by {label}, which no metric here has"
    for name, label in LABEL_VALUES.findall(expr):
        assert label in SERIES[name], f"{where}: {name} has no label {label}"


def test_a_renamed_metric_would_fail() -> None:
    # The check above, on an expression naming a metric that does not exist.
    with pytest.raises(AssertionError, match="no metric"):
        test_every_name_and_label_exists("probe", "rate(nexus_shop_http_request_total[5m])")
    with pytest.raises(AssertionError, match="no label"):
        test_every_name_and_label_exists("probe", 'nexus_shop_checkouts_total{result="x"}')
    with pytest.raises(AssertionError, match="outcome=sold_out"):
        test_every_name_and_label_exists("probe", 'nexus_shop_checkouts_total{outcome="sold_out"}')


def test_every_metric_has_a_panel() -> None:
    shown = {
        name
        for _, expr in _dashboard_expressions()
        for name, _ in SELECTOR.findall(expr)
        if name in SERIES
    }
    families = {
        family.name
        for metric in vars(instruments).values()
        if isinstance(metric, MetricWrapperBase)
        for family in metric.describe()
    }
    missing = {f for f in families if not any(name.startswith(f) for name in shown)}
    assert not missing, f"no panel shows {sorted(missing)}"


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "nexus-shop"
    assert isinstance(dashboard["schemaVersion"], int)
    panels = list(_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert {"type", "title", "gridPos"} <= panel.keys()
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']!r} is wider than the grid"
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        refs = [target["refId"] for target in panel["targets"]]
        assert refs, f"{panel['title']!r} has no query"
        assert len(refs) == len(set(refs))
    # Panels in the same band never overlap.
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps another panel"
                cells.add((x, y))


def test_the_alerts_are_prometheus_rules() -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    names = [rule["alert"] for group in rules["groups"] for rule in group["rules"]]
    assert len(names) == len(set(names))
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert {"alert", "expr", "for", "labels", "annotations"} <= rule.keys()
