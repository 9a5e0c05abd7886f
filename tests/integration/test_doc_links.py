"""The documentation's dead-link check (scripts/check-doc-links.py, run first by `make test`): it passes
on this repository and fails on copies with a dead link, a dead anchor, a docs page the README does not
link, or a mention of the shared folder outside the repository, so it cannot pass silently."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "scripts" / "check-doc-links.py"


def run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), "--root", str(root)],
                          capture_output=True, text=True, timeout=60)


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


GOOD = {
    "README.md": "# Project\n\nSee [the guide](docs/guide.md#set-up-make-run), [more](docs/more.md),"
                 " [contributing](CONTRIBUTING.md) and [below](#project).\n",
    "CONTRIBUTING.md": "# Contributing\n\n[Guide](docs/guide.md#notes-1).\n",
    "docs/guide.md": "# Guide\n\n## Set up (`make run`)\n\n## Notes\n\n## Notes\n\n"
                     "```sh\n[not a link](missing.md)\n```\n\n[Back](../README.md) and `[code](missing.md)`.\n",
    "docs/more.md": "# More\n\n![picture](picture.png) [folder](../scripts)\n",
    "docs/picture.png": "",
    "scripts/x.sh": "",
}


def test_this_repository_passes():
    result = run(ROOT)
    assert result.returncode == 0, result.stderr
    assert "all resolve" in result.stdout


def test_a_good_tree_passes(tmp_path):
    result = run(tree(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name, broken, expected", [
    ("docs/more.md", "# More\n\nSee [gone](gone.md).\n", "docs/more.md:3: gone.md: no such file"),
    ("docs/more.md", "# More\n\n![picture](missing.png)\n", "missing.png: no such file"),
    ("docs/more.md", "# More\n\nSee [guide](guide.md#no-such-heading).\n", "no heading with anchor #no-such-heading"),
    ("docs/more.md", "# More\n\nSee [here](#mor).\n", "no heading with anchor #mor"),
    ("CONTRIBUTING.md", "# Contributing\n\n[Guide](docs/guide.md#notes-2).\n", "#notes-2"),
    ("docs/more.md", "# More\n\nSee [outside](../../elsewhere/DESIGN.md).\n", "outside the repository"),
    ("docs/more.md", "# More\n\nThe design is in `../shared/DESIGN.md`.\n", "mentions ../shared"),
    ("docs/orphan.md", "# Orphan\n", "docs/orphan.md: not linked from README.md"),
])
def test_a_problem_fails_the_check(tmp_path, name, broken, expected):
    files = dict(GOOD)
    files[name] = broken
    result = run(tree(tmp_path, files))
    assert result.returncode == 1, result.stdout
    assert expected in result.stderr, result.stderr
