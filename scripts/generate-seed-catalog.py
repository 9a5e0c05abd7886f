#!/usr/bin/env python3
"""Generate migrations/0011_seed_models.sql, the seed model catalog.

Inputs (read-only, never copied into the repository):
  ../shared/data/litellm/model_prices_and_context_window.json   LiteLLM cost map (USD per token)
  ../shared/data/legacy-models.json                            PRD models + HuggingFace examples
(paths relative to the repository root; override with --data-dir).

The output is a migration: once it has landed it must never change. This script is
kept so the derivation is reviewable and reproducible; it is deterministic (no
timestamps), refuses to overwrite an existing file with different content unless
--force is given, and --check verifies that the committed file matches.

Rules:
  * Models: a curated list of current OpenAI and Anthropic chat models (undated
    aliases) plus the PRD's older gpt-4 / gpt-3.5-turbo from the LiteLLM map, the
    successors LiteLLM names for them (so every successor_model_id resolves), the
    legacy rows of legacy-models.json and its HuggingFace examples.
  * Prices: per-token value * 1000, converted with Decimal(str(value)) so there is no
    float rounding (2.5e-06 -> 0.0025). Missing price -> NULL (unknown), never 0.
  * context_window = max_input_tokens; max_output_tokens; supports_* flags;
    capabilities derived from the LiteLLM supports_* flags (vocabulary below).
  * status for LiteLLM rows is computed by the migration AT APPLY TIME:
    deprecated when deprecation_date <= CURRENT_DATE, else active. Legacy rows keep
    their given status (retired / deprecated) and successor.
  * release_date: the earliest dated snapshot of the alias in the LiteLLM map
    (e.g. gpt-4o-2024-05-13 for gpt-4o, claude-opus-4-5-20251101), else the date in
    a legacy model id, else NULL.
  * Temperatures: Anthropic 0..1, OpenAI-style 0..2, default 0.7. Models that accept
    only the default (OpenAI reasoning models without a "none" reasoning effort;
    Anthropic models with supports_sampling_params = false) get min = max = default = 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUTPUT = REPO_ROOT / "migrations" / "0011_seed_models.sql"

# LiteLLM supports_<flag> -> capability tag. Order is the order tags appear in.
CAPABILITY_FLAGS = [
    "function_calling",
    "parallel_function_calling",
    "vision",
    "reasoning",
    "prompt_caching",
    "response_schema",
    "pdf_input",
    "web_search",
    "computer_use",
    "audio_input",
    "audio_output",
]

# Curated LiteLLM models: model_id -> (display_name, model_family, recommended_for, description)
CURATED = {
    # OpenAI
    "gpt-5": ("GPT-5", "gpt-5", ["reasoning", "coding", "analysis", "chat"],
              "OpenAI GPT-5 reasoning model for complex, multi-step work."),
    "gpt-5-mini": ("GPT-5 mini", "gpt-5", ["chat", "coding", "summarization", "extraction"],
                   "Smaller, cheaper GPT-5 reasoning model for well-defined tasks."),
    "gpt-5-nano": ("GPT-5 nano", "gpt-5", ["classification", "extraction", "summarization"],
                   "Smallest and cheapest GPT-5 model for high-volume simple tasks."),
    "gpt-5.6-sol": ("GPT-5.6 Sol", "gpt-5.6", ["reasoning", "coding", "analysis", "long_context"],
                    "Largest GPT-5.6 tier; LiteLLM's named successor of GPT-4, GPT-5 and o3."),
    "gpt-5.6-terra": ("GPT-5.6 Terra", "gpt-5.6", ["chat", "coding", "summarization", "long_context"],
                      "Mid-size GPT-5.6 tier; LiteLLM's named successor of GPT-3.5 Turbo, GPT-5 mini and o4-mini."),
    "gpt-5.6-luna": ("GPT-5.6 Luna", "gpt-5.6", ["classification", "extraction", "summarization"],
                     "Small GPT-5.6 tier; LiteLLM's named successor of GPT-5 nano and GPT-4.1 nano."),
    "gpt-6-luna": ("GPT-6 Luna", "gpt-6", ["chat", "classification", "extraction", "summarization"],
                   "Small GPT-6 tier; LiteLLM's named successor of GPT-4o and GPT-4.1."),
    "gpt-4.1": ("GPT-4.1", "gpt-4.1", ["coding", "chat", "long_context", "vision"],
                "OpenAI GPT-4.1: non-reasoning flagship with a 1M-token context window."),
    "gpt-4.1-mini": ("GPT-4.1 mini", "gpt-4.1", ["chat", "summarization", "extraction", "long_context"],
                     "Smaller, cheaper GPT-4.1 with a 1M-token context window."),
    "gpt-4.1-nano": ("GPT-4.1 nano", "gpt-4.1", ["classification", "extraction"],
                     "Smallest GPT-4.1 model for classification and extraction."),
    "gpt-4o": ("GPT-4o", "gpt-4o", ["chat", "vision", "summarization"],
               "OpenAI GPT-4o: multimodal (text + image) chat model."),
    "gpt-4o-mini": ("GPT-4o mini", "gpt-4o", ["chat", "classification", "extraction", "summarization"],
                    "Small, fast, inexpensive GPT-4o; the catalog's default model."),
    "o3": ("o3", "o-series", ["reasoning", "coding", "analysis"],
           "OpenAI o3 reasoning model for math, science and coding."),
    "o4-mini": ("o4-mini", "o-series", ["reasoning", "coding"],
                "Small, fast OpenAI reasoning model."),
    "gpt-4": ("GPT-4", "gpt-4", ["chat"],
              "Original GPT-4 (8K context), named by the PRD."),
    "gpt-3.5-turbo": ("GPT-3.5 Turbo", "gpt-3.5", ["chat", "classification"],
                      "GPT-3.5 Turbo (16K context), named by the PRD."),
    # Anthropic
    "claude-opus-4-5": ("Claude Opus 4.5", "claude-4.5", ["reasoning", "coding", "analysis"],
                        "Anthropic's most capable Claude 4.5 model."),
    "claude-sonnet-4-5": ("Claude Sonnet 4.5", "claude-4.5", ["coding", "chat", "analysis", "vision"],
                          "Balanced Claude 4.5 model for coding and agents."),
    "claude-haiku-4-5": ("Claude Haiku 4.5", "claude-4.5", ["chat", "classification", "extraction", "summarization"],
                         "Fastest, cheapest Claude 4.5 model."),
    "claude-sonnet-5-5": ("Claude Sonnet 5.5", "claude-5.5", ["coding", "reasoning", "chat", "long_context"],
                          "Claude Sonnet 5.5 (1M context); LiteLLM's named successor of Claude Sonnet 4.5."),
}

# Legacy (legacy-models.json "models") and HuggingFace example extras.
LEGACY_EXTRA = {
    "gpt-4-turbo-preview": (["chat", "coding"], "GPT-4 Turbo preview (PRD model, no longer served)."),
    "claude-3-opus-20240229": (["reasoning", "analysis"], "Claude 3 Opus (PRD model, no longer served)."),
    "claude-3-sonnet-20240229": (["chat", "summarization"], "Claude 3 Sonnet (PRD model, no longer served)."),
    "claude-3-haiku-20240307": (["classification", "extraction", "summarization"],
                                "Claude 3 Haiku (PRD model, being retired)."),
}
HF_EXTRA = {
    "meta-llama/Llama-3.1-8B-Instruct": (["chat", "classification", "summarization"],
                                         "Meta Llama 3.1 8B Instruct via the HuggingFace router; price depends on the serving provider (unknown)."),
    "Qwen/Qwen2.5-72B-Instruct": (["chat", "coding", "analysis"],
                                  "Qwen2.5 72B Instruct via the HuggingFace router; price depends on the serving provider (unknown)."),
}

COLUMNS = [
    "provider", "model_id", "display_name", "model_family", "capabilities",
    "context_window", "max_output_tokens", "supports_functions", "supports_vision",
    "supports_streaming", "input_cost_per_1k", "output_cost_per_1k",
    "cached_input_cost_per_1k", "description", "release_date", "deprecation_date",
    "status", "recommended_for", "default_temperature", "min_temperature",
    "max_temperature", "successor_model_id",
]

DATE_SUFFIX = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def per_1k(value) -> Decimal | None:
    """USD per token (float from JSON) -> exact USD per 1K tokens; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"unexpected price {value!r}")
    return Decimal(str(value)) * 1000


def exact(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


def release_date(model_id: str, entries: dict, provider: str) -> str | None:
    """Earliest dated snapshot '<alias>-YYYY-MM-DD' / '<alias>-YYYYMMDD' of the alias."""
    dates = []
    prefix = model_id + "-"
    for key, entry in entries.items():
        if not key.startswith(prefix) or not isinstance(entry, dict):
            continue
        if entry.get("litellm_provider") != provider or entry.get("mode") != "chat":
            continue
        m = DATE_SUFFIX.match(key[len(prefix):])
        if m:
            dates.append("-".join(m.groups()))
    return min(dates) if dates else None


def date_in_id(model_id: str) -> str | None:
    m = re.search(r"-(\d{4})(\d{2})(\d{2})$", model_id)
    return "-".join(m.groups()) if m else None


def temperatures(provider_style: str, fixed: bool) -> tuple[Decimal, Decimal, Decimal]:
    if fixed:
        return Decimal("1"), Decimal("1"), Decimal("1")
    top = Decimal("1") if provider_style == "anthropic" else Decimal("2")
    return Decimal("0.7"), Decimal("0"), top


def litellm_row(model_id: str, entries: dict, selected: set[str]) -> dict:
    entry = entries.get(model_id)
    if not isinstance(entry, dict):
        raise SystemExit(f"{model_id}: not in the LiteLLM map")
    provider = entry.get("litellm_provider")
    if provider not in ("openai", "anthropic") or entry.get("mode") != "chat":
        raise SystemExit(f"{model_id}: expected an openai/anthropic chat model, got {provider}/{entry.get('mode')}")
    display, family, recommended, description = CURATED[model_id]

    caps = ["chat"] + [c for c in CAPABILITY_FLAGS if entry.get(f"supports_{c}") is True]
    if provider == "openai":
        fixed = entry.get("supports_reasoning") is True and entry.get("supports_none_reasoning_effort") is not True
    else:
        fixed = entry.get("supports_sampling_params") is False
    default_t, min_t, max_t = temperatures(provider, fixed)

    successor = entry.get("successor_model")
    if successor is not None and successor not in selected:
        print(f"warning: {model_id}: successor {successor} is not in the seed; dropped", file=sys.stderr)
        successor = None

    return {
        "provider": provider,
        "model_id": model_id,
        "display_name": display,
        "model_family": family,
        "capabilities": caps,
        "context_window": entry.get("max_input_tokens"),
        "max_output_tokens": entry.get("max_output_tokens"),
        "supports_functions": entry.get("supports_function_calling") is True,
        "supports_vision": entry.get("supports_vision") is True,
        "supports_streaming": True,
        "input_cost_per_1k": per_1k(entry.get("input_cost_per_token")),
        "output_cost_per_1k": per_1k(entry.get("output_cost_per_token")),
        "cached_input_cost_per_1k": per_1k(entry.get("cache_read_input_token_cost")),
        "description": description,
        "release_date": release_date(model_id, entries, provider),
        "deprecation_date": entry.get("deprecation_date"),
        "status": None,  # computed at apply time from deprecation_date
        "recommended_for": recommended,
        "default_temperature": default_t,
        "min_temperature": min_t,
        "max_temperature": max_t,
        "successor_model_id": successor,
    }


def legacy_row(m: dict, extra: tuple[list[str], str], status: str | None) -> dict:
    recommended, description = extra
    caps = ["chat"]
    if m.get("supports_functions"):
        caps.append("function_calling")
    if m.get("supports_vision"):
        caps.append("vision")
    style = "anthropic" if m["provider"] == "anthropic" else "openai"
    default_t, min_t, max_t = temperatures(style, False)
    return {
        "provider": m["provider"],
        "model_id": m["model_id"],
        "display_name": m["display_name"],
        "model_family": m.get("model_family"),
        "capabilities": caps,
        "context_window": m.get("context_window"),
        "max_output_tokens": m.get("max_output_tokens"),
        "supports_functions": bool(m.get("supports_functions", False)),
        "supports_vision": bool(m.get("supports_vision", False)),
        "supports_streaming": True,
        # PRD prices are already USD per 1K tokens, given as strings: keep them exact.
        "input_cost_per_1k": exact(m.get("input_cost_per_1k")),
        "output_cost_per_1k": exact(m.get("output_cost_per_1k")),
        "cached_input_cost_per_1k": None,
        "description": description,
        "release_date": date_in_id(m["model_id"]),
        "deprecation_date": None,
        "status": status,
        "recommended_for": recommended,
        "default_temperature": default_t,
        "min_temperature": min_t,
        "max_temperature": max_t,
        "successor_model_id": m.get("successor_model_id"),
    }


# --- SQL rendering -------------------------------------------------------------

def q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def num(d: Decimal) -> str:
    # Plain positional notation, no exponent, no trailing zeros: 0.0025000 -> 0.0025
    s = format(d.normalize(), "f")
    return s


def sql_value(col: str, value) -> str:
    if value is None:
        if col in ("input_cost_per_1k", "output_cost_per_1k", "cached_input_cost_per_1k"):
            return "NULL::numeric"
        if col in ("release_date", "deprecation_date"):
            return "NULL::date"
        if col in ("context_window", "max_output_tokens"):
            return "NULL::integer"
        return "NULL::text"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return num(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(q(v) for v in value) + "]::text[]"
    if col in ("release_date", "deprecation_date"):
        return "DATE " + q(value)
    return q(str(value))


def render(rows: list[dict]) -> str:
    out = []
    out.append("""-- 0011_seed_models.sql
--
-- GENERATED by scripts/generate-seed-catalog.py from ../shared/data/litellm/
-- model_prices_and_context_window.json (LiteLLM 1.110.2 cost map, MIT) and
-- ../shared/data/legacy-models.json. Like every migration it never changes after
-- it lands; catalog updates come from `model-registry import-catalog` or a new
-- migration.
--
-- Prices: USD per 1K tokens, exact (per-token price x 1000 in decimal arithmetic).
-- NULL = unknown price (HuggingFace router models), never 0.
--
-- status: rows with status NULL below (LiteLLM models) are computed when this
-- migration is APPLIED: 'deprecated' once deprecation_date has passed, otherwise
-- 'active'. The PRD's legacy rows carry their own status (retired/deprecated) and
-- successor. Note that a status computed here is not revisited later by the
-- database: a model whose deprecation_date passes after the migration ran keeps
-- status 'active' until something (API, importer) updates it.
--
-- ON CONFLICT DO NOTHING: a model already in the catalog (added by the API or an
-- import before this migration ran) is left untouched.
""")
    out.append("INSERT INTO llm_models (")
    out.append("    " + ",\n    ".join(COLUMNS + ["source"]))
    out.append(")")
    select_cols = []
    for c in COLUMNS:
        if c == "status":
            select_cols.append(
                "coalesce(v.status, CASE WHEN v.deprecation_date <= CURRENT_DATE\n"
                "                            THEN 'deprecated' ELSE 'active' END)")
        else:
            select_cols.append("v." + c)
    select_cols.append("'seed'")
    out.append("SELECT " + ",\n       ".join(select_cols))
    out.append("  FROM (VALUES")
    rendered_rows = []
    for r in rows:
        vals = [sql_value(c, r[c]) for c in COLUMNS]
        lines = [f"    -- {r['provider']} / {r['model_id']}"]
        lines.append("    (" + ", ".join(vals[0:4]) + ",")           # provider, model_id, display, family
        lines.append("     " + vals[4] + ",")                          # capabilities
        lines.append("     " + ", ".join(vals[5:10]) + ",")           # limits + flags
        lines.append("     " + ", ".join(vals[10:13]) + ",")          # prices
        lines.append("     " + vals[13] + ",")                         # description
        lines.append("     " + ", ".join(vals[14:17]) + ",")          # dates + status
        lines.append("     " + vals[17] + ",")                         # recommended_for
        lines.append("     " + ", ".join(vals[18:22]) + ")")          # temperatures + successor
        rendered_rows.append("\n".join(lines))
    out.append(",\n".join(rendered_rows))
    out.append("       ) AS v(" + ", ".join(COLUMNS) + ")")
    out.append("ON CONFLICT (model_id) DO NOTHING;")
    return "\n".join(out) + "\n"


def build_rows(data_dir: Path) -> list[dict]:
    litellm_path = data_dir / "litellm" / "model_prices_and_context_window.json"
    legacy_path = data_dir / "legacy-models.json"
    entries = json.loads(litellm_path.read_text(encoding="utf-8"))
    legacy = json.loads(legacy_path.read_text(encoding="utf-8"))

    selected = set(CURATED)
    rows = [litellm_row(mid, entries, selected) for mid in CURATED]

    for m in legacy["models"]:
        if m["model_id"] in selected:
            raise SystemExit(f"{m['model_id']}: in both the LiteLLM selection and legacy-models.json")
        rows.append(legacy_row(m, LEGACY_EXTRA[m["model_id"]], m["status"]))
        selected.add(m["model_id"])

    for m in legacy["huggingface_examples"]["models"]:
        rows.append(legacy_row(m, HF_EXTRA[m["model_id"]], "active"))
        selected.add(m["model_id"])

    ids = [r["model_id"] for r in rows]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate model ids in the seed")
    for r in rows:
        s = r["successor_model_id"]
        if s is not None and s not in selected:
            raise SystemExit(f"{r['model_id']}: successor {s} is not in the seed")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                    help=f"directory holding litellm/ and legacy-models.json (default {DEFAULT_DATA_DIR})")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                    help=f"migration file to write (default {DEFAULT_OUTPUT})")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the output file differs from what would be generated")
    ap.add_argument("--force", action="store_true",
                    help="overwrite an existing output file with different content (only before it has landed!)")
    args = ap.parse_args()

    sql = render(build_rows(args.data_dir))
    existing = args.output.read_text(encoding="utf-8") if args.output.exists() else None

    if args.check:
        if existing != sql:
            print(f"{args.output} is out of date with respect to the generator", file=sys.stderr)
            return 1
        return 0
    if existing == sql:
        print(f"{args.output} is up to date")
        return 0
    if existing is not None and not args.force:
        print(f"{args.output} exists with different content; migrations must not change after they land "
              f"(use --force only for a migration that has not landed yet)", file=sys.stderr)
        return 1
    args.output.write_text(sql, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
