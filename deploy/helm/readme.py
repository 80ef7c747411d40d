#!/usr/bin/env python3
"""Writes the table of every value of the chart into its README, from values.yaml's `# --` comments.

    deploy/helm/readme.py           rewrite the table in deploy/helm/job-orchestrator/README.md
    deploy/helm/readme.py --check   fail if the README's table is not what values.yaml gives

A key's description is the `# --` comment block right above it (helm-docs' convention). Every value
must be described, itself or through a described parent whose default is then shown whole.
"""

import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent / "job-orchestrator"
START, END = "<!-- values:start -->", "<!-- values:end -->"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?: |$)")
COMMENT = re.compile(r"^ *# ?(?P<text>.*)$")


def documented_keys(lines):
    """(path, description) of every described key, in the file's order."""
    found, stack, block = [], [], None
    for number, line in enumerate(lines, 1):
        comment = COMMENT.match(line)
        if comment:
            text = comment.group("text")
            if text.startswith("-- "):
                block = [text[3:].strip()]
            elif block is not None:
                block.append(text.strip())
            continue
        key = KEY.match(line)
        if not key:
            # A list item or a flow value continues the key above it; a blank line ends a comment.
            if not line.strip():
                block = None
            continue
        depth = len(key.group("indent"))
        if depth % 2:
            sys.exit(f"values.yaml:{number}: indent by two spaces")
        stack = stack[: depth // 2] + [key.group("key")]
        if block is not None:
            found.append((tuple(stack), " ".join(block)))
        block = None
    return found


def value_at(values, path):
    for key in path:
        values = values[key]
    return values


def leaves(values, path=()):
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, path + (key,))
    else:
        yield path


def type_name(value):
    return {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}.get(
        type(value), "null"
    )


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def table(values_text):
    values = yaml.safe_load(values_text)
    described = documented_keys(values_text.splitlines())
    paths = {path for path, _ in described}
    missing = [
        ".".join(leaf)
        for leaf in leaves(values)
        if not any(leaf[: n] in paths for n in range(1, len(leaf) + 1))
    ]
    if missing:
        sys.exit("values.yaml: no `# --` description for " + ", ".join(missing))
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for path, description in described:
        value = value_at(values, path)
        has_described_children = any(other[: len(path)] == path and other != path for other in paths)
        default = "" if has_described_children else f"`{json.dumps(value, separators=(',', ':'))}`"
        rows.append(f"| `{'.'.join(path)}` | {type_name(value)} | {cell(default)} | {cell(description)} |")
    return "\n".join(rows)


def main():
    readme = CHART / "README.md"
    current = readme.read_text()
    if START not in current or END not in current:
        sys.exit(f"{readme}: the markers {START} and {END} are missing")
    head, rest = current.split(START, 1)
    _, tail = rest.split(END, 1)
    wanted = f"{head}{START}\n{table((CHART / 'values.yaml').read_text())}\n{END}{tail}"
    if "--check" in sys.argv[1:]:
        if wanted != current:
            sys.exit(f"{readme} does not list values.yaml's values as they are: run deploy/helm/readme.py")
        print(f"{readme.relative_to(Path.cwd()) if readme.is_relative_to(Path.cwd()) else readme}: up to date")
    else:
        readme.write_text(wanted)


if __name__ == "__main__":
    main()
