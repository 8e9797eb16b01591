#!/usr/bin/env bash
# Checks the monitoring configuration of infra/observability (the compose `observability`
# profile; docs/operations.md, "Observability profile" and "Alerts and runbooks"):
#   1. `promtool check config` accepts prometheus.yml (with the alert rules it loads; the token
#      file it names is created by the compose service at start, so the check runs on a copy
#      pointing at a stand-in) and `promtool check rules` accepts alerts.yml;
#   2. `promtool test rules alerts.test.yml` passes, and it makes every alert fire (and shows
#      some must not fire on look-alike series);
#   3. every alert has a severity, a summary, a description and a runbook, the runbook is a
#      section of docs/operations.md, and every runbook section there belongs to an alert;
#   4. the Grafana dashboard is valid JSON on the provisioned data sources, its expressions parse
#      (promtool), and it shows what the profile promises (requests, latency, errors, consumer
#      lag, outbox, dead letters, thumbnails, storage, workers, database pool);
#   5. every metric the dashboard, the alerts and their tests name is in the metrics table of
#      docs/operations.md (the one list of exported metrics; it must match the families of
#      Shared/ServiceKit/MetricHelp.swift), a Prometheus built-in (`up`, `ALERTS`) or a
#      recording rule of alerts.yml.
# Prints one line per check and `observability: N passed, M failed`; exits non-zero on failure.
# Needs promtool (Debian: apt-get install --no-install-recommends prometheus; infra/lib/prereqs.sh
# installs it), python3 and PyYAML. Starts nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OBS="$ROOT/infra/observability"
OPERATIONS_DOC="$ROOT/docs/operations.md"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
summary_and_exit() { echo "observability: $passed passed, $failed failed"; exit 1; }
indent() { sed 's/^/       /'; }

echo "checking $OBS"

if ! command -v promtool >/dev/null 2>&1; then
  bad "promtool is installed (Debian bookworm: sudo apt-get install --no-install-recommends prometheus, which brings promtool; or run ./infra/lib/prereqs.sh)"
  summary_and_exit
fi
ok "promtool: $(promtool --version 2>&1 | head -n 1)"
python3 -c 'import yaml' 2>/dev/null || { bad "python3 can import yaml (PyYAML: apt-get install python3-yaml)"; summary_and_exit; }

for f in prometheus.yml alerts.yml alerts.test.yml grafana/dashboards/cirrus.json; do
  [[ -f "$OBS/$f" ]] || { bad "infra/observability/$f exists"; summary_and_exit; }
done
[[ -f "$OPERATIONS_DOC" ]] || { bad "docs/operations.md exists"; summary_and_exit; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- promtool ---------------------------------------------------------------------------------
if promtool check config --syntax-only "$OBS/prometheus.yml" >"$TMP/out" 2>&1; then
  ok "promtool check config --syntax-only prometheus.yml"
else
  bad "promtool check config --syntax-only prometheus.yml"; indent <"$TMP/out"
fi
# The full check also reads the files the configuration names: the alert rules (relative to the
# configuration file, so copied along) and the token file, which the compose service writes at
# start (/run/cirrus/metrics-token): a copy of the configuration points at a stand-in.
cp "$OBS/prometheus.yml" "$OBS/alerts.yml" "$TMP/"
printf '%s' "stand-in-token-for-promtool" >"$TMP/metrics-token"
sed -i "s#/run/cirrus/metrics-token#$TMP/metrics-token#g" "$TMP/prometheus.yml"
if promtool check config "$TMP/prometheus.yml" >"$TMP/out" 2>&1; then
  ok "promtool check config prometheus.yml (with the rule files it loads: $(grep -c 'SUCCESS' "$TMP/out") files)"
else
  bad "promtool check config prometheus.yml"; indent <"$TMP/out"
fi
if promtool check rules "$OBS/alerts.yml" >"$TMP/out" 2>&1; then
  ok "promtool check rules alerts.yml ($(grep -o '[0-9]* rules found' "$TMP/out"))"
else
  bad "promtool check rules alerts.yml"; indent <"$TMP/out"
fi
# Relative paths in the test file are relative to the working directory.
if (cd "$OBS" && promtool test rules alerts.test.yml) >"$TMP/out" 2>&1; then
  ok "promtool test rules alerts.test.yml"
else
  bad "promtool test rules alerts.test.yml"; indent <"$TMP/out"
fi

# --- structure, names, dashboard (python) --------------------------------------------------------
# Writes the dashboard's expressions as recording rules to $TMP/dashboard-rules.yml for promtool.
set +e
python3 - "$ROOT" "$TMP/dashboard-rules.yml" <<'PY'
import json
import os
import re
import sys

import yaml

root, dashboard_rules_path = sys.argv[1:3]
obs = os.path.join(root, "infra", "observability")
passed = failed = 0


def check(condition, what, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   - {what}")
    else:
        failed += 1
        print(f"FAIL - {what}" + (f": {detail}" if detail else ""))
    return condition


def load_yaml(*parts):
    with open(os.path.join(*parts)) as f:
        return yaml.safe_load(f) or {}


# --- the documented metrics -----------------------------------------------------------------
# docs/operations.md, "Health, readiness, metrics": the table after the line `Metrics:`. Its
# first column names each family in backticks (labels follow in parentheses).
with open(os.path.join(root, "docs", "operations.md")) as f:
    doc = f.read()
documented = set()
table = re.search(r"^Metrics:\n\n((?:\|.*\n)+)", doc, re.M)
if table:
    for row in table.group(1).splitlines()[2:]:
        first = row.split("|")[1]
        first = re.sub(r"\([^)]*\)", "", first)
        documented |= {n for n in re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", first)}
check(len(documented) >= 20, f"docs/operations.md lists the exported metrics ({len(documented)} families in its Metrics table)",
      "no table after a line `Metrics:` in Health, readiness, metrics")

help_path = os.path.join(root, "Shared", "ServiceKit", "MetricHelp.swift")
if os.path.isfile(help_path):
    with open(help_path) as f:
        exported = set(re.findall(r'^\s*"([a-z_:][a-z0-9_:]*)":', f.read(), re.M))
    check(exported and exported <= documented, "every metric family the services export (MetricHelp.swift) is documented",
          f"not in docs/operations.md: {sorted(exported - documented)}")
    check(documented <= exported, "every documented metric is exported (has a MetricHelp.swift entry)",
          f"documented only: {sorted(documented - exported)}")
else:
    print("note - Shared/ServiceKit/MetricHelp.swift not found: documented names not compared with the exported ones")

# --- alert rules ------------------------------------------------------------------------------
rules = load_yaml(obs, "alerts.yml")
alerts, recorded, rule_exprs = {}, set(), []
for group in rules.get("groups") or []:
    for rule in group.get("rules") or []:
        rule_exprs.append((rule.get("alert") or rule.get("record"), str(rule.get("expr"))))
        if "alert" in rule:
            alerts[rule["alert"]] = rule
        else:
            recorded.add(rule["record"])
check(len(alerts) >= 6, f"alerts.yml defines the alerts ({len(alerts)}: {', '.join(sorted(alerts))})")
REQUIRED_WATCH = {
    "consumer lag": "cirrus_kafka_consumer_lag",
    "dead letters": "cirrus_dead_letters",
    "outbox age": "cirrus_outbox_oldest_unpublished_age_seconds",
    "5xx rate": "cirrus_http_requests_total",
    "a silent worker": "cirrus_worker_last_beat_timestamp_seconds",
    "targets down": "up",
}


def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


headings = {slug(h): h for h in re.findall(r"^#{1,6} (.+)$", doc, re.M)}
runbook_section = re.search(r"^## Alerts and runbooks\n(.*?)(?=^## |\Z)", doc, re.M | re.S)
runbook_headings = set(re.findall(r"^### (\S+)\s*$", runbook_section.group(1), re.M)) if runbook_section else set()
check(bool(runbook_section), "docs/operations.md has the section Alerts and runbooks")

for name, rule in sorted(alerts.items()):
    labels, annotations = rule.get("labels") or {}, rule.get("annotations") or {}
    problems = []
    if labels.get("severity") not in {"critical", "warning"}:
        problems.append(f"severity {labels.get('severity')!r} (critical or warning)")
    for key in ("summary", "description", "runbook"):
        if not str(annotations.get(key) or "").strip():
            problems.append(f"no {key} annotation")
    runbook = str(annotations.get("runbook") or "")
    m = re.fullmatch(r"docs/operations\.md#([\w-]+)", runbook)
    if not m:
        problems.append(f"runbook {runbook!r} is not docs/operations.md#<anchor>")
    elif m.group(1) not in headings:
        problems.append(f"docs/operations.md has no heading with anchor #{m.group(1)}")
    elif m.group(1) != slug(name) or name not in runbook_headings:
        problems.append(f"the runbook should be the heading `### {name}` under Alerts and runbooks")
    check(not problems, f"{name}: severity {labels.get('severity')}, summary, description, runbook {runbook}", "; ".join(problems))
stale = sorted(runbook_headings - set(alerts))
check(not stale, "every runbook under Alerts and runbooks belongs to an alert of alerts.yml", f"no such alert: {stale}")


# --- metric names in PromQL -------------------------------------------------------------------
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "inf", "nan", "atan2"}


def metric_names(expr):
    """The metric names an expression selects (no full parser: enough for these files)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)             # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)            # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)          # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", e):
        if not m.group(2) and m.group(1).lower() not in KEYWORDS:
            names.add(m.group(1))
    return names


BUILTIN = {"up", "ALERTS"}


def unknown(names):
    out = set()
    for n in names:
        base = re.sub(r"_(bucket|sum|count)$", "", n)
        if n in documented or base in documented or n in BUILTIN or n in recorded:
            continue
        out.add(n)
    return sorted(out)


alert_names = set()
for name, expr in rule_exprs:
    names = metric_names(expr)
    alert_names |= names
    check(names and not unknown(names), f"alerts.yml {name}: selects documented metrics ({', '.join(sorted(names))})",
          f"not documented: {unknown(names)}")
for what, metric in REQUIRED_WATCH.items():
    check(metric in alert_names, f"alerts.yml watches {what} ({metric})")

tests = load_yaml(obs, "alerts.test.yml")
series_names = set()
fires, quiet = set(), set()
for test in tests.get("tests") or []:
    for s in test.get("input_series") or []:
        m = re.match(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)", s.get("series", ""))
        if m:
            series_names.add(m.group(1))
    for t in test.get("alert_rule_test") or []:
        (fires if t.get("exp_alerts") else quiet).add(t.get("alertname"))
check(series_names and not unknown(series_names), f"alerts.test.yml: input series are documented metrics ({len(series_names)} names)",
      f"not documented: {unknown(series_names)}")
never = sorted(set(alerts) - fires)
check(not never, f"alerts.test.yml makes every alert fire ({len(fires & set(alerts))} of {len(alerts)})", f"never fired: {never}")
check(len(quiet & set(alerts)) >= len(alerts) // 2,
      f"alerts.test.yml also has cases that must not fire ({len(quiet & set(alerts))} alerts: {', '.join(sorted(quiet & set(alerts)))})")

# --- Grafana ------------------------------------------------------------------------------------
sources = {}
ds_dir = os.path.join(obs, "grafana", "provisioning", "datasources")
for fname in sorted(os.listdir(ds_dir)) if os.path.isdir(ds_dir) else []:
    for ds in load_yaml(ds_dir, fname).get("datasources") or []:
        sources[ds.get("uid")] = ds
prom = [ds for ds in sources.values() if ds.get("type") == "prometheus"]
jaeger = [ds for ds in sources.values() if ds.get("type") == "jaeger"]
check(len(prom) == 1 and prom[0].get("url") == "http://prometheus:9090" and prom[0].get("isDefault"),
      "grafana data source: Prometheus at http://prometheus:9090, the default", f"{prom}")
check(len(jaeger) == 1 and jaeger[0].get("url") == "http://jaeger:16686", "grafana data source: Jaeger at http://jaeger:16686", f"{jaeger}")

try:
    with open(os.path.join(obs, "grafana", "dashboards", "cirrus.json")) as f:
        dashboard = json.load(f)
    check(True, "grafana/dashboards/cirrus.json is valid JSON")
except (OSError, ValueError) as e:
    check(False, "grafana/dashboards/cirrus.json is valid JSON", str(e))
    dashboard = {}
check(bool(dashboard.get("uid")) and bool(dashboard.get("title")), f"dashboard has a uid and a title ({dashboard.get('uid')}, {dashboard.get('title')})")
panels = [p for p in dashboard.get("panels") or [] if p.get("type") != "row"]
ids = [p.get("id") for p in dashboard.get("panels") or []]
check(len(ids) == len(set(ids)), "dashboard panel ids are unique")
layout = [p.get("title") for p in dashboard.get("panels") or []
          if not (0 <= p.get("gridPos", {}).get("x", -1) and p["gridPos"]["x"] + p["gridPos"].get("w", 99) <= 24)]
check(not layout, "dashboard panels fit the 24-column grid", f"{layout}")
exprs = []
ds_problems = []
for p in panels:
    for ds in [p.get("datasource")] + [t.get("datasource") for t in p.get("targets") or []]:
        if ds and ds.get("uid") not in sources:
            ds_problems.append(f"{p.get('title')}: data source uid {ds.get('uid')!r}")
    if not p.get("targets"):
        ds_problems.append(f"{p.get('title')}: no query")
    exprs += [(p.get("title"), t.get("expr", "")) for t in p.get("targets") or []]
for v in (dashboard.get("templating") or {}).get("list") or []:
    if v.get("datasource") and v["datasource"].get("uid") not in sources:
        ds_problems.append(f"variable {v.get('name')}: data source uid {v['datasource'].get('uid')!r}")
check(not ds_problems, f"dashboard: {len(panels)} panels, every one queries a provisioned data source", "; ".join(ds_problems))
dashboard_names = set()
bad_names = []
for title, expr in exprs:
    names = metric_names(expr)
    dashboard_names |= names
    if not names or unknown(names):
        bad_names.append(f"{title}: {unknown(names) or 'no metric'}")
check(not bad_names, f"dashboard: every expression ({len(exprs)}) selects documented metrics", "; ".join(bad_names))
SHOWN = {
    "request rate": "cirrus_http_requests_total",
    "latency": "cirrus_http_request_duration_seconds_bucket",
    "consumer lag": "cirrus_kafka_consumer_lag",
    "outbox age": "cirrus_outbox_oldest_unpublished_age_seconds",
    "outbox backlog": "cirrus_outbox_backlog",
    "dead letters": "cirrus_dead_letters",
    "thumbnails per second": "cirrus_thumbnail_renders_total",
    "storage use": "cirrus_blob_stored_bytes",
    "worker last beat": "cirrus_worker_last_beat_timestamp_seconds",
    "database pool wait": "cirrus_db_pool_wait_seconds_bucket",
}
for what, metric in SHOWN.items():
    check(metric in dashboard_names, f"dashboard shows {what} ({metric})")
per_route = [e for _, e in exprs if "cirrus_http" in e and re.search(r"by \([^)]*\broute\b", e)]
check(len(per_route) >= 3, f"dashboard: request rate, errors and latency per route ({len(per_route)} queries by route)")

# For promtool: each expression as a recording rule, Grafana's variables filled in.
rules_out = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:expr_{i}",
     "expr": expr.replace("$__rate_interval", "1m").replace("$__interval", "1m").replace("$__range", "1h").replace("$job", ".*")}
    for i, (_, expr) in enumerate(exprs)]}]}
with open(dashboard_rules_path, "w") as f:
    yaml.safe_dump(rules_out, f, sort_keys=False)

with open(os.path.join(os.path.dirname(dashboard_rules_path), "py-counts"), "w") as f:
    f.write(f"{passed} {failed}\n")
PY
status=$?
set -e
if [[ -f "$TMP/py-counts" ]]; then
  read -r p f <"$TMP/py-counts"
  passed=$((passed + p)); failed=$((failed + f))
else
  bad "the structure checks ran (python exited $status)"
fi

if [[ -s "$TMP/dashboard-rules.yml" ]]; then
  if promtool check rules "$TMP/dashboard-rules.yml" >"$TMP/out" 2>&1; then
    ok "promtool parses every dashboard expression ($(grep -o '[0-9]* rules found' "$TMP/out"))"
  else
    bad "promtool parses every dashboard expression"; indent <"$TMP/out"
  fi
fi

echo "observability: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
