#!/usr/bin/env python3
"""The Python side of tests/tests/chart.rs: what needs helm-python-sdk (Helm v4's Go SDK through
ctypes, no helm binary) and kubernetes-validate. Each subcommand prints one JSON document on
standard output for the Rust test to judge, and exits 0; a Helm error on render exits 3 with the
message on standard error (the test reads it to check that bad values are refused by name).

    chart_check.py modules
    chart_check.py lint CHART [--values FILE]
    chart_check.py render CHART --out DIR [--values FILE] [--set-json JSON] [--set K=V]...
                          [--name N] [--namespace NS] [--upgrade] [--kubeconfig FILE]
    chart_check.py validate DIR --kubernetes 1.29.0 [--kubernetes 1.37.0] --monitoring-crds FILE
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any


def modules() -> dict[str, Any]:
    """Which of the needed modules import, with their versions (the test skips on a missing one)."""
    found: dict[str, Any] = {}
    try:
        import helm_python

        sdk = helm_python.helm_sdk_version()
        found["helm_python"] = f"{helm_python.__version__} (Helm SDK {sdk})"
    except Exception as error:  # noqa: BLE001 - any failure to load means "absent" here
        found["helm_python"] = None
        found["helm_python_error"] = str(error)
    try:
        from kubernetes_validate.version import __version__

        found["kubernetes_validate"] = __version__
    except Exception as error:  # noqa: BLE001
        found["kubernetes_validate"] = None
        found["kubernetes_validate_error"] = str(error)
    return found


def read_values(path: str | None, set_json: str | None) -> dict[str, Any] | None:
    """The values of a YAML file (through Helm's own parser), overlaid with a JSON document."""
    import helm_python

    values: dict[str, Any] | None = None
    if path:
        values = helm_python.values_from_yaml(pathlib.Path(path).read_text(encoding="utf-8"))
    if set_json:
        values = merge(values or {}, json.loads(set_json))
    return values


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` over `base`, maps merged key by key (what a second `-f` file does)."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def lint(chart: str, values_file: str | None) -> dict[str, Any]:
    import helm_python

    return helm_python.lint(chart, read_values(values_file, None), strict=True)


def render(args: argparse.Namespace) -> int:
    """Renders the chart; writes each template's output to OUT/<template path>; prints what each
    file holds (kind, name, namespace of every document) and NOTES.txt."""
    import helm_python
    import yaml

    values = read_values(args.values, args.set_json)
    for expression in args.set or []:
        values = merge(values or {}, helm_python.parse_set_string(expression))
    options = {
        "name": args.name,
        "namespace": args.namespace,
        "is_install": not args.upgrade,
        "is_upgrade": args.upgrade,
    }
    try:
        with helm_python.Chart.load(args.chart) as chart:
            if args.kubeconfig:
                # Cluster-aware, as helm install and upgrade render: `lookup` sees live objects.
                cluster = helm_python.Config(
                    kubeconfig_path=args.kubeconfig, namespace=args.namespace
                )
                with cluster as config:
                    rendered = config.render(chart, values, **options)
            else:
                # Offline, as helm template: `lookup` finds nothing.
                rendered = chart.render(values, **options)
    except helm_python.HelmError as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 3
    out = pathlib.Path(args.out)
    report: dict[str, Any] = {"files": {}, "notes": ""}
    for template, text in sorted(rendered.items()):
        if template.endswith("NOTES.txt"):
            report["notes"] = text
            continue
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
        if not documents:
            continue
        target = out / template
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        report["files"][template] = [
            {
                "apiVersion": doc.get("apiVersion"),
                "kind": doc.get("kind"),
                "name": (doc.get("metadata") or {}).get("name"),
                "namespace": (doc.get("metadata") or {}).get("namespace"),
            }
            for doc in documents
        ]
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0


def strict_schema(schema: Any) -> Any:
    """An OpenAPI v3 schema of a CRD as a strict JSON Schema: additionalProperties false wherever
    properties are listed and nothing else is said, int-or-string as both types."""
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {
        key: strict_schema(value)
        for key, value in schema.items()
        if not key.startswith("x-kubernetes-")
    }
    if schema.get("x-kubernetes-int-or-string"):
        converted["type"] = ["integer", "string"]
    if "properties" in schema and "additionalProperties" not in schema:
        converted["additionalProperties"] = False
    return converted


def monitoring_schemas(path: str) -> dict[tuple[str, str], Any]:
    """(apiVersion, kind) → strict schema, from the CRDs of tests/chart/monitoring-crds.yaml."""
    import yaml

    schemas = {}
    for crd in yaml.safe_load_all(pathlib.Path(path).read_text(encoding="utf-8")):
        if not crd:
            continue
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict_schema(version["schema"]["openAPIV3Schema"])
            schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


LABELS_SCHEMA = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
        "namespace": {
            "type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "maxLength": 63,
        },
        "labels": LABELS_SCHEMA,
        "annotations": LABELS_SCHEMA,
    },
}


def validate(args: argparse.Namespace) -> dict[str, Any]:
    """Every document of every YAML file under DIR, against Kubernetes' own schemas (strict) for
    each version, or against the stated schema of tests/chart/monitoring-crds.yaml for the
    monitoring.coreos.com kinds. A kind without a schema is a problem, never a pass."""
    import jsonschema
    import yaml
    from kubernetes_validate import utils

    custom = monitoring_schemas(args.monitoring_crds)
    problems: list[str] = []
    checked: list[str] = []
    for file in sorted(pathlib.Path(args.dir).rglob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            if not doc:
                continue
            name = (doc.get("metadata") or {}).get("name")
            what = f"{file.relative_to(args.dir)}: {doc.get('kind')}/{name}"
            key = (doc.get("apiVersion"), doc.get("kind"))
            if key in custom:
                for error in jsonschema.Draft7Validator(custom[key]).iter_errors(doc):
                    problems.append(f"{what}: {'.'.join(map(str, error.path))}: {error.message}")
                metadata = doc.get("metadata")
                for error in jsonschema.Draft7Validator(METADATA_SCHEMA).iter_errors(metadata):
                    path = ".".join(map(str, error.path))
                    problems.append(f"{what}: metadata.{path}: {error.message}")
                checked.append(f"{what} (stated schema)")
                continue
            for version in args.kubernetes:
                try:
                    validated = utils.validate(doc, version, strict=True)
                    checked.append(f"{what} (Kubernetes {validated})")
                except utils.ValidationError as error:
                    path = ".".join(str(item) for item in error.path)
                    problems.append(f"{what}: Kubernetes {version}: {path}: {error.message}")
                except utils.SchemaNotFoundError as error:
                    problems.append(f"{what}: Kubernetes {version}: {error.message}")
    return {"checked": checked, "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("modules")
    lint_parser = commands.add_parser("lint")
    lint_parser.add_argument("chart")
    lint_parser.add_argument("--values")
    render_parser = commands.add_parser("render")
    render_parser.add_argument("chart")
    render_parser.add_argument("--out", required=True)
    render_parser.add_argument("--values")
    render_parser.add_argument("--set-json")
    render_parser.add_argument("--set", action="append")
    render_parser.add_argument("--kubeconfig")
    render_parser.add_argument("--name", default="r")
    render_parser.add_argument("--namespace", default="ns")
    render_parser.add_argument("--upgrade", action="store_true")
    validate_parser = commands.add_parser("validate")
    validate_parser.add_argument("dir")
    validate_parser.add_argument("--kubernetes", action="append", required=True)
    validate_parser.add_argument("--monitoring-crds", required=True)
    args = parser.parse_args()

    if args.command == "modules":
        print(json.dumps(modules()))
    elif args.command == "lint":
        print(json.dumps(lint(args.chart, args.values), indent=1))
    elif args.command == "render":
        return render(args)
    elif args.command == "validate":
        print(json.dumps(validate(args), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
