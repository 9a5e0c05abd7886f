#!/usr/bin/env python3
"""Checks a Dockerfile for what docker/Dockerfile promises (no Docker engine needed):

  - every base image is pinned: a digest (@sha256:…), or a tag naming an exact version
    (two or more numeric parts, e.g. 6.3.1-bookworm, 12.11-slim, or a YYYYMMDD date); never a
    missing tag, `latest`, or a moving name such as `bookworm-slim` or `6`
  - the final stage runs as a user other than root (a USER instruction that is not root/0)
  - a HEALTHCHECK is present (HEALTHCHECK NONE does not count)
  - no secret is baked in: no ENV or ARG whose name says key, token, secret, password or
    credential; no literal that looks like a provider key or a private key; no COPY/ADD of .env
    files or key material

  check-dockerfile.py [PATH]      (default docker/Dockerfile) exits 0 when it passes, else 1,
                                  printing one line per problem: PATH:LINE: message
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE)", re.IGNORECASE)
SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)")
SECRET_FILE = re.compile(r"(^|/)(\.env(\.[^/]*)?|id_rsa|id_ed25519|[^/]*\.pem|[^/]*\.key)$")
PINNED_TAG = re.compile(r"(^|[^0-9])\d+\.\d+|(^|[^0-9])20\d{6}([^0-9]|$)")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@dataclass
class Instruction:
    line: int
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """Logical instructions: comments dropped, backslash continuations joined."""
    result: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        keyword, _, arguments = joined.partition(" ")
        result.append(Instruction(start, keyword.upper(), arguments.strip()))
    if pending:
        joined = " ".join(pending).strip()
        keyword, _, arguments = joined.partition(" ")
        result.append(Instruction(start, keyword.upper(), arguments.strip()))
    return result


def substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}?", lambda m: variables.get(m.group(1), m.group(0)), value)


def image_problem(image: str) -> str | None:
    if "$" in image:
        return f"base image {image!r} depends on a build argument without a pinned default"
    if DIGEST.search(image):
        return None
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    if not tag:
        return f"base image {image!r} has no tag: pin an exact version or a digest"
    if tag == "latest":
        return f"base image {image!r} uses latest: pin an exact version or a digest"
    if not PINNED_TAG.search(tag):
        return f"base image {image!r}: tag {tag!r} moves; pin an exact version (e.g. 12.11-slim) or a digest"
    return None


def env_names(arguments: str) -> list[str]:
    """Names set by ENV: `ENV A=1 B="x y"` or the legacy `ENV A value`."""
    if "=" not in arguments.split(" ")[0]:
        return [arguments.split(" ")[0]] if arguments else []
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_.-]*)=", arguments)


def copy_sources(arguments: str) -> list[str]:
    words = arguments.split()
    if arguments.startswith("["):
        try:
            words = json.loads(arguments)
        except json.JSONDecodeError:
            pass
    sources = [w for w in words if not w.startswith("--")]
    return sources[:-1]


def check(text: str) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    steps = instructions(text)
    global_args: dict[str, str] = {}
    stages: list[str] = []
    final_user: tuple[int, str] | None = None
    healthcheck = False
    seen_from = False
    for step in steps:
        keyword, arguments = step.keyword, step.arguments
        if keyword == "ARG":
            name, _, default = arguments.partition("=")
            if SECRET_NAME.search(name):
                problems.append((step.line, f"ARG {name} looks like a secret: build arguments stay in the image history"))
            if not seen_from and default:
                global_args[name.strip()] = default.strip().strip('"')
        elif keyword == "FROM":
            seen_from = True
            words = [w for w in arguments.split() if not w.startswith("--")]
            if not words:
                problems.append((step.line, "FROM without an image"))
                continue
            image = substitute(words[0], global_args)
            from_earlier_stage = image.lower() in stages
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.append(words[2].lower())
            final_user = None
            if from_earlier_stage or image == "scratch":
                continue
            problem = image_problem(image)
            if problem:
                problems.append((step.line, problem))
        elif keyword == "USER":
            final_user = (step.line, arguments)
        elif keyword == "HEALTHCHECK":
            if arguments.upper() != "NONE":
                healthcheck = True
        elif keyword == "ENV":
            for name in env_names(arguments):
                if SECRET_NAME.search(name):
                    problems.append((step.line, f"ENV {name} looks like a secret: pass it at run time, not in the image"))
        elif keyword in ("COPY", "ADD"):
            for source in copy_sources(arguments):
                if SECRET_FILE.search(source.rstrip("/")):
                    problems.append((step.line, f"{keyword} {source}: key material or an env file would be baked in"))
        if SECRET_VALUE.search(arguments):
            problems.append((step.line, f"{keyword} holds what looks like a secret value"))
    if not any(step.keyword == "FROM" for step in steps):
        problems.append((1, "no FROM instruction"))
    if final_user is None:
        problems.append((len(text.splitlines()) or 1, "the final stage has no USER: it would run as root"))
    else:
        user = final_user[1].split(":")[0].strip()
        if user in ("root", "0", ""):
            problems.append((final_user[0], f"USER {final_user[1]} runs the container as root"))
    if not healthcheck:
        problems.append((len(text.splitlines()) or 1, "no HEALTHCHECK"))
    return sorted(problems)


def main(arguments: list[str]) -> int:
    path = Path(arguments[0] if arguments else "docker/Dockerfile")
    try:
        text = path.read_text()
    except OSError as error:
        print(f"{path}: {error.strerror}", file=sys.stderr)
        return 1
    problems = check(text)
    for line, message in problems:
        print(f"{path}:{line}: {message}")
    if problems:
        return 1
    print(f"{path}: ok (pinned base images, non-root USER, HEALTHCHECK, no baked-in secrets)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
