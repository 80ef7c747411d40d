#!/usr/bin/env python3
"""Holds the documentation to the code (python3's standard library only; run by tests/run.sh):

- every repository path in backticks in README.md and docs/ exists (`services/job-history/src/api.rs`);
  paths that a build makes (git ignores them) and patterns (`*`, `<...>`, `$VAR`) are skipped;
- every `path` → `name`, `name` reference names something declared in that file (`fn name`,
  `struct name`, `const name`...; `Type::name` is a method `name`, with `Type` named in the file);
- every relative link in README.md and docs/ points at a file that exists, and a `#heading` at a heading
  of that page;
- each docs/services/<service>.md has a "## Settings" table whose variables are exactly those the
  service's code reads (tests/service_settings.py, which the chart's test uses too).

Prints each problem on its own line and exits 1 if there is any. `--root DIR` checks another copy of
the repository (to show the check failing on a scratch copy)."""

import re
import subprocess
import sys
from pathlib import Path

from service_settings import settings_read_by

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["auth-gateway", "nexus-catalog", "job-deployer", "job-history", "job-history-consumer"]
# The first segment of a path the check takes as a repository path.
ROOTS = ("crates/", "services/", "tests/", "deploy/", "docs/", "openapi/", "ui/", ".ci/")
TOP_FILES = {"README.md", "Cargo.toml", "Cargo.lock", ".gitlab-ci.yml", "deny.toml", "rustfmt.toml", "clippy.toml"}
DECLARATION = r"\b(?:fn|struct|enum|trait|type|const|static|mod|union)\s+{name}\b|macro_rules!\s*{name}\b"
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REFERENCE = re.compile(r"`([^`\s]+\.[A-Za-z0-9]+)`\s*→\s*((?:`[A-Za-z_][A-Za-z0-9_:]*`(?:,\s*)?)+)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents(root):
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [page for page in pages if page.is_file()]


def without_code_blocks(text):
    """The text with fenced blocks blanked (line numbers kept): commands are not references."""
    return re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def looks_like_path(token):
    if any(c in token for c in "*<>{}$~ |?=") or token.startswith(("http", "../", "./")):
        return False
    return token.startswith(ROOTS) or token in TOP_FILES


def ignored_by_git(root, paths):
    """The paths that git ignores (made by a build: `ui/dist`, `target/`); none without git."""
    if not paths:
        return set()
    try:
        # Each also as a folder: a pattern such as `dist/` matches only folders, and a clean checkout
        # has no `ui/dist` yet for git to see that it is one.
        asked = [*paths, *(f"{path}/" for path in paths)]
        result = subprocess.run(["git", "-C", str(root), "check-ignore", "--stdin"], input="\n".join(asked),
                                capture_output=True, text=True, check=False)
    except OSError:
        return set()
    return {path.rstrip("/") for path in result.stdout.split()}


def check_paths_and_names(root, problems):
    found = []  # (page, line, path)
    references = []  # (page, line, path, names)
    for page in documents(root):
        text = without_code_blocks(page.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            for token in CODE_SPAN.findall(line):
                token = token.rstrip("/").split("#")[0]
                if looks_like_path(token):
                    found.append((page, number, token))
        # A reference may run over several lines: `path` → `a`,<newline> `b`.
        for match in REFERENCE.finditer(text):
            number = text.count("\n", 0, match.start()) + 1
            references.append((page, number, match.group(1), re.findall(r"`([^`]+)`", match.group(2))))
    ignored = ignored_by_git(root, sorted({path for _, _, path in found}))
    for page, number, path in found:
        if path not in ignored and not (root / path).exists():
            problems.append(f"{page.relative_to(root)}:{number}: `{path}` does not exist")
    for page, number, path, names in references:
        source = root / path
        if not source.is_file():
            if looks_like_path(path):
                continue  # already reported as a missing path
            problems.append(f"{page.relative_to(root)}:{number}: `{path}` is not a repository path")
            continue
        code = source.read_text()
        for name in names:
            *owner, item = name.split("::")
            if not re.search(DECLARATION.format(name=re.escape(item)), code):
                problems.append(f"{page.relative_to(root)}:{number}: `{path}` declares no `{item}`")
            elif owner and not re.search(rf"\b{re.escape(owner[-1])}\b", code):
                problems.append(f"{page.relative_to(root)}:{number}: `{path}` does not name `{owner[-1]}`")


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page):
    text = without_code_blocks(page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M)}


def check_links(root, problems):
    for page in documents(root):
        text = without_code_blocks(page.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                linked = (page.parent / path).resolve() if path else page
                where = f"{page.relative_to(root)}:{number}"
                if not linked.exists():
                    problems.append(f"{where}: the link `{target}` points at no file")
                elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                    problems.append(f"{where}: the link `{target}` points at no heading of {linked.name}")


def settings_documented(page):
    """The variables of the first column of the page's "## Settings" table."""
    text = page.read_text()
    section = re.search(r"^## Settings\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if not section:
        return None
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", section.group(1), flags=re.M))


def check_settings(root, problems):
    for service in SERVICES:
        page = root / "docs" / "services" / f"{service}.md"
        if not page.is_file():
            problems.append(f"docs/services/{service}.md is missing")
            continue
        documented = settings_documented(page)
        if documented is None:
            problems.append(f"docs/services/{service}.md has no \"## Settings\" section")
            continue
        read = settings_read_by(root, service)
        for name in sorted(read - documented):
            problems.append(f"docs/services/{service}.md: {service} reads {name}, which its settings table lacks")
        for name in sorted(documented - read):
            problems.append(f"docs/services/{service}.md: the settings table lists {name}, which {service} does not read")


def main(argv):
    root = Path(argv[argv.index("--root") + 1]).resolve() if "--root" in argv else ROOT
    problems = []
    check_paths_and_names(root, problems)
    check_links(root, problems)
    check_settings(root, problems)
    for problem in problems:
        print(problem)
    if problems:
        print(f"docs check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("docs check: paths, names, links and settings tables agree with the code")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
