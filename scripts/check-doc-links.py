#!/usr/bin/env python3
"""Dead-link check for the documentation: README.md, CONTRIBUTING.md and docs/*.md.

Fails (exit 1, one `file:line: problem` per line) when
  * a relative link or image points to a file or folder that does not exist, or outside the repository;
  * an anchor (`page.md#heading`, `#heading`) names no heading of that page (GitHub's slugs);
  * a page in docs/ is not linked from README.md;
  * a page mentions `../shared` (a folder outside the repository that a user who clones it does not have).

Links inside fenced code blocks and inline code are not links. External links (http:, https:,
mailto:) are not fetched. `scripts/test.sh` runs this before the build; `--root DIR` checks another tree
(tests/integration/test_doc_links.py does, on broken copies).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import unquote

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target "title") and ![alt](target); the text may hold one level of brackets.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
HTML_ANCHOR = re.compile(r"""<a\s[^>]*?(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")
FORBIDDEN = "../shared"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its rendered text, lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images → their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def lines_outside_code(text: str):
    """(line number, line, line with inline code blanked) for lines outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.split("\n"), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)[0] * len(match.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            continue
        yield number, line, INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


def anchors(text: str) -> set[str]:
    """Every anchor a page offers: heading slugs (repeats get -1, -2, …) and explicit <a id/name>."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    previous = ""
    for _, line, _ in lines_outside_code(text):
        heading = None
        match = ATX.match(line)
        if match:
            heading = match.group(2)
        elif previous.strip() and re.match(r"^\s{0,3}(=+|-+)\s*$", line) and not re.match(r"^\s*([-*+|]|\d+\.)\s", previous):
            heading = previous.strip()
        if heading is not None:
            base = slug(heading)
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
        found.update(HTML_ANCHOR.findall(line))
        previous = line
    return found


def targets(text: str):
    """(line number, link target) for every link, image, reference definition and HTML href/src."""
    for number, _, line in lines_outside_code(text):
        for match in INLINE_LINK.finditer(line):
            yield number, match.group(1)
        match = REFERENCE_DEF.match(line)
        if match:
            yield number, match.group(1)
        for href in HTML_LINK.findall(line):
            yield number, href


def pages(root: Path) -> list[Path]:
    found = [root / name for name in ("README.md", "CONTRIBUTING.md") if (root / name).is_file()]
    return found + sorted((root / "docs").glob("*.md"))


def check(root: Path) -> tuple[list[str], int, int]:
    root = root.resolve()
    problems: list[str] = []
    all_pages = pages(root)
    if not (root / "README.md").is_file():
        problems.append("README.md: missing")
    texts = {page: page.read_text(encoding="utf-8") for page in all_pages}
    anchor_cache: dict[Path, set[str]] = {}
    linked_from_readme: set[Path] = set()
    link_count = 0

    def anchors_of(path: Path) -> set[str]:
        if path not in anchor_cache:
            text = texts.get(path)
            if text is None:
                text = path.read_text(encoding="utf-8", errors="replace")
            anchor_cache[path] = anchors(text)
        return anchor_cache[path]

    for page, text in texts.items():
        name = page.relative_to(root).as_posix()
        for number, line in enumerate(text.split("\n"), 1):
            if FORBIDDEN in line:
                problems.append(f"{name}:{number}: mentions {FORBIDDEN} (outside the repository)")
        for number, raw in targets(text):
            target = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
            if EXTERNAL.match(target):
                continue
            link_count += 1
            path_part, _, anchor = target.partition("#")
            path_part = unquote(path_part)
            if path_part:
                resolved = (page.parent / path_part).resolve()
                if resolved != root and root not in resolved.parents:
                    problems.append(f"{name}:{number}: {target}: points outside the repository")
                    continue
                if not resolved.exists():
                    problems.append(f"{name}:{number}: {target}: no such file")
                    continue
            else:
                resolved = page
            if page.name == "README.md" and page.parent == root:
                linked_from_readme.add(resolved)
            if anchor and resolved.is_file() and resolved.suffix.lower() == ".md":
                if unquote(anchor) not in anchors_of(resolved):
                    problems.append(f"{name}:{number}: {target}: no heading with anchor #{anchor}"
                                    f" in {resolved.relative_to(root).as_posix()}")

    for page in all_pages:
        if page.parent == root / "docs" and page.resolve() not in linked_from_readme:
            problems.append(f"{page.relative_to(root).as_posix()}: not linked from README.md")
    return problems, len(all_pages), link_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the tree to check (default: this repository)")
    options = parser.parse_args()
    problems, page_count, link_count = check(options.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"doc links: {len(problems)} problem(s) in {page_count} pages", file=sys.stderr)
        return 1
    print(f"doc links: {page_count} pages, {link_count} relative links, all resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
