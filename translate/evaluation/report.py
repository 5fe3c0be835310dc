"""Evaluation reports drawn for people: one text table per style, a row per model, the judges' own scores."""

from __future__ import annotations

import math
from typing import Any, Callable


def fmt(value: Any, digits: int = 4) -> str:
    """A metric to `digits` places; "-" for a missing or NaN value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def format_table(reports: list[dict[str, Any]] | dict[str, Any]) -> str:
    """Reports of one style as a text table: a row per model (and the judges' score of the true images)."""
    reports = [reports] if isinstance(reports, dict) else list(reports)
    first = reports[0]
    h, w = first["image_size"]
    lines = [f"{first['style'] or 'data'}: {first['data']}"
             f"{' ' + first['task'] if first['task'] else ''} ({first['direction']}), {first['split']} split, "
             f"{first['n_images']} images at {h}x{w}"]
    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("L1", lambda r: fmt(r["l1"])),
        ("PSNR", lambda r: fmt(r["psnr"], 2)),
        ("SSIM", lambda r: fmt(r["ssim"])),
    ]
    if any(_artefacts(r).get("ratio") is not None for r in reports):
        columns.append(("artefacts", lambda r: fmt(_artefacts(r).get("ratio"), 2)))
    if any("lines" in r for r in reports):
        columns += [(f"line {k}", lambda r, key=key: fmt(r.get("lines", {}).get(key))) for k, key in
                    (("P", "precision"), ("R", "recall"), ("F", "f_score"))]
    if any("fcn" in r for r in reports):
        columns += [(label, lambda r, key=key: fmt(r.get("fcn", {}).get("generated", {}).get(key))) for label, key in
                    (("pixel acc", "pixel_acc"), ("class acc", "class_acc"), ("class IoU", "class_iou"))]
    if any("style_score" in r for r in reports):
        columns.append(("style", lambda r: fmt(r.get("style_score", {}).get("score"))))
    if any(r["fid"]["fid"] is not None for r in reports):
        columns += [("FID", lambda r: fmt(r["fid"]["fid"], 2)), ("KID", lambda r: fmt(r["fid"]["kid"]))]

    rows = [[r["name"] or "(function)"] + [cell(r) for _, cell in columns] for r in reports]
    truth = _truth_row(first, [label for label, _ in columns])
    if truth:
        rows.append(truth)
    headers = ["model"] + [label for label, _ in columns]
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))

    if "fcn" in first:
        lines.append(_judge_line("segmenter", first["fcn"], "pixel_acc", "held-out pixel acc"))
    if "style_score" in first:
        s = first["style_score"]
        lines.append(f"style: the judge's mean probability of a clean {s['target_style']} rendering; on this split's "
                     f"true renderings {s['real_target_score']:.3f} (the most a model reaches), accuracy "
                     f"{s['real_acc']:.3f} ({s['target_style']} {s['real_target_acc']:.3f}, source "
                     f"{s['real_source_acc']:.3f}); "
                     + _judge_line("", s, "accuracy", "held-out accuracy").strip())
    if "lines" in first:
        lines.append(f"lines: darker than {first['lines']['threshold']}/255, matched within "
                     f"{first['lines']['tolerance_px']:g} px")
    lines.append(_artefact_line(reports))
    fid = [r["fid"] for r in reports if r["fid"]["fid"] is None]
    lines.append(f"FID/KID: {fid[0]['note']}" if fid else f"FID/KID: {first['fid']['note']}")
    lines.append(f"PSNR of identical images is capped at {first['psnr_cap']:g} dB")
    return "\n".join(lines)


def _truth_row(report: dict[str, Any], labels: list[str]) -> list[str] | None:
    """The judges' scores of the true targets, the ceiling a model can reach; None when no judge ran."""
    if "fcn" not in report and "style_score" not in report:
        return None
    real = report.get("fcn", {}).get("real", {})
    values = {"pixel acc": real.get("pixel_acc"), "class acc": real.get("class_acc"),
              "class IoU": real.get("class_iou"),
              "style": report.get("style_score", {}).get("real_target_score"),
              "artefacts": _truth_artefacts(_artefacts(report))}
    return ["(true images)"] + [fmt(values[label], 2 if label == "artefacts" else 4) if label in values else "-"
                                for label in labels]


def _artefacts(report: dict[str, Any]) -> dict[str, Any]:
    return report.get("artefacts") or {}  # reports written before the measure existed have none


def _truth_artefacts(part: dict[str, Any]) -> float | None:
    """The truth's own artefact ratio: 1, or less where its energy is under the floor."""
    if part.get("ratio") is None:
        return None
    return part["target_energy"] / max(part["target_energy"], part["floor"])


def _artefact_line(reports: list[dict[str, Any]]) -> str:
    """The footnote saying what the artefacts column is, with the truth's energy every row is divided by."""
    measured = [_artefacts(r) for r in reports if _artefacts(r).get("ratio") is not None]
    if not measured:
        note = next((_artefacts(r)["note"] for r in reports if _artefacts(r).get("note")), "not measured")
        return f"artefacts: {note}"
    a = measured[0]
    truth = (f"the floor {a['floor']:g} (the truth has {a['target_energy']:.4f})" if a["floored"]
             else f"the truth's {a['target_energy']:.4f}")
    return (f"artefacts: mean |Laplacian| of luma where the scene is flat ({a['window_px']}x{a['window_px']} "
            f"windows inside one region, {a['flat_share']:.0%} of pixels), the output's over {truth}; "
            f"1.0 is as smooth as the truth, speckle and checkerboard raise it, goal <= {a['goal']:g}")


def _judge_line(what: str, part: dict[str, Any], key: str, label: str) -> str:
    judge = part["judge"]
    heldout = (judge.get("heldout") or {}).get(key)
    return (f"{what + ': ' if what else ''}{label} {fmt(heldout, 3)} on its own held-out scenes at "
            f"{part['judge_size']} px (judge {judge['key']}, trained in {judge['train_seconds']} s)")


PROXY_LABELS = {"colourfulness": "colourfulness", "palette_flatness": "palette flatness",
                "outline_density": "outline density", "edge_sharpness": "edge sharpness",
                "content_kept": "content kept"}
PROXY_DIGITS = {"colourfulness": 1}  # on a 0-255 scale; the others are shares and ratios of 0-1


def format_photo_table(reports: list[dict[str, Any]] | dict[str, Any]) -> str:
    """Photo reports (`evaluate_photos`) as a text table: a row per proxy; columns the photos (input), each model's
    outputs, and the scenes world's Shinkai renderings; then what each proxy is."""
    reports = [reports] if isinstance(reports, dict) else list(reports)
    first = reports[0]
    scaled = f", {first['scaled_down']} scaled down" if first["scaled_down"] else ""
    skipped = f", {len(first['skipped'])} unreadable skipped" if first["skipped"] else ""
    modes = "; ".join(f"{r['name']} ({r['test_mode']} mode)" if r.get("test_mode") else r["name"] for r in reports)
    lines = [f"photos: {first['photos']}, {first['n_photos']} photo{'s' * (first['n_photos'] != 1)} at their own "
             f"size (long side at most {first['max_side']} px{scaled}){skipped}; model {modes}"]
    outputs = ["output"] if len(reports) == 1 else [r["name"] for r in reports]
    headers = ["proxy", "input", *outputs, "renderings"]
    rows = []
    for name, label in PROXY_LABELS.items():
        digits = PROXY_DIGITS.get(name, 4)
        values = first["proxies"][name]
        rows.append([label, fmt(values["input"], digits),
                     *[fmt(r["proxies"][name]["output"], digits) for r in reports],
                     fmt(values["renderings"], digits)])
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    lines.append(f"renderings: {first['n_renderings']} {first['renderings_of']}, the look a Shinkai model reaches "
                 "for; an output moving from input toward them is translating")
    lines += [f"{PROXY_LABELS[name]}: {text}" for name, text in first["definitions"].items()]
    return "\n".join(lines)
