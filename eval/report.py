"""Baselines, the regression gate, and the JSON/Markdown reports.

A baseline file is JSON::

    {"format": 1, "dataset": {...}, "config": {...}, "judge": "...",
     "metrics": {"hit@5": 0.95, ...},
     "tolerances": {"hit@5": 0.02, "quote_validity": 0.0, "latency_p95_ms": null, ...}}

A metric regresses when it is worse than its baseline value by more than its tolerance
(absolute). "Worse" follows the metric's direction in ``eval.metrics.METRICS``: a drop for the
rates where higher is better, a rise for ``wrong_subject`` (and latency, were it gated), where
lower is better; a tolerance is always a non-negative distance. ``null`` tolerance = informational, never gated (the default for latency, which
depends on the machine). A gated metric that can no longer be computed also fails the gate.
Independently of any baseline, ``quote_validity`` below 1.0 always fails: a citation whose quote
differs from the stored text is a bug, not a quality trade-off.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.metrics import METRICS
from rag.errors import InputError

log = logging.getLogger(__name__)

BASELINE_FORMAT = 1


def default_tolerances() -> dict[str, float | None]:
    """Each metric's own default tolerance (``Metric.tolerance``; None when not gated)."""
    return {name: m.default_tolerance for name, m in METRICS.items()}


EPS = 1e-9


class BaselineError(InputError):
    """The baseline file is missing or malformed."""

    exit_code = 2


@dataclass
class Delta:
    """One metric compared with its baseline."""

    metric: str
    baseline: float | None
    current: float | None
    tolerance: float | None
    status: str  # ok | improved | regressed | missing | new | info

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return round(self.current - self.baseline, 6)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "baseline": self.baseline, "current": self.current,
                "delta": self.delta, "tolerance": self.tolerance, "status": self.status}


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read and check a baseline file; raises BaselineError with the path and the fix."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BaselineError(
            f"{path}: baseline not found; create it with `citewise eval DATASET --write-baseline {path}`"
        ) from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a readable baseline JSON file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise BaselineError(f"{path}: a baseline needs a 'metrics' object")
    tolerances = data.get("tolerances", {})
    if not isinstance(tolerances, dict) or not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool) and v >= 0)
        for v in tolerances.values()
    ):
        raise BaselineError(f"{path}: 'tolerances' must map metric names to numbers >= 0 or null")
    for name, value in data["metrics"].items():
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise BaselineError(f"{path}: metric {name!r} must be a number or null")
    return data


def make_baseline(
    result: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A baseline from a report; tolerances already set in ``previous`` are kept."""
    tolerances = default_tolerances()
    if previous:
        tolerances.update(previous.get("tolerances", {}))
    return {
        "format": BASELINE_FORMAT,
        "dataset": result["dataset"],
        "config": result["config"],
        "judge": result["judge"],
        "metrics": result["metrics"],
        "tolerances": {k: tolerances.get(k) for k in result["metrics"]},
        "note": "Tolerances are absolute; null = not gated. Latency is machine dependent.",
    }


def write_json(data: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def compare(metrics: dict[str, float | None], baseline: dict[str, Any]) -> list[Delta]:
    """Each metric against the baseline with its tolerance."""
    base = baseline.get("metrics", {})
    tolerances = {**default_tolerances(), **baseline.get("tolerances", {})}
    out = []
    for name in list(METRICS) + [m for m in base if m not in METRICS]:
        b, c = base.get(name), metrics.get(name)
        tol = tolerances.get(name) if name in METRICS else None
        info = METRICS.get(name)
        if b is None and c is None:
            continue
        if b is None:
            status = "new"
        elif tol is None:
            status = "info"
        elif c is None:
            status = "missing"
        else:
            worse = (b - c) if (info is None or info.higher_is_better) else (c - b)
            status = "regressed" if worse > tol + EPS else "improved" if worse < -EPS else "ok"
        out.append(Delta(name, b, c, tol, status))
    return out


def invariant_failures(metrics: dict[str, float | None]) -> list[str]:
    """Checks that fail whatever the baseline says."""
    qv = metrics.get("quote_validity")
    if qv is not None and qv < 1.0 - EPS:
        return [f"quote_validity is {qv:.4f}: every citation quote must equal the stored text"]
    return []


def gate(deltas: list[Delta], metrics: dict[str, float | None]) -> list[str]:
    """Human-readable reasons to fail; empty when the run passes."""
    reasons = invariant_failures(metrics)
    for d in deltas:
        if d.status == "regressed":
            info = METRICS.get(d.metric)
            lower = " lower is better" if info is not None and not info.higher_is_better else ""
            reasons.append(
                f"{d.metric} regressed: {_fmt(d.baseline)} -> {_fmt(d.current)} "
                f"(delta {d.delta:+.4f}, tolerance {d.tolerance}{',' + lower if lower else ''})"
            )
        elif d.status == "missing":
            reasons.append(f"{d.metric} could not be computed (baseline {_fmt(d.baseline)})")
    return reasons


# ---------------------------------------------------------------- Markdown


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4f}"
    return str(value)


def _cell(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def metrics_table(report: dict[str, Any]) -> str:
    """The per-metric Markdown table (with baseline columns when there is a baseline)."""
    deltas = {d["metric"]: d for d in report.get("comparison") or []}
    has_base = bool(deltas)
    head = "| metric | value |" + (" baseline | Δ | tolerance | status |" if has_base else "")
    sep = "|---|---:|" + ("---:|---:|---:|---|" if has_base else "")
    rows = [head, sep]
    for name, value in report["metrics"].items():
        if value is None and name not in deltas:
            continue
        row = f"| {name} | {_fmt(value)} |"
        if has_base:
            d = deltas.get(name)
            if d:
                delta = "–" if d["delta"] is None else f"{d['delta']:+.4f}"
                tol = "not gated" if d["tolerance"] is None else _fmt(float(d["tolerance"]))
                row += f" {_fmt(d['baseline'])} | {delta} | {tol} | {d['status']} |"
            else:
                row += " – | – | – | – |"
        rows.append(row)
    return "\n".join(rows)


def near_miss_table(near: dict[str, Any]) -> str:
    """Abstention on the near-miss variants next to answer quality on their originals."""
    v = near["variants"]
    rows = [
        "| near-miss rows | n | abstention | false abstention | answer_contains | hit@5 | wrong_subject |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| variants (should abstain) | {v['n']} | {_fmt(v['abstention_rate'])} | – | – | – | – |",
    ]
    for kind, k in near.get("by_kind", {}).items():
        rows.append(f"| variants: {kind} | {k['n']} | {_fmt(k['abstention_rate'])} | – | – | – | – |")
    for label, key in [("originals (answerable)", "originals"),
                       ("originals with a variant", "originals_with_variants")]:
        o = near[key]
        rows.append(f"| {label} | {o['n']} | – | {_fmt(o['false_abstention'])} | "
                    f"{_fmt(o['answer_contains'])} | {_fmt(o['hit@5'])} | {_fmt(o['wrong_subject'])} |")
    return "\n".join(rows)


def to_markdown(report: dict[str, Any]) -> str:
    """The full Markdown report."""
    ds, cfg, c = report["dataset"], report["config"], report["counts"]
    lines = [
        f"# citewise eval: {ds['name']}",
        "",
        f"- dataset: `{ds['path']}` ({ds['kind']}, sha256 {ds['sha256'][:12]}), "
        f"{c['questions']} questions ({c['answerable']} answerable, {c['unanswerable']} unanswerable)"
        + (f", sampled with seed {report['seed']}" if report.get("limit") else ""),
        "- config: " + ", ".join(f"{k}={v}" for k, v in cfg.items()),
        f"- judge: {report['judge']}",
        f"- time: {report['timing']['eval_seconds']:.1f} s eval"
        + (f", {report['timing']['ingest_seconds']:.1f} s ingest" if report["timing"].get("ingest_seconds") else ""),
        f"- verdict: **{report['verdict']}**",
        "",
        "## Metrics",
        "",
        metrics_table(report),
        "",
        "Lower is better: " + ", ".join(
            n for n, i in METRICS.items() if not i.higher_is_better and n in report["metrics"]
        ) + "; every other metric: higher is better.",
        "",
    ]
    if report.get("failures"):
        lines += ["## Gate failures", ""] + [f"- {r}" for r in report["failures"]] + [""]
    if report.get("baseline_note"):
        lines += [f"> {report['baseline_note']}", ""]
    if report.get("by_tag"):
        lines += ["## By tag", "", "| tag | n | answer_contains | hit@5 | citation_recall | "
                  "abstention_recall | wrong_subject |", "|---|---:|---:|---:|---:|---:|---:|"]
        for tag, m in report["by_tag"].items():
            lines.append(
                f"| {tag} | {m['n']} | {_fmt(m.get('answer_contains'))} | {_fmt(m.get('hit@5'))} | "
                f"{_fmt(m.get('citation_recall'))} | {_fmt(m.get('abstention_recall'))} | "
                f"{_fmt(m.get('wrong_subject'))} |"
            )
        lines.append("")
    near = report.get("near_miss")
    if near:
        lines += ["## Near misses", "",
                  "Unanswerable variants of the answerable questions (eval/nearmiss.py): the "
                  "answerer should abstain on them and still answer the originals.", "",
                  near_miss_table(near), ""]
        examples = near.get("answered_examples") or []
        if examples:
            lines += [f"Variants answered anyway (first {len(examples)}):", ""]
            for ex in examples:
                lines.append(f"- `{ex['id']}` ({ex['kind']}): {_cell(ex['question'])} "
                             f"(was: {_cell(ex['original_question'])}) -> {_cell(ex['answer'], 300)}")
            lines.append("")
    worst = report.get("worst") or []
    if worst:
        lines += [f"## Worst {len(worst)} questions", ""]
        for i, q in enumerate(worst, 1):
            lines.append(f"### {i}. `{q['id']}` (score {q['scores'].get('score', 0):.3f})")
            lines.append("")
            lines.append(f"- question: {_cell(q['question'])}")
            if q.get("history"):
                lines.append(f"- history: {_cell(' / '.join(t['question'] for t in q['history']))}")
            expected = "; ".join(q["references"]) if q["references"] else "(unanswerable: abstain)"
            if q.get("relevance"):
                expected = "relevant: " + ", ".join(sorted(q["relevance"]))
            lines.append(f"- expected: {_cell(expected)}")
            if q.get("error"):
                lines.append(f"- error: {_cell(q['error'])}")
            elif q.get("ranking"):
                lines.append(f"- top 10: {', '.join(q['ranking'][:10])}")
            else:
                answer = "(abstained) " if q["abstained"] else ""
                lines.append(f"- answer: {answer}{_cell(q['answer'], 600)}")
            for cit in q.get("citations", []):
                lines.append(
                    f"  - [{cit['n']}] `{cit['source']}` {cit['start']}–{cit['end']}: “{_cell(cit['quote'], 300)}”"
                )
            details = {k: v for k, v in q["scores"].items() if k != "score"}
            if details:
                lines.append("- scores: " + ", ".join(f"{k}={_fmt(v)}" for k, v in details.items()))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(report: dict[str, Any], folder: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path = write_json(report, folder / "report.json")
    md_path = folder / "report.md"
    md_path.write_text(to_markdown(report), encoding="utf-8")
    return json_path, md_path
