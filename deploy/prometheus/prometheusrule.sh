#!/usr/bin/env bash
# Prints alerts.yaml as a Prometheus Operator PrometheusRule (same groups, same text):
#   deploy/prometheus/prometheusrule.sh > deploy/kubernetes/components/monitoring/prometheusrule.yaml
# .ci/check-deploy fails when the committed file differs from this script's output.
set -euo pipefail
cd "$(dirname "$0")"
cat <<'YAML'
# Generated from deploy/prometheus/alerts.yaml by deploy/prometheus/prometheusrule.sh: edit
# alerts.yaml, then run that script (.ci/check-deploy fails when the two differ).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: tokengate
spec:
YAML
# Everything from `groups:` on, two spaces deeper (blank lines stay empty).
sed -n '/^groups:/,$p' alerts.yaml | sed 's/^./  &/'
